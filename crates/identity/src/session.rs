//! Sign-in sessions: sign in with an e-mail or NIP, rotate refresh tokens, sign out; and the
//! throttle that slows down password guessing per account and per client address.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use kernel::Actor;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::{person, refresh_token, sign_in_throttle};
use crate::error::IdentityError;
use crate::token::{Claims, hash_refresh_token, new_refresh_token};
use crate::values::Nip;
use crate::{Identity, password};

/// What a successful sign-in or refresh gives the client.
#[derive(Debug, Clone)]
pub struct Session {
    /// The short-lived access token for `Authorization: Bearer`.
    pub access_token: String,
    /// When the access token expires.
    pub access_expires_at: DateTime<Utc>,
    /// The refresh token: single use, rotated on every refresh.
    pub refresh_token: String,
    /// When the refresh token expires.
    pub refresh_expires_at: DateTime<Utc>,
    /// The person signed in.
    pub person: person::Model,
}

enum Login {
    Nip(String),
    Email(String),
}

impl Login {
    fn parse(raw: &str) -> Self {
        if Nip::looks_like(raw) {
            Login::Nip(Nip::normalise_login(raw))
        } else {
            Login::Email(raw.trim().to_lowercase())
        }
    }

    fn throttle_key(&self) -> String {
        match self {
            Login::Nip(n) => format!("login:{n}"),
            Login::Email(e) => format!("login:{e}"),
        }
    }
}

impl Identity {
    /// Signs in with an e-mail address or NIP and a password.
    ///
    /// # Errors
    /// UNAUTHENTICATED with one message for an unknown login and a wrong password;
    /// TOO_MANY_REQUESTS (with `retryAfter`) after repeated failures for the login or the
    /// address; FORBIDDEN for a disabled account (only after a correct password).
    pub async fn sign_in(
        &self,
        login: &str,
        password_text: String,
        client: Option<IpAddr>,
    ) -> Result<Session, IdentityError> {
        if login.len() > 320 || password_text.len() > 1024 {
            return Err(IdentityError::InvalidCredentials);
        }
        let now = self.clock.now();
        let login = Login::parse(login);
        let keys: Vec<(String, i32)> = [
            Some((login.throttle_key(), self.settings.max_failures_per_login)),
            client.map(|ip| (format!("ip:{ip}"), self.settings.max_failures_per_address)),
        ]
        .into_iter()
        .flatten()
        .collect();
        for (key, _) in &keys {
            self.check_throttle(key, now).await?;
        }
        let found = match &login {
            Login::Nip(n) => person::Entity::find().filter(person::Column::Nip.eq(n.as_str())),
            Login::Email(e) => person::Entity::find().filter(person::Column::Email.eq(e.as_str())),
        }
        .one(&self.db)
        .await?;
        let stored = found.as_ref().and_then(|p| p.password_hash.clone());
        let ok = password::verify(password_text, stored, self.settings.password_cost).await?;
        let person = match (ok, found) {
            (true, Some(p)) => p,
            _ => {
                for (key, limit) in &keys {
                    self.record_failure(key, *limit, now).await?;
                }
                tracing::info!(client.ip = ?client, "sign-in failed");
                return Err(IdentityError::InvalidCredentials);
            }
        };
        if person.disabled_at.is_some() {
            return Err(IdentityError::Disabled);
        }
        sign_in_throttle::Entity::delete_by_id(login.throttle_key())
            .exec(&self.db)
            .await?;
        let session = self.issue(&self.db, person, kernel::new_id(), now).await?;
        tracing::info!(person.id = %session.person.id, "signed in");
        Ok(session)
    }

