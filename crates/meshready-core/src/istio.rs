//! Names Istio gives to what it adds to a pod (a leaf module: the model, admission and rules use it).

/// The init container Istio injects without CNI.
pub const ISTIO_INIT: &str = "istio-init";
/// The init container Istio injects with CNI.
pub const ISTIO_VALIDATION: &str = "istio-validation";
/// The sidecar proxy container.
pub const ISTIO_PROXY: &str = "istio-proxy";

/// Whether a container name is one that the injector adds.
#[must_use]
pub fn is_injected_container(name: &str) -> bool {
    matches!(name, ISTIO_INIT | ISTIO_VALIDATION | ISTIO_PROXY)
}

/// The Istio releases the rules model (`meshready --version` prints it).
pub const SUPPORTED_ISTIO: &str = "1.20–1.31";
/// The Kubernetes releases the rules model (Pod Security Admission levels up to v1.35); the
/// PodSecurityPolicy rules also cover the releases up to 1.24, where that API was removed.
pub const SUPPORTED_KUBERNETES: &str = "1.25–1.35";
