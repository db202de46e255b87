//! Mesh membership: whether Istio's sidecar injector will inject a workload's pods (SPEC 3.1).
//!
//! Models the webhook's namespace and object selectors
//! (`manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`) and
//! `pkg/kube/inject/inject.go:injectRequired`, not istioctl's `inMesh` shortcut; see
//! reference/istio.md §2.

use super::workload::Workload;
use crate::settings::MeshMode;
use crate::source::Object;

/// Namespaces that Istio never injects (`inject.IgnoredNamespaces`).
pub const IGNORED_NAMESPACES: [&str; 4] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "local-path-storage",
];

/// The injector's own settings that matter for membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectorConfig {
    /// `sidecarInjectorWebhook.enableNamespacesByDefault`.
    pub enable_namespaces_by_default: bool,
}

/// The decision for one workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// The injector will add a sidecar (`reason` says why).
    Injected(&'static str),
    /// The pod template already carries Istio's sidecar.
    AlreadyInjected,
    /// The namespace or pod uses ambient mode: no sidecar.
    Ambient,
    /// Not in the mesh (`reason` says why).
    NotInjected(&'static str),
}

impl Membership {
    /// Whether the pods run with a sidecar.
    #[must_use]
    pub fn has_sidecar(&self) -> bool {
        matches!(self, Self::Injected(_) | Self::AlreadyInjected)
    }
}

/// `injectRequired`'s reading of a `sidecar.istio.io/inject` value.
fn truthy(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "on" => Some(true),
        "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Decides membership of `workload`, given its Namespace object when the input has it.
#[must_use]
pub fn membership(
    workload: &Workload<'_>,
    namespace: Option<&Object>,
    mode: MeshMode,
    injector: InjectorConfig,
) -> Membership {
    match mode {
        MeshMode::None => return Membership::NotInjected("--mesh none"),
        MeshMode::All => return Membership::Injected("--mesh all"),
        MeshMode::Auto => {}
    }
    if workload.object.label("gateway.istio.io/managed").is_some()
        || workload.label("gateway.istio.io/managed").is_some()
    {
        return Membership::NotInjected("an Istio-managed gateway or waypoint");
    }
    if workload.already_injected() {
        return Membership::AlreadyInjected;
    }
    if workload.object.label("gateway.istio.io/managed").is_some()
        || workload.label("gateway.istio.io/managed").is_some()
    {
        return Membership::NotInjected("an Istio-managed gateway or waypoint");
    }
    if workload.host_network() {
        return Membership::NotInjected("the pod uses hostNetwork, which Istio never injects");
    }
    if IGNORED_NAMESPACES.contains(&workload.object.namespace.as_str()) {
        return Membership::NotInjected("Istio never injects system namespaces");
    }
    // The object selector sees pod labels only; injectRequired reads the annotation, then the
    // label, which wins.
    let label = workload.label("sidecar.istio.io/inject");
    let annotation = workload.annotation("sidecar.istio.io/inject");
    let pod_says = label.as_deref().or(annotation.as_deref()).and_then(truthy);
    let label_false = label.as_deref() == Some("false");
    if pod_says == Some(false) || label_false {
        return Membership::NotInjected("the pod opts out with sidecar.istio.io/inject");
    }
    if workload.label("istio.io/dataplane-mode").as_deref() == Some("ambient") {
        return Membership::Ambient;
    }
    let Some(ns) = namespace else {
        return Membership::Injected("namespace not described in the input; assumed in the mesh");
    };
    let ns_injection = ns.label("istio-injection");
    let ns_rev = ns.label("istio.io/rev");
    match (ns_injection.as_deref(), ns_rev) {
        (Some("enabled"), _) => Membership::Injected("namespace label istio-injection=enabled"),
        (Some(_), _) => Membership::NotInjected("namespace label istio-injection is not `enabled`"),
        (None, Some(_)) => Membership::Injected("namespace label istio.io/rev"),
        (None, None) => {
            if ns.label("istio.io/dataplane-mode").as_deref() == Some("ambient") {
                Membership::Ambient
            } else if label.as_deref() == Some("true") && pod_says != Some(false) {
                Membership::Injected("pod label sidecar.istio.io/inject=true")
            } else if workload.label("istio.io/rev").is_some() {
                Membership::Injected("pod label istio.io/rev")
            } else if injector.enable_namespaces_by_default && label.is_none() {
                Membership::Injected("the injector's enableNamespacesByDefault")
            } else {
                Membership::NotInjected("the namespace is not labelled for injection")
            }
        }
    }
}
