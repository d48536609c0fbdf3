//! The server's secret key: from `LMS_SECRET_KEY`, or generated once and kept in the data
//! folder so restarts keep sessions and signed URLs valid. Purpose keys are derived from it, so
//! a leaked media URL key says nothing about the token key.

use std::io::Write as _;

use anyhow::Context as _;
use hmac::{Hmac, Mac};
use kernel::Secret;
use rand::RngCore;
use sha2::Sha256;

use crate::Config;

/// Keys derived from the master secret.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Signs access tokens.
    pub tokens: Secret,
    /// Signs local media URLs.
    pub media: Secret,
    /// Signs HLS playlist URLs.
    pub playlists: Secret,
    /// Signs certificate download URLs.
    pub certificates: Secret,
}

fn derive(master: &Secret, purpose: &str) -> anyhow::Result<Secret> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(master.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("secret key: {e}"))?;
    mac.update(purpose.as_bytes());
    Ok(Secret::new(hex::encode(mac.finalize().into_bytes())))
}

impl Keys {
    /// Loads or creates the master secret and derives the purpose keys.
    ///
    /// # Errors
    /// When `LMS_SECRET_KEY` is shorter than 32 characters or the key file cannot be written.
    pub fn load(config: &Config) -> anyhow::Result<Self> {
        let master = match &config.secret_key {
            Some(s) if !s.is_empty() => {
                anyhow::ensure!(
                    s.expose().len() >= 32,
                    "LMS_SECRET_KEY must have at least 32 characters"
                );
                s.clone()
            }
            _ => load_or_create(&config.data_dir.join("secret.key"))?,
        };
        Ok(Keys {
            tokens: derive(&master, "lms/access-tokens/v1")?,
            media: derive(&master, "lms/media-urls/v1")?,
            playlists: derive(&master, "lms/hls-playlists/v1")?,
            certificates: derive(&master, "lms/certificate-urls/v1")?,
        })
    }
}

fn load_or_create(path: &std::path::Path) -> anyhow::Result<Secret> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(Secret::new(existing));
        }
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot write the secret key file {}", path.display()))?;
    f.write_all(key.as_bytes())?;
    Ok(Secret::new(key))
}
