//! The `lms` gateway: configuration, the axum router, the merged GraphQL schema, media routes
//! for the local store, health and metrics, and the background workers. It wires the domain
//! crates together and holds no business rule.

pub mod cli;
pub mod config;
pub mod db;
pub mod forwarded;
pub mod http;
pub mod metrics;
pub mod ops;
pub mod schema;
pub mod secrets;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::http::{HeaderName, Request};
use axum::routing::get;
use identity::{Identity, IdentitySettings, TokenKey};
use jobs::{JobQueue, Worker, WorkerConfig};
use kernel::{Secret, SharedClock};
use migration::MigratorTrait;
use sea_orm::DatabaseConnection;
use storage::ObjectStore;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use config::Config;
/// The allocator of the binaries (`lms`, `bench`): mimalloc, whose per-thread heaps avoid the
/// arena locking and consolidation that made glibc malloc a quarter of the CPU under sync load.
pub use mimalloc::MiMalloc as Allocator;
pub use schema::LmsSchema;

/// What every request handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The GraphQL schema with its services.
    pub schema: LmsSchema,
    /// The database.
    pub db: DatabaseConnection,
    /// Identity service (token checks happen in the HTTP layer).
    pub identity: Identity,
    /// The job queue.
    pub jobs: JobQueue,
    /// The object store.
    pub store: ObjectStore,
    /// Course service (its job handlers and media routes are wired here).
    pub courses: course::Courses,
    /// Enrollment service (also identity's people observer and the courses' learner check).
    pub enrollments: enrollment::Enrollments,
    /// Progress service (its job following course plan changes is wired here).
    pub progress: progress::Progress,
    /// Quiz service (its attempt-closing job is wired here).
    pub quizzes: quiz::Quizzes,
    /// Evaluation service (its sweep job and certificate routes are wired here).
    pub evaluation: evaluation::Evaluation,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// The configuration in force.
    pub config: Arc<Config>,
}

/// Called after every SQL statement the app's connection pool runs (a test counts them).
///
/// It sees statements of every service, inside transactions too (sea-orm hands the callback to
/// the transactions and streams it opens). It does not see `BEGIN`/`COMMIT`/`ROLLBACK` nor
/// `execute_unprepared` SQL, which sea-orm does not report.
pub type StatementObserver = Arc<dyn Fn(&sea_orm::metric::Info<'_>) + Send + Sync>;

/// Services that `build_state` can take from a caller instead of making (tests, benchmarks).
#[derive(Clone, Default)]
pub struct Overrides {
    /// The clock (default: the system clock).
    pub clock: Option<SharedClock>,
    /// Identity settings (default: production values).
    pub identity: Option<IdentitySettings>,
    /// Job handlers registered beside the platform's own (tests use this to observe workers).
    pub extra_handlers: Vec<Arc<dyn jobs::JobHandler>>,
    /// Course media settings (default: production values); the public URL and the playlist
    /// key are always the server's own.
    pub course: Option<course::CourseSettings>,
    /// Sees every SQL statement the app's database connection runs (tests count them).
    pub statement_observer: Option<StatementObserver>,
    /// Quiz attempt settings (default: production values).
    pub quiz: Option<quiz::QuizSettings>,
}

/// Opens the database (migrating when configured), the object store and the services, and
/// builds the schema. `public_url` is where clients reach this server.
///
/// # Errors
/// When the database, the secret key or the object store cannot be set up.
pub async fn build_state(
    config: Config,
    public_url: String,
    overrides: Overrides,
) -> anyhow::Result<AppState> {
    let clock: SharedClock = overrides
        .clock
        .unwrap_or_else(|| Arc::new(kernel::SystemClock));
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}",
            config.data_dir.display()
        )
    })?;
    let keys = secrets::Keys::load(&config)?;
    let mut db = db::connect(&config.effective_database_url(), config.db_max_connections).await?;
    // Before the connection is cloned into services: every clone carries the callback.
    if let Some(observer) = overrides.statement_observer.clone() {
        db.set_metric_callback(move |info| observer(info));
    }
    if config.migrate_on_start {
        migration::Migrator::up(&db, None)
            .await
            .context("migrations failed")?;
    }
    let store = open_store(&config, &public_url, &keys, clock.clone())?;
    let identity = Identity::new(
        db.clone(),
        clock.clone(),
        TokenKey::new(keys.tokens.clone()).map_err(|e| anyhow::anyhow!("{e}"))?,
        overrides.identity.unwrap_or_default(),
    );
    let jobs = JobQueue::new(db.clone(), clock.clone());
    let enrollments = enrollment::Enrollments::new(db.clone(), clock.clone());
    // Standing assignment rules enroll people as they are created, moved or imported.
    identity.observe_people(Arc::new(enrollments.clone()));
    let courses = course::Courses::new(
        db.clone(),
        clock.clone(),
        store.clone(),
        jobs.clone(),
        course::CourseSettings {
            public_url: public_url.clone(),
            playlist_key: keys.playlists.clone(),
            ..overrides.course.unwrap_or_default()
        },
    )
    // Enrolled learners may take a course's content, once a gating pre-test is taken; course
    // cannot depend on enrollment or quiz.
    .with_learner_access(Arc::new(quiz::gate::GatedAccess::new(enrollments.clone())))
    // Quiz lessons need settings and questions before their course reaches learners.
    .with_lesson_readiness(Arc::new(quiz::readiness::QuizReadiness));
    let quizzes = quiz::Quizzes::new(
        db.clone(),
        clock.clone(),
        jobs.clone(),
        overrides.quiz.unwrap_or_default(),
    );
    let evaluation = evaluation::Evaluation::new(
        db.clone(),
        clock.clone(),
        jobs.clone(),
        evaluation::EvaluationSettings {
            public_url: public_url.clone(),
            url_key: keys.certificates.clone(),
            ..evaluation::EvaluationSettings::default()
        },
    );
    if config.migrate_on_start {
        // The default survey templates; also written on first use when migrations ran apart.
        evaluation
            .seed_default_templates()
            .await
            .context("seeding the default survey templates")?;
    }
    // No progress in lessons a gating pre-test keeps locked; progress cannot depend on quiz.
    let progress = progress::Progress::new(db.clone(), clock.clone())
        .with_lesson_locks(Arc::new(quiz::gate::PreTestGate))
        .with_sync_queue(config.sync_queue);
    let schema = schema::builder(config.graphiql)
        .data(db.clone())
        .data(clock.clone())
        .data(identity.clone())
        .data(jobs.clone())
        .data(store.clone())
        .data(courses.clone())
        .data(enrollments.clone())
        .data(progress.clone())
        .data(quizzes.clone())
        .data(evaluation.clone())
        .finish();
    Ok(AppState {
        schema,
        db,
        identity,
        jobs,
        store,
        courses,
        enrollments,
        progress,
        quizzes,
        evaluation,
        metrics: Arc::new(metrics::Metrics::default()),
        config: Arc::new(config),
    })
}

