//! meshready's ValidatingAdmissionWebhook: reviews Pods, workloads, Services and Namespaces with
//! the core's rules and answers with the findings as admission warnings (or a denial at or above
//! a threshold), over HTTPS.
//!
//! The decision is the pure [`review()`] function; [`server`] is a thin axum adapter around it and
//! [`cluster`] keeps the cross-object [`Context`] in sync with a live cluster.

#![forbid(unsafe_code)]

pub mod cluster;
pub mod context;
pub mod incremental;
pub mod metrics;
pub mod review;
pub mod server;
pub mod warnings;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use meshready_core::source::{Input, LoadError};

pub use context::{Context, SharedContext};
pub use review::{Config, HANDLED_KINDS, Reviewed, Verdict, review};
pub use server::{Running, ServeOptions, install_crypto_provider, start};

/// What can stop the webhook from serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The certificate or key could not be read or used.
    #[error("cannot load the TLS certificate {} and key {}", cert.display(), key.display())]
    Tls {
        /// Certificate path.
        cert: PathBuf,
        /// Key path.
        key: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an error.
    #[error("the HTTPS server failed")]
    Serve(#[source] std::io::Error),
    /// No cluster to read the context from.
    /// (kube's message already nests its causes, so it is kept as text rather than as a source.)
    #[error(
        "cannot connect to the cluster for the context (use --offline-context to run without one): {0}"
    )]
    Kube(String),
    /// The async runtime could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// Offline context files that could not be read.
    #[error("the offline context has unreadable documents: {}", describe(.0))]
    Context(Vec<LoadError>),
}

fn describe(errors: &[LoadError]) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .take(3)
        .map(|e| format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message))
        .collect();
    if errors.len() > 3 {
        parts.push(format!("and {} more", errors.len() - 3));
    }
    parts.join("; ")
}

/// Where the context comes from.
#[derive(Debug)]
pub enum ContextSource {
    /// Manifest files (already read), loaded once.
    Offline(Vec<Input>),
    /// The cluster of the current kubeconfig context or the in-cluster config, watched.
    Cluster {
        /// Namespace of the `istio-sidecar-injector` ConfigMaps.
        istio_namespace: String,
    },
}

/// Everything `meshready webhook` needs.
#[derive(Debug)]
pub struct RunOptions {
    /// Listen address.
    pub listen: SocketAddr,
    /// TLS files, body limit, reload interval.
    pub serve: ServeOptions,
    /// The decision settings.
    pub config: Config,
    /// The context.
    pub context: ContextSource,
}

/// Runs the webhook until SIGINT or SIGTERM; must be called inside a tokio runtime. `on_listening`
/// is told the bound address once the server accepts connections.
///
/// # Errors
/// When the context, the certificate or the listen address cannot be used, or the server fails.
pub async fn run(options: RunOptions, on_listening: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    install_crypto_provider();
    let mut sync = None;
    let context = match options.context {
        ContextSource::Offline(inputs) => {
            let (context, errors) = Context::load(inputs);
            if !errors.is_empty() {
                return Err(Error::Context(errors));
            }
            SharedContext::fixed(context)
        }
        ContextSource::Cluster { istio_namespace } => {
            let client = kube::Client::try_default()
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            let shared = SharedContext::pending();
            let target = shared.clone();
            sync = Some(tokio::spawn(async move {
                cluster::sync(client, target, &istio_namespace).await;
            }));
            shared
        }
    };
    let listener = server::bind(options.listen)?;
    let running = start(listener, options.serve, options.config, context).await?;
    on_listening(running.addr());
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.shutdown(Duration::from_secs(10));
    let result = running.wait().await;
    if let Some(sync) = sync {
        sync.abort();
    }
    result
}

/// [`run`] on a multi-threaded tokio runtime of its own, for synchronous callers (the CLI).
///
/// # Errors
/// As [`run`], or when the runtime cannot start.
pub fn run_blocking(
    options: RunOptions,
    on_listening: impl FnOnce(SocketAddr),
) -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Error::Runtime)?
        .block_on(run(options, on_listening))
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
