//! Password hashing with argon2id. Hashing is deliberately slow, so it runs on the blocking pool
//! and never stalls the async workers.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;

use crate::error::IdentityError;

/// argon2id cost: memory in KiB, iterations, lanes. The default is OWASP's recommendation
/// (19 MiB, 2 iterations, 1 lane).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Degree of parallelism.
    pub lanes: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost {
            memory_kib: 19 * 1024,
            iterations: 2,
            lanes: 1,
        }
    }
}

impl PasswordCost {
    fn hasher(self) -> Result<Argon2<'static>, IdentityError> {
        let params = Params::new(self.memory_kib, self.iterations, self.lanes, None)
            .map_err(|e| IdentityError::Internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Hashes a password into a PHC string.
///
/// # Errors
/// INTERNAL when hashing fails.
pub async fn hash(password: String, cost: PasswordCost) -> Result<String, IdentityError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        cost.hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| IdentityError::Internal(format!("argon2 hash: {e}")))
    })
    .await
    .map_err(|e| IdentityError::Internal(format!("hashing task: {e}")))?
}

/// Checks a password against a PHC string. With `None` (unknown login, no password set) it
/// still spends the same time on a dummy hash, so a response time does not tell whether an
/// account exists.
///
/// # Errors
/// INTERNAL when the task fails.
pub async fn verify(
    password: String,
    stored: Option<String>,
    cost: PasswordCost,
) -> Result<bool, IdentityError> {
    tokio::task::spawn_blocking(move || {
        let hasher = cost.hasher()?;
        match stored.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => Ok(hasher.verify_password(password.as_bytes(), &parsed).is_ok()),
            _ => {
                let salt = SaltString::generate(&mut OsRng);
                let _ = hasher.hash_password(password.as_bytes(), &salt);
                Ok(false)
            }
        }
    })
    .await
    .map_err(|e| IdentityError::Internal(format!("verify task: {e}")))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CHEAP: PasswordCost = PasswordCost {
        memory_kib: 64,
        iterations: 1,
        lanes: 1,
    };

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let h = hash("rahasia-sekali".into(), CHEAP).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            verify("rahasia-sekali".into(), Some(h.clone()), CHEAP)
                .await
                .unwrap()
        );
        assert!(
            !verify("rahasia-salah!".into(), Some(h), CHEAP)
                .await
                .unwrap()
        );
        assert!(!verify("x".into(), None, CHEAP).await.unwrap());
    }
}