fn open_store(
    config: &Config,
    public_url: &str,
    keys: &secrets::Keys,
    clock: SharedClock,
) -> anyhow::Result<ObjectStore> {
    match &config.s3_endpoint {
        Some(endpoint) if !endpoint.is_empty() => {
            let access_key_id = config
                .s3_access_key_id
                .clone()
                .context("LMS_S3_ACCESS_KEY_ID is required with LMS_S3_ENDPOINT")?;
            let secret_access_key = config
                .s3_secret_access_key
                .clone()
                .context("LMS_S3_SECRET_ACCESS_KEY is required with LMS_S3_ENDPOINT")?;
            let s3 = storage::S3Store::new(storage::S3Config {
                endpoint_url: endpoint.clone(),
                public_endpoint_url: config.s3_public_endpoint.clone(),
                region: config.s3_region.clone(),
                bucket: config.s3_bucket.clone(),
                access_key_id,
                secret_access_key,
                key_prefix: config.s3_prefix.clone(),
                clock,
            })
            .map_err(|e| anyhow::anyhow!("S3 store: {e}"))?;
            Ok(ObjectStore::from(s3))
        }
        _ => {
            let local = storage::LocalStore::new(storage::LocalStoreConfig {
                root: config.data_dir.join("media"),
                public_base_url: public_url.to_owned(),
                signing_key: keys.media.clone(),
                max_body_bytes: config.max_media_put_bytes,
                clock,
            })
            .map_err(|e| anyhow::anyhow!("local media folder: {e}"))?;
            Ok(ObjectStore::from(local))
        }
    }
}

