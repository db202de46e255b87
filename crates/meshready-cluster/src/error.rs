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
    /// A request failed for a reason other than 403 Forbidden or 404 Not Found, after its
    /// retries. The API server's answer is in kubectl's words, and is not repeated as a source.
    #[error("cannot {what} (needed for {used_for}): {failure}")]
    Read {
        /// What was being read (`list pods in all namespaces`).
        what: String,
        /// The checks that need it.
        used_for: &'static str,
        /// Why it failed (`Error from server (Expired): ...`).
        failure: String,
    },
    /// Discovery of an API group-version failed other than with 403 or 404, after retries.
    #[error("cannot discover API group {api_version}: {failure}")]
    Discover {
        /// `apps/v1`.
        api_version: String,
        /// Why it failed.
        failure: String,
    },
    /// The whole read took longer than `--timeout`.
    #[error("reading the cluster took longer than {}s (raise --timeout)", .0.as_secs())]
    Timeout(Duration),
}

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
