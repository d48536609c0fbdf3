//! Access tokens (short-lived, signed, verified without the database) and refresh tokens
//! (random, stored hashed, rotated on every use).
//!
//! An access token is `v1.<base64url claims JSON>.<base64url HMAC-SHA256>`. We sign with our own
//! key and verify only our own tokens, so a JWT library's algorithm negotiation is not needed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use kernel::{Actor, Roles, Secret};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::IdentityError;

type HmacSha256 = Hmac<Sha256>;

/// What an access token says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The person.
    pub sub: Uuid,
    /// Their roles when the token was issued.
    pub roles: String,
    /// Their unit when the token was issued.
    pub unit: Option<Uuid>,
    /// The sign-in (refresh token family) this token belongs to.
    pub sid: Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

impl Claims {
    /// The actor these claims describe.
    pub fn actor(&self) -> Actor {
        Actor {
            person_id: Some(self.sub),
            roles: Roles::parse_list(&self.roles).unwrap_or_default(),
            unit_id: self.unit,
        }
    }
}

/// The key that signs access tokens.
#[derive(Clone, Debug)]
pub struct TokenKey(Secret);

impl TokenKey {
    /// A key from a secret of at least 32 bytes.
    ///
    /// # Errors
    /// INTERNAL when the secret is too short to be safe.
    pub fn new(secret: Secret) -> Result<Self, IdentityError> {
        if secret.expose().len() < 32 {
            return Err(IdentityError::Internal(
                "the token secret must have at least 32 characters".into(),
            ));
        }
        Ok(TokenKey(secret))
    }

    fn mac(&self) -> Result<HmacSha256, IdentityError> {
        HmacSha256::new_from_slice(self.0.expose().as_bytes())
            .map_err(|e| IdentityError::Internal(format!("hmac key: {e}")))
    }

    /// Signs `claims` into an access token.
    ///
    /// # Errors
    /// INTERNAL when serialisation fails.
    pub fn sign(&self, claims: &Claims) -> Result<String, IdentityError> {
        let body = serde_json::to_vec(claims)
            .map_err(|e| IdentityError::Internal(format!("claims: {e}")))?;
        let payload = format!("v1.{}", URL_SAFE_NO_PAD.encode(body));
        let mut mac = self.mac()?;
        mac.update(payload.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{payload}.{sig}"))
    }

    /// Verifies a token's signature and expiry.
    ///
    /// # Errors
    /// UNAUTHENTICATED ([`IdentityError::InvalidToken`]) for any malformed, forged or expired token.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, IdentityError> {
        let (payload, sig) = token.rsplit_once('.').ok_or(IdentityError::InvalidToken)?;
        let body = payload
            .strip_prefix("v1.")
            .ok_or(IdentityError::InvalidToken)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| IdentityError::InvalidToken)?;
        let mut mac = self.mac()?;
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| IdentityError::InvalidToken)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(IdentityError::InvalidToken)?;
        if claims.exp <= now.timestamp() {
            return Err(IdentityError::InvalidToken);
        }
        Ok(claims)
    }
}

/// A new refresh token: 256 random bits, given to the client once.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("r1.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a refresh token: hex SHA-256, so a database leak reveals no usable token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn key() -> TokenKey {
        TokenKey::new(Secret::new("k".repeat(40))).unwrap()
    }

    fn claims(now: DateTime<Utc>) -> Claims {
        Claims {
            sub: kernel::new_id(),
            roles: "learner,admin".into(),
            unit: None,
            sid: kernel::new_id(),
            iat: now.timestamp(),
            exp: (now + Duration::minutes(15)).timestamp(),
        }
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let now = Utc::now();
        let c = claims(now);
        let t = key().sign(&c).unwrap();
        assert_eq!(key().verify(&t, now).unwrap(), c);
        assert!(key().verify(&t, now + Duration::minutes(16)).is_err());
    }

    #[test]
    fn a_tampered_or_foreign_token_is_refused() {
        let now = Utc::now();
        let t = key().sign(&claims(now)).unwrap();
        let (payload, sig) = t.rsplit_once('.').unwrap();
        let mut forged = claims(now);
        forged.roles = "admin".into();
        let forged_body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(
            key()
                .verify(&format!("v1.{forged_body}.{sig}"), now)
                .is_err()
        );
        assert!(key().verify(&format!("{payload}.AAAA"), now).is_err());
        let other = TokenKey::new(Secret::new("z".repeat(40))).unwrap();
        assert!(other.verify(&t, now).is_err());
        assert!(key().verify("garbage", now).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_refresh_token(), new_refresh_token());
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
