//! Configuration from `LMS_*` environment variables (or the same flags on the command line),
//! with defaults that run on a fresh machine: SQLite and media under `./data`.

use std::net::SocketAddr;
use std::path::PathBuf;

use kernel::Secret;

fn secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(s))
}

/// `LMS_SYNC_QUEUE`: 1 to 65,535 syncs.
fn queue_length(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=65_535).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number of syncs from 1 to 65535")),
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Everything the server needs to start. `Debug` shows no secret.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address the HTTP server listens on.
    #[arg(long, env = "LMS_HTTP_ADDR", default_value = "127.0.0.1:8080")]
    pub http_addr: SocketAddr,

    /// The URL clients use to reach this server (signed media URLs name it). Defaults to
    /// `http://<LMS_HTTP_ADDR>`.
    #[arg(long, env = "LMS_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Folder for the SQLite file, the local media store and the generated secret key.
    #[arg(long, env = "LMS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database URL (`postgres://…` or `sqlite://…`); default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_parser = secret)]
    pub database_url: Option<Secret>,

    /// Largest database connection pool.
    #[arg(long, env = "LMS_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,

    /// Run pending migrations when the server starts.
    #[arg(long, env = "LMS_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,

    /// E-mail of the first admin, created at start when no admin exists.
    #[arg(long, env = "LMS_ADMIN_EMAIL", default_value = "admin@lms.local")]
    pub admin_email: String,

    /// Password of the first admin; when unset a random one is generated and printed once.
    #[arg(long, env = "LMS_ADMIN_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub admin_password: Option<Secret>,

    /// Secret (32+ characters) that signs access tokens and local media URLs; when unset one is
    /// generated and kept in `<data dir>/secret.key`. Set it when running several replicas.
    #[arg(long, env = "LMS_SECRET_KEY", hide_env_values = true, value_parser = secret)]
    pub secret_key: Option<Secret>,

    /// S3 endpoint; when set (with bucket and keys) S3 replaces the local media folder.
    #[arg(long, env = "LMS_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// S3 endpoint as clients reach it, when it differs from `LMS_S3_ENDPOINT`.
    #[arg(long, env = "LMS_S3_PUBLIC_ENDPOINT")]
    pub s3_public_endpoint: Option<String>,

    /// S3 region.
    #[arg(long, env = "LMS_S3_REGION", default_value = "garage")]
    pub s3_region: String,

    /// S3 bucket.
    #[arg(long, env = "LMS_S3_BUCKET", default_value = "lms")]
    pub s3_bucket: String,

    /// S3 access key id.
    #[arg(long, env = "LMS_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// S3 secret access key.
    #[arg(long, env = "LMS_S3_SECRET_ACCESS_KEY", hide_env_values = true, value_parser = secret)]
    pub s3_secret_access_key: Option<Secret>,

    /// Prefix of every object key (lets deployments share a bucket).
    #[arg(long, env = "LMS_S3_PREFIX", default_value = "")]
    pub s3_prefix: String,

    /// Log format.
    #[arg(long, env = "LMS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Serve GraphiQL on `GET /graphql` and allow introspection.
    #[arg(long, env = "LMS_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Largest GraphQL request body in bytes (JSON); bigger gets 413.
    #[arg(long, env = "LMS_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Largest multipart GraphQL request (file uploads such as a roster) in bytes.
    #[arg(long, env = "LMS_MAX_UPLOAD_BYTES", default_value_t = 21 << 20)]
    pub max_upload_bytes: usize,

    /// Largest single PUT to the local media store (an object or one multipart part).
    #[arg(long, env = "LMS_MAX_MEDIA_PUT_BYTES", default_value_t = 256 << 20)]
    pub max_media_put_bytes: u64,

    /// Background job workers run inside `serve` (`lms worker` always runs them).
    #[arg(long, env = "LMS_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Phone syncs waiting for one progress writer before more are turned away with
    /// TOO_MANY_REQUESTS and a `retryAfter` (the phone keeps its events and sends them again).
    #[arg(long, env = "LMS_SYNC_QUEUE", default_value_t = progress::SYNC_QUEUE, value_parser = queue_length)]
    pub sync_queue: usize,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated addresses or
    /// networks, like `10.0.0.0/8,127.0.0.1`). Empty: the header is ignored, and every request
    /// counts under the address it came from (sign-in throttle).
    #[arg(long, env = "LMS_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::forwarded::parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Config {
    /// The defaults, as if no variable were set, with `data_dir` replaced: for tests and tools.
    pub fn with_data_dir(data_dir: PathBuf) -> Self {
        Config {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: None,
            data_dir,
            database_url: None,
            db_max_connections: 16,
            migrate_on_start: true,
            admin_email: "admin@lms.local".into(),
            admin_password: None,
            secret_key: None,
            s3_endpoint: None,
            s3_public_endpoint: None,
            s3_region: "garage".into(),
            s3_bucket: "lms".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_prefix: String::new(),
            log_format: LogFormat::Text,
            graphiql: true,
            max_body_bytes: 1 << 20,
            max_upload_bytes: 21 << 20,
            max_media_put_bytes: 256 << 20,
            workers: 2,
            sync_queue: progress::SYNC_QUEUE,
            trusted_proxies: Vec::new(),
        }
    }

    /// The database URL in force: `DATABASE_URL`, or the SQLite file in the data folder.
    pub fn effective_database_url(&self) -> Secret {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => Secret::new(format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("lms.sqlite").display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secret() {
        let mut c = Config::with_data_dir(PathBuf::from("/tmp/x"));
        c.database_url = Some(Secret::new("postgres://lms:db-pass-777@db/lms"));
        c.admin_password = Some(Secret::new("admin-pass-888"));
        c.secret_key = Some(Secret::new("k".repeat(40)));
        c.s3_secret_access_key = Some(Secret::new("s3-secret-999"));
        let shown = format!("{c:?}");
        for secret in [
            "db-pass-777",
            "admin-pass-888",
            &"k".repeat(40),
            "s3-secret-999",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
