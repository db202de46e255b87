//! The HTTPS server: axum routes over rustls (ring), bounded request bodies, and certificate
//! reload when the files change.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use tokio::task::JoinHandle;

use crate::Error;
use crate::context::SharedContext;
use crate::metrics::Metrics;
use crate::review::{Config, review};

/// The API server's own request limit (3 MiB), the default bound on request bodies.
pub const DEFAULT_MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How often the certificate files are checked for changes by default.
pub const DEFAULT_RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// Installs rustls' ring crypto provider as the process default. Idempotent: later calls (and a
/// provider someone else installed first) are fine.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// PEM certificate chain.
    pub tls_cert: PathBuf,
    /// PEM private key.
    pub tls_key: PathBuf,
    /// Largest accepted request body; larger ones get HTTP 413.
    pub max_body_bytes: usize,
    /// How often to look for a new certificate.
    pub reload_interval: Duration,
}

impl ServeOptions {
    /// Options with the default body limit and reload interval.
    #[must_use]
    pub fn new(tls_cert: PathBuf, tls_key: PathBuf) -> Self {
        Self {
            tls_cert,
            tls_key,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            reload_interval: DEFAULT_RELOAD_INTERVAL,
        }
    }
}

struct AppState {
    config: Config,
    context: SharedContext,
    metrics: Metrics,
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    server: JoinHandle<std::io::Result<()>>,
    reloader: JoinHandle<()>,
}

impl Running {
    /// The address the server listens on (with the real port when bound to port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and lets open requests finish (up to `grace`).
    pub fn shutdown(&self, grace: Duration) {
        self.handle.graceful_shutdown(Some(grace));
    }

    /// Waits until the server has stopped.
    ///
    /// # Errors
    /// When the server failed.
    pub async fn wait(self) -> Result<(), Error> {
        let result = self.server.await;
        self.reloader.abort();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Serve(e)),
            Err(e) => Err(Error::Serve(std::io::Error::other(e))),
        }
    }
}

/// Binds `addr` (use port 0 for any free port).
///
/// # Errors
/// When the address cannot be bound.
pub fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    let listener = TcpListener::bind(addr).map_err(|source| Error::Listen { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| Error::Listen { addr, source })?;
    Ok(listener)
}

/// The routes: `POST /validate`, `GET /healthz`, `GET /readyz`, `GET /metrics`.
fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/validate", post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// Starts serving HTTPS on `listener` in the background; must run inside a tokio runtime.
///
/// # Errors
/// When the certificate or key cannot be read or used.
pub async fn start(
    listener: TcpListener,
    options: ServeOptions,
    config: Config,
    context: SharedContext,
) -> Result<Running, Error> {
    install_crypto_provider();
    let (cert, key) = read_pair(&options).await?;
    let tls = RustlsConfig::from_pem(cert.clone(), key.clone())
        .await
        .map_err(|source| tls_error(&options, source))?;
    let addr = listener.local_addr().map_err(Error::Serve)?;
    let state = Arc::new(AppState {
        config,
        context,
        metrics: Metrics::default(),
    });
    let app = router(state, options.max_body_bytes);
    let handle = Handle::new();
    let server = axum_server::from_tcp_rustls(listener, tls.clone())
        .map_err(|source| Error::Listen { addr, source })?
        .handle(handle.clone());
    let server = tokio::spawn(server.serve(app.into_make_service()));
    let reloader = tokio::spawn(watch_certificate(tls, options, (cert, key)));
    Ok(Running {
        addr,
        handle,
        server,
        reloader,
    })
}

async fn validate(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let started = Instant::now();
    let context = state.context.snapshot();
    let reviewed = review(&body, &context, &state.config);
    state.metrics.record(&reviewed, started.elapsed());
    let content_type = if reviewed.is_json() {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    let status = StatusCode::from_u16(reviewed.status).unwrap_or(StatusCode::BAD_REQUEST);
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        reviewed.body,
    )
        .into_response()
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    if state.context.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "context not synced yet\n").into_response()
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render() + &crate::metrics::render_context(&state.context),
    )
        .into_response()
}

async fn read_pair(options: &ServeOptions) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let cert = tokio::fs::read(&options.tls_cert)
        .await
        .map_err(|source| tls_error(options, source))?;
    let key = tokio::fs::read(&options.tls_key)
        .await
        .map_err(|source| tls_error(options, source))?;
    Ok((cert, key))
}

fn tls_error(options: &ServeOptions, source: std::io::Error) -> Error {
    Error::Tls {
        cert: options.tls_cert.clone(),
        key: options.tls_key.clone(),
        source,
    }
}

/// Reloads the certificate when the files' contents change (polling; works with Kubernetes'
/// Secret volumes, which swap a symlink rather than rewrite the files). A pair that does not
/// load (half-written, mismatched) is retried at the next tick; the old certificate stays.
async fn watch_certificate(
    tls: RustlsConfig,
    options: ServeOptions,
    mut current: (Vec<u8>, Vec<u8>),
) {
    let mut tick = tokio::time::interval(options.reload_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed: Option<(Vec<u8>, Vec<u8>)> = None;
    loop {
        tick.tick().await;
        let Ok(pair) = read_pair(&options).await else {
            continue;
        };
        if pair == current || failed.as_ref() == Some(&pair) {
            continue;
        }
        match tls.reload_from_pem(pair.0.clone(), pair.1.clone()).await {
            Ok(()) => {
                tracing::info!(cert = %options.tls_cert.display(), "reloaded the TLS certificate");
                current = pair;
                failed = None;
            }
            Err(error) => {
                tracing::warn!(%error, cert = %options.tls_cert.display(), "cannot reload the TLS certificate; keeping the old one");
                failed = Some(pair);
            }
        }
    }
}
