//! MR0040: a `hostNetwork` pod in an ambient namespace, which ztunnel never captures.

use crate::finding::Finding;
use crate::istio::DATAPLANE_MODE_LABEL;
use crate::model::mesh::{IGNORED_NAMESPACES, wants_ambient};
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Workloads whose pods use `hostNetwork: true` and ask for the ambient data plane: the
    /// namespace is labelled `istio.io/dataplane-mode=ambient` (and the pod does not opt out with
    /// `istio.io/dataplane-mode: none`), or the pod itself carries the label. Istio's own
    /// components (istio-cni-node, ztunnel) and system namespaces are skipped.
    ///
    /// ## Why it matters in the mesh
    /// In ambient mode the Istio CNI agent redirects traffic inside each pod's own network
    /// namespace, where ztunnel listens. A `hostNetwork` pod shares the node's network namespace,
    /// so Istio never captures it: its traffic leaves without mTLS, it gets no workload
    /// identity, and authorization policies that require mesh identities reject its calls.
    /// Istio's docs: "Pods with hostNetwork are not captured" (ambient data plane).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata: {name: shop, labels: {istio.io/dataplane-mode: ambient}}
    /// ---
    /// apiVersion: apps/v1
    /// kind: DaemonSet
    /// metadata: {name: node-agent, namespace: shop}
    /// spec:
    ///   template:
    ///     spec:
    ///       hostNetwork: true
    /// ```
    ///
    /// ## Fix
    /// Run the workload without `hostNetwork` if it should be in the mesh; otherwise label its
    /// pod template `istio.io/dataplane-mode: none` to state that it stays outside, or move it to
    /// a namespace that is not in ambient mode.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ambient/architecture/data-plane/
    /// - https://istio.io/latest/docs/ambient/usage/add-workloads/
    pub struct AmbientHostNetwork {
        code: "MR0040",
        name: "ambient-host-network",
        severity: Warning,
        summary: "a hostNetwork pod in an ambient namespace is never captured by the mesh",
        istio_versions: "Istio 1.22 and later (ambient mode)",
    }
}

impl Rule for AmbientHostNetwork {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        if cx.model.settings.mesh == crate::settings::MeshMode::None {
            return;
        }
        for w in &cx.model.workloads {
            if !w.host_network()
                || cx.model.is_control_plane(w)
                || IGNORED_NAMESPACES.contains(&w.object.namespace.as_str())
            {
                continue;
            }
            let namespace = cx
                .model
                .namespaces
                .get(w.object.namespace.as_str())
                .copied();
            if !wants_ambient(w, namespace) {
                continue;
            }
            let asked = if w.label(DATAPLANE_MODE_LABEL).is_some() {
                "its pod template asks for ambient mode".to_string()
            } else {
                format!("namespace `{}` is in ambient mode", w.object.namespace)
            };
            out.push(cx.finding(
                &Self::META,
                w.object,
                &w.pointer("/spec/hostNetwork"),
                format!(
                    "pods of {} `{}` use hostNetwork although {asked}; ztunnel never captures their traffic",
                    w.object.kind, w.object.name
                ),
                "Drop `hostNetwork` if the workload belongs in the mesh, or label its pod template `istio.io/dataplane-mode: none` to keep it outside on purpose.".into(),
            ));
        }
    }
}
