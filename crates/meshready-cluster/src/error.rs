//! Errors that stop a cluster read (forbidden and unserved kinds are not errors: they are skipped).

use std::time::Duration;

/// Why the cluster could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kubeconfig file could not be read.
    #[error("cannot read kubeconfig {path}")]
    Kubeconfig {
        /// The file given with `--kubeconfig`.
        path: String,
        /// The cause.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig has no usable context (or the named one does not exist).
    #[error("cannot load the Kubernetes client configuration")]
    Config(#[source] kube::config::KubeconfigError),
    /// Neither a kubeconfig nor an in-cluster configuration was found.
    #[error("cannot find a kubeconfig or an in-cluster configuration")]
    Infer(#[source] kube::config::InferConfigError),
    /// The HTTP client could not be built from the configuration.
    #[error("cannot create the Kubernetes client")]
    Client(#[source] kube::Error),
    /// A request failed for a reason other than 403 Forbidden or 404 Not Found.
    #[error("cannot {what}")]
    Request {
        /// What was being read (`list Pods in namespace shop`).
        what: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// An object could not be turned into JSON.
    #[error("cannot encode {what}")]
    Encode {
        /// The object.
        what: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The whole read took longer than `--timeout`.
    #[error("reading the cluster took longer than {}s (raise --timeout)", .0.as_secs())]
    Timeout(Duration),
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
