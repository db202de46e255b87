//! MR0004: an in-mesh pod template has no `version` label.

use super::helpers::{VERSION_LABELS, first_label, in_mesh, labels_pointer};
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// The pod template of every in-mesh workload carries a `version` label (Istio also accepts
    /// `app.kubernetes.io/version` and `service.istio.io/canonical-revision`). Applies to sidecar
    /// and ambient workloads alike; Istio's own components are skipped.
    ///
    /// ## Why it matters in the mesh
    /// Istio reports the canonical revision from these labels; without one every version is
    /// `latest`, so canaries cannot be told apart in metrics and version-based routing
    /// (DestinationRule subsets) has nothing to select on.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: reviews}
    /// ```
    ///
    /// ## Fix
    /// Add `version: <version>` to the pod template's labels.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#pod-labels
    pub struct MissingVersionLabel {
        code: "MR0004",
        name: "missing-version-label",
        severity: Info,
        summary: "an in-mesh pod template has no `version` (or equivalent) label",
        istio_versions: "all Istio versions (recommended)",
    }
}

impl Rule for MissingVersionLabel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (_, w) in in_mesh(cx) {
            if cx.model.is_control_plane(w) || first_label(w, &VERSION_LABELS).is_some() {
                continue;
            }
            out.push(cx.finding(
                &Self::META,
                w.object,
                &labels_pointer(w),
                format!("pod template of {} `{}` has no `version` label; telemetry will report it as `latest`", w.object.kind, w.object.name),
                "Add a `version` label (or `app.kubernetes.io/version`) naming this deployment's version to the pod template.".into(),
            ));
        }
    }
}
