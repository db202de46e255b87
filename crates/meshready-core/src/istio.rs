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
