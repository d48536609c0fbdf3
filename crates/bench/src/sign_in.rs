//! Sign-in rate with the production argon2id cost: `signIn` over HTTP from a few concurrent
//! clients, each with its own account and the right password (failures would be throttled),
//! and the time of one hash on its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bytes::Bytes;
use identity::PasswordCost;
use identity::people::NewPerson;
use kernel::{Actor, Role, Roles};
use serde_json::{Value, json};

use crate::app::{App, SIGN_IN};
use crate::load::{self, LoadResult, Settings, Target};

/// The password of every signing-in account.
const PASSWORD: &str = "bench-signer-password-1";

/// Hashes one password with `cost` `samples` times, one after the other; returns the median.
///
/// # Errors
/// When hashing fails.
pub async fn single_hash_time(cost: PasswordCost, samples: usize) -> anyhow::Result<Duration> {
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples.max(1) {
        let started = Instant::now();
        identity::password::hash(PASSWORD.into(), cost)
            .await
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
        times.push(started.elapsed());
    }
    times.sort_unstable();
    Ok(times[times.len() / 2])
}

/// Creates one account per client, then drives `signIn` with one connection per client.
///
/// # Errors
/// When an account cannot be created.
pub async fn run(app: &App, clients: usize, settings: Settings) -> anyhow::Result<LoadResult> {
    let mut bodies = Vec::with_capacity(clients);
    for i in 0..clients {
        let email = format!("signer{i}@bench.lms");
        app.state()
            .identity
            .create_person(
                &Actor::system(),
                NewPerson {
                    name: format!("Bench signer {i}"),
                    email: Some(email.clone()),
                    roles: Roles::empty().with(Role::Learner),
                    password: Some(PASSWORD.into()),
                    ..NewPerson::default()
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("cannot create the account {email}"))?;
        let body = json!({"query": SIGN_IN, "variables": {"l": email, "p": PASSWORD}});
        bodies.push(Bytes::from(serde_json::to_vec(&body)?));
    }
    let target = Target::post_json(
        app.server.addr,
        "/graphql",
        None,
        bodies,
        Arc::new(|body: &[u8]| {
            serde_json::from_slice::<Value>(body).is_ok_and(|v| {
                v.get("errors").is_none() && v["data"]["signIn"]["accessToken"].is_string()
            })
        }),
    )?;
    load::run(
        Arc::new(target),
        Settings {
            connections: clients,
            ..settings
        },
    )
    .await
}