    /// Exchanges a refresh token for a new access token and a new refresh token. A refresh
    /// token works once: presenting a used one again (a stolen copy, most likely) ends the whole
    /// sign-in it came from.
    ///
    /// # Errors
    /// UNAUTHENTICATED for an unknown, expired, used or revoked token, or a disabled person.
    pub async fn refresh_session(&self, token: &str) -> Result<Session, IdentityError> {
        let now = self.clock.now();
        let hash = hash_refresh_token(token);
        let tx = kernel::db::begin_write(&self.db).await?;
        let row = refresh_token::Entity::find()
            .filter(refresh_token::Column::TokenHash.eq(hash))
            .one(&tx)
            .await?
            .ok_or(IdentityError::InvalidToken)?;
        if row.expires_at <= now {
            return Err(IdentityError::InvalidToken);
        }
        // Only one of two concurrent refreshes with the same token may win: the conditional
        // update is the lock.
        let claimed = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
            .filter(refresh_token::Column::Id.eq(row.id))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .exec(&tx)
            .await?
            .rows_affected;
        if claimed != 1 {
            revoke_family(&tx, row.family_id, now).await?;
            tx.commit().await?;
            tracing::warn!(person.id = %row.person_id, "refresh token reused; sign-in revoked");
            return Err(IdentityError::InvalidToken);
        }
        let person = person::Entity::find_by_id(row.person_id)
            .one(&tx)
            .await?
            .filter(|p| p.disabled_at.is_none())
            .ok_or(IdentityError::InvalidToken)?;
        let session = self.issue(&tx, person, row.family_id, now).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Ends the sign-in that `refresh_token` belongs to; with `everywhere`, every sign-in of the
    /// actor. Unknown tokens are ignored, so signing out twice is harmless.
    ///
    /// # Errors
    /// INTERNAL on database failure.
    pub async fn sign_out(
        &self,
        actor: Option<&Actor>,
        refresh_token: Option<&str>,
        everywhere: bool,
    ) -> Result<(), IdentityError> {
        let now = self.clock.now();
        if everywhere && let Some(pid) = actor.and_then(|a| a.person_id) {
            crate::people::revoke_all_refresh_tokens(&self.db, pid, now).await?;
        }
        if let Some(t) = refresh_token {
            let row = refresh_token::Entity::find()
                .filter(refresh_token::Column::TokenHash.eq(hash_refresh_token(t)))
                .one(&self.db)
                .await?;
            if let Some(row) = row {
                revoke_family(&self.db, row.family_id, now).await?;
            }
        }
        Ok(())
    }

    /// Verifies an access token and gives the actor it names.
    ///
    /// # Errors
    /// UNAUTHENTICATED for a malformed, forged or expired token.
    pub fn authenticate(&self, access_token: &str) -> Result<Actor, IdentityError> {
        Ok(self.tokens.verify(access_token, self.clock.now())?.actor())
    }

    async fn issue(
        &self,
        conn: &impl ConnectionTrait,
        person: person::Model,
        family: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Session, IdentityError> {
        let access_expires_at = now + self.settings.access_ttl;
        let refresh_expires_at = now + self.settings.refresh_ttl;
        let claims = Claims {
            sub: person.id,
            roles: person.roles.clone(),
            unit: person.unit_id,
            sid: family,
            iat: now.timestamp(),
            exp: access_expires_at.timestamp(),
        };
        let access_token = self.tokens.sign(&claims)?;
        let refresh = new_refresh_token();
        refresh_token::ActiveModel {
            id: Set(kernel::new_id()),
            person_id: Set(person.id),
            family_id: Set(family),
            token_hash: Set(hash_refresh_token(&refresh)),
            created_at: Set(now),
            expires_at: Set(refresh_expires_at),
            revoked_at: Set(None),
        }
        .insert(conn)
        .await?;
        Ok(Session {
            access_token,
            access_expires_at,
            refresh_token: refresh,
            refresh_expires_at,
            person,
        })
    }

    async fn check_throttle(&self, key: &str, now: DateTime<Utc>) -> Result<(), IdentityError> {
        let row = sign_in_throttle::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await?;
        let now_ms = now.timestamp_millis();
        match row {
            Some(r) if r.locked_until_ms > now_ms => Err(IdentityError::Throttled {
                retry_after_secs: ((r.locked_until_ms - now_ms) as u64).div_ceil(1000),
            }),
            _ => Ok(()),
        }
    }

    async fn record_failure(
        &self,
        key: &str,
        limit: i32,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        let s = &self.settings;
        let now_ms = now.timestamp_millis();
        let row = sign_in_throttle::Entity::find_by_id(key.to_owned())
            .one(&self.db)
            .await?;
        let (failures, window_start) = match row {
            Some(r) if now_ms - r.window_start_ms <= s.failure_window.num_milliseconds() => {
                (r.failures + 1, r.window_start_ms)
            }
            _ => (1, now_ms),
        };
        let locked_until = if failures >= limit {
            // 30 s, 60 s, 120 s, … up to the cap: each failure past the limit doubles the wait.
            let doublings = (failures - limit).clamp(0, 20) as u32;
            let lock = s
                .first_lock
                .num_milliseconds()
                .saturating_mul(1i64 << doublings)
                .min(s.max_lock.num_milliseconds());
            now_ms + lock
        } else {
            0
        };
        sign_in_throttle::Entity::insert(sign_in_throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(failures),
            window_start_ms: Set(window_start),
            locked_until_ms: Set(locked_until),
        })
        .on_conflict(
            OnConflict::column(sign_in_throttle::Column::Key)
                .update_columns([
                    sign_in_throttle::Column::Failures,
                    sign_in_throttle::Column::WindowStartMs,
                    sign_in_throttle::Column::LockedUntilMs,
                ])
                .to_owned(),
        )
        .exec(&self.db)
        .await?;
        Ok(())
    }
}

async fn revoke_family(
    conn: &impl ConnectionTrait,
    family: Uuid,
    now: DateTime<Utc>,
) -> Result<(), IdentityError> {
    refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::RevokedAt, Expr::value(now))
        .filter(refresh_token::Column::FamilyId.eq(family))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}
