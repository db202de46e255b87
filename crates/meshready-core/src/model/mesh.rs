//! Mesh membership: whether Istio's sidecar injector will inject a workload's pods (SPEC 3.1).
//!
//! Models the webhook's namespace and object selectors
//! (`manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml`) and
//! `pkg/kube/inject/inject.go:injectRequired`, not istioctl's `inMesh` shortcut; see
//! reference/istio.md §2.

use super::workload::Workload;
use crate::istio::DATAPLANE_MODE_LABEL;
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
///
/// An explicit `sidecar.istio.io/inject: "false"` always wins, even over a container named
/// `istio-proxy` (ztunnel's DaemonSet names its container so). A sidecar wins over ambient when
/// both apply; a pod labelled `istio.io/dataplane-mode: none` leaves an ambient namespace.
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
    let sidecar = sidecar_membership(workload, namespace, injector);
    if sidecar.has_sidecar() {
        return sidecar;
    }
    if wants_ambient(workload, namespace)
        && !workload.host_network()
        && !IGNORED_NAMESPACES.contains(&workload.object.namespace.as_str())
        && !is_istio_component(workload)
    {
        return Membership::Ambient;
    }
    sidecar
}

/// Whether the pod or its namespace asks for ambient mode (`istio.io/dataplane-mode=ambient`)
/// and the pod does not opt out (`none`), whatever else applies.
#[must_use]
pub fn wants_ambient(workload: &Workload<'_>, namespace: Option<&Object>) -> bool {
    match workload.label(DATAPLANE_MODE_LABEL).as_deref() {
        Some("ambient") => true,
        Some("none") => false,
        _ => {
            namespace
                .and_then(|ns| ns.label(DATAPLANE_MODE_LABEL))
                .as_deref()
                == Some("ambient")
        }
    }
}

/// Whether the workload's pods carry an explicit `sidecar.istio.io/inject` opt-out: the label
/// `"false"`, or a false value of the label, or of the annotation when there is no label (the
/// label wins in `injectRequired`).
#[must_use]
pub fn opts_out_of_injection(workload: &Workload<'_>) -> bool {
    let label = workload.label("sidecar.istio.io/inject");
    let annotation = workload.annotation("sidecar.istio.io/inject");
    label.as_deref() == Some("false")
        || label.as_deref().or(annotation.as_deref()).and_then(truthy) == Some(false)
}

/// Labels (on the workload or its pod template) that only Istio's own components carry:
/// istiod, the ingress, egress and east-west gateways (`istio: ...`), ztunnel, istio-cni-node,
/// and the gateways and waypoints that Istio deploys for Gateway API resources. These are the
/// labels of Istio's rendered manifests (`manifests/charts`, `operator` golden files).
#[must_use]
pub fn is_istio_component(workload: &Workload<'_>) -> bool {
    // One pass over each label map (rules ask this of every workload): a pod-template label
    // wins over the object's label of the same key.
    const PRESENT: [&str; 4] = [
        "istio",
        "gateway.istio.io/managed",
        "istio.io/gateway-name",
        "gateway.networking.k8s.io/gateway-name",
    ];
    const VALUED: [&str; 3] = ["app", "k8s-app", "release"];
    let component = |key: &str, value: &str| match key {
        "app" => matches!(value, "istiod" | "ztunnel" | "istio-cni-node"),
        "k8s-app" => value == "istio-cni-node",
        "release" => value == "istio",
        _ => PRESENT.contains(&key),
    };
    let mut in_template = [false; 3];
    for (key, value) in workload.labels() {
        if component(key, &value) {
            return true;
        }
        if let Some(i) = VALUED.iter().position(|k| *k == key) {
            in_template[i] = true;
        }
    }
    workload.object.labels().any(|(key, value)| {
        let shadowed = VALUED
            .iter()
            .position(|k| *k == key)
            .is_some_and(|i| in_template[i]);
        !shadowed && component(key, &value)
    })
}