/// The HTTP router: GraphQL, health, metrics and (for the local store) signed media URLs.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let media = match &state.store {
        ObjectStore::Local(local) => Some(storage::local_media_router(local.clone())),
        _ => None,
    };
    let hls = state.courses.media_router();
    let certificates = state.evaluation.router();
    let mut app = Router::new()
        .route("/graphql", get(http::graphql_get).post(http::graphql_post))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .with_state(state)
        // Signed HLS playlists, on every store. Nested before the local store's `/media`:
        // axum adds nested routes to one table in which the static `hls` segment wins over
        // the local store's `/media/{*key}` catch-all, so both are reachable.
        .nest("/media/hls", hls)
        // Signed certificate PDFs and the public verification page.
        .merge(certificates);
    if let Some(media) = media {
        app = app.nest("/media", media);
    }
    app.layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<axum::body::Body>| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // The path only: query strings of media URLs carry signatures.
                tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// A server started by [`start`].
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Its shared state.
    pub state: AppState,
    /// Cancel to stop the server and its workers.
    pub shutdown: CancellationToken,
    /// Ends when the server and workers have stopped.
    pub handle: tokio::task::JoinHandle<()>,
    /// E-mail and generated password of a first admin created at this start.
    pub created_admin: Option<(String, Option<String>)>,
}

/// Binds, builds the state, creates the first admin if needed, starts `config.workers` job
/// workers and serves until `shutdown` is cancelled.
///
/// # Errors
/// When binding or [`build_state`] fails.
pub async fn start(config: Config, overrides: Overrides) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.http_addr))?;
    let addr = listener.local_addr()?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let admin_email = config.admin_email.clone();
    let admin_password = config.admin_password.clone();
    let workers = config.workers;
    let extra_handlers = overrides.extra_handlers.clone();
    let state = build_state(config, public_url, overrides).await?;
    let created_admin = state
        .identity
        .ensure_first_admin(&admin_email, admin_password.map(|s| s.expose().to_owned()))
        .await
        .map_err(|e| anyhow::anyhow!("creating the first admin: {e}"))?;
    let shutdown = CancellationToken::new();
    let mut worker_handles = Vec::new();
    if workers > 0 {
        worker_handles.push(spawn_worker(
            &state,
            workers,
            &extra_handlers,
            shutdown.clone(),
        ));
    }
    let app = router(state.clone());
    let stop = shutdown.clone();
    let handle = tokio::spawn(async move {
        // No Nagle delay: media responses are streamed in chunks, and a small last write of a
        // chunk would otherwise wait for the client's delayed ACK.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server stopped with an error");
        }
        for h in worker_handles {
            let _ = h.await;
        }
    });
    tracing::info!(%addr, store = state.store.backend_name(), "lms is listening");
    ops::log_video_processing(&state).await;
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        handle,
        created_admin,
    })
}

/// Starts a job worker running `concurrency` jobs at a time with every handler registered.
pub fn spawn_worker(
    state: &AppState,
    concurrency: usize,
    extra_handlers: &[Arc<dyn jobs::JobHandler>],
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let mut worker = Worker::new(
        state.jobs.clone(),
        WorkerConfig {
            concurrency,
            ..WorkerConfig::default()
        },
    );
    ops::register_handlers(&mut worker, state);
    // The periodic jobs re-schedule themselves; a starting worker makes sure each is queued.
    let (evaluation, jobs) = (state.evaluation.clone(), state.jobs.clone());
    tokio::spawn(async move {
        if let Err(e) = evaluation.schedule_sweep(None).await {
            tracing::warn!(error = %e, "cannot schedule the evaluation sweep");
        }
        if let Err(e) = identity::purge::schedule_purge(&jobs, None).await {
            tracing::warn!(error = %e, "cannot schedule the identity purge");
        }
    });
    for h in extra_handlers {
        worker.register(h.clone());
    }
    worker.spawn(shutdown)
}

/// The secret in force for a database URL, for `lms migrate` and friends.
pub fn database_url(config: &Config) -> Secret {
    config.effective_database_url()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    /// [`router`] nests the course crate's HLS routes at `/media/hls` beside the local store's
    /// `/media/{*key}` catch-all; both must stay reachable.
    #[tokio::test]
    async fn hls_routes_and_the_local_store_catch_all_coexist() {
        let app: Router = Router::new()
            .nest(
                "/media/hls",
                Router::new().route("/{material}/{*file}", get(|| async { "hls" })),
            )
            .nest(
                "/media",
                Router::new().route("/{*key}", get(|| async { "local" })),
            );
        for (path, want) in [
            ("/media/hls/m1/720p/index.m3u8", "hls"),
            ("/media/courses/c1/file.pdf", "local"),
            ("/media/hlsx/file.pdf", "local"),
        ] {
            let resp = app
                .clone()
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let body = axum::body::to_bytes(resp.into_body(), 1024).await.unwrap();
            assert_eq!(&body[..], want.as_bytes(), "{path}");
        }
    }
}