/// The sidecar injector's decision alone (`injectRequired` and the webhook's selectors).
fn sidecar_membership(
    workload: &Workload<'_>,
    namespace: Option<&Object>,
    injector: InjectorConfig,
) -> Membership {
    if workload.object.label("gateway.istio.io/managed").is_some()
        || workload.label("gateway.istio.io/managed").is_some()
    {
        return Membership::NotInjected("an Istio-managed gateway or waypoint");
    }
    if opts_out_of_injection(workload) {
        return Membership::NotInjected("the pod opts out with sidecar.istio.io/inject");
    }
    if workload.already_injected() {
        return Membership::AlreadyInjected;
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
    let Some(ns) = namespace else {
        if workload.label(DATAPLANE_MODE_LABEL).as_deref() == Some("ambient") {
            return Membership::NotInjected("the pod asks for ambient mode");
        }
        return Membership::Injected("namespace not described in the input; assumed in the mesh");
    };
    let ns_injection = ns.label("istio-injection");
    let ns_rev = ns.label("istio.io/rev");
    match (ns_injection.as_deref(), ns_rev) {
        (Some("enabled"), _) => Membership::Injected("namespace label istio-injection=enabled"),
        (Some(_), _) => Membership::NotInjected("namespace label istio-injection is not `enabled`"),
        (None, Some(_)) => Membership::Injected("namespace label istio.io/rev"),
        (None, None) => {
            if label.as_deref() == Some("true") {
                Membership::Injected("pod label sidecar.istio.io/inject=true")
            } else if workload.label("istio.io/rev").is_some() {
                Membership::Injected("pod label istio.io/rev")
            } else if injector.enable_namespaces_by_default
                && label.is_none()
                && ns.label(DATAPLANE_MODE_LABEL).as_deref() != Some("ambient")
            {
                Membership::Injected("the injector's enableNamespacesByDefault")
            } else {
                Membership::NotInjected("the namespace is not labelled for injection")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    /// Whether the first workload of a Deployment with these object and template labels is
    /// one of Istio's components.
    fn component(object_labels: &str, template_labels: &str) -> bool {
        let text = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d, labels: {object_labels}}}\nspec:\n  template:\n    metadata: {{labels: {template_labels}}}\n    spec: {{containers: [{{name: a}}]}}\n"
        );
        let loaded = load_str("t.yaml", &text, &LoadOptions::default());
        let w = Workload::new(0, &loaded.objects[0]).expect("a workload");
        is_istio_component(&w)
    }

    #[test]
    fn istio_components_by_labels_the_template_winning_over_the_object() {
        assert!(component("{}", "{istio: ingressgateway}"));
        assert!(component(
            "{gateway.istio.io/managed: istio.io-mesh-controller}",
            "{}"
        ));
        assert!(component("{app: istiod}", "{}"));
        assert!(component("{}", "{k8s-app: istio-cni-node}"));
        assert!(component("{release: istio}", "{app: web}"));
        // The template's `app` hides the object's.
        assert!(!component("{app: istiod}", "{app: web}"));
        assert!(component("{app: web}", "{app: ztunnel}"));
        assert!(!component("{app: web, release: prod}", "{version: v1}"));
    }

    /// The membership of the first workload in `text`, with the Namespace `ns` if the text has it.
    fn decide(text: &str) -> Membership {
        let loaded = load_str("t.yaml", text, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let w = loaded
            .objects
            .iter()
            .enumerate()
            .find_map(|(i, o)| Workload::new(i, o))
            .unwrap();
        let ns = loaded
            .objects
            .iter()
            .find(|o| o.kind == "Namespace" && o.name == w.object.namespace);
        membership(&w, ns, MeshMode::Auto, InjectorConfig::default())
    }

    fn pod(ns_labels: Option<&str>, pod_labels: &str, extra: &str) -> String {
        let ns = ns_labels.map_or(String::new(), |l| {
            format!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {{name: a, labels: {{{l}}}}}\n---\n"
            )
        });
        format!(
            "{ns}apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: a, labels: {{{pod_labels}}}}}\nspec:\n  containers: [{{name: app, image: x}}]\n{extra}"
        )
    }

    #[test]
    fn ambient_namespace_and_pod_labels() {
        let ambient = "istio.io/dataplane-mode: ambient";
        assert_eq!(decide(&pod(Some(ambient), "", "")), Membership::Ambient);
        assert_eq!(decide(&pod(None, ambient, "")), Membership::Ambient);
        assert_eq!(decide(&pod(Some(""), ambient, "")), Membership::Ambient);
        assert!(matches!(
            decide(&pod(Some(ambient), "istio.io/dataplane-mode: none", "")),
            Membership::NotInjected(_)
        ));
        // hostNetwork pods are never captured.
        assert!(matches!(
            decide(&pod(Some(ambient), "", "  hostNetwork: true\n")),
            Membership::NotInjected(_)
        ));
        // Opting out of the sidecar does not opt out of ambient.
        assert_eq!(
            decide(&pod(
                Some(ambient),
                "sidecar.istio.io/inject: \"false\"",
                ""
            )),
            Membership::Ambient
        );
    }

    #[test]
    fn a_sidecar_wins_over_ambient() {
        let ambient = "istio.io/dataplane-mode: ambient";
        assert!(matches!(
            decide(&pod(Some("istio-injection: enabled"), ambient, "")),
            Membership::Injected(_)
        ));
        assert!(matches!(
            decide(&pod(Some(ambient), "sidecar.istio.io/inject: \"true\"", "")),
            Membership::Injected(_)
        ));
        assert!(matches!(
            decide(&pod(
                Some(&format!("{ambient}, istio.io/rev: canary")),
                "",
                ""
            )),
            Membership::Injected(_)
        ));
        assert_eq!(
            decide(&pod(
                Some(ambient),
                "",
                "  initContainers: [{name: istio-proxy, image: x, restartPolicy: Always}]\n"
            )),
            Membership::AlreadyInjected
        );
    }

    #[test]
    fn an_explicit_opt_out_wins_over_a_container_named_istio_proxy() {
        let proxy = "  initContainers: [{name: istio-proxy, image: x}]\n";
        assert_eq!(decide(&pod(None, "", proxy)), Membership::AlreadyInjected);
        assert!(matches!(
            decide(&pod(None, "sidecar.istio.io/inject: \"false\"", proxy)),
            Membership::NotInjected(_)
        ));
    }

    #[test]
    fn gateways_and_waypoints_are_never_injected() {
        assert_eq!(
            decide(&pod(
                None,
                "gateway.istio.io/managed: istio.io-mesh-controller",
                ""
            )),
            Membership::NotInjected("an Istio-managed gateway or waypoint")
        );
        // Not ambient either, even in an ambient namespace.
        assert!(matches!(
            decide(&pod(
                Some("istio.io/dataplane-mode: ambient"),
                "gateway.istio.io/managed: istio.io-mesh-controller",
                ""
            )),
            Membership::NotInjected(_)
        ));
    }
}
