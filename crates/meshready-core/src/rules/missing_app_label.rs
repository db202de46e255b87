//! MR0003: an in-mesh pod template has no `app` label.

use super::helpers::{NAME_LABELS, first_label, in_mesh, labels_pointer};
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// The pod template of every in-mesh workload carries an `app` label (Istio also accepts
    /// `app.kubernetes.io/name` and `service.istio.io/canonical-name`). Applies to sidecar and
    /// ambient workloads alike (ztunnel and waypoints read the same labels); Istio's own
    /// components are skipped.
    ///
    /// ## Why it matters in the mesh
    /// Istio names the workload's canonical service from these labels in metrics, traces and
    /// Kiali's graph; without one it falls back to the workload's name, which changes with every
    /// rename and does not group versions of one application.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {tier: web}
    /// ```
    ///
    /// ## Fix
    /// Add `app: <application name>` to the pod template's labels.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#pod-labels
    pub struct MissingAppLabel {
        code: "MR0003",
        name: "missing-app-label",
        severity: Info,
        summary: "an in-mesh pod template has no `app` (or equivalent) label",
        istio_versions: "all Istio versions (recommended)",
    }
}

impl Rule for MissingAppLabel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (_, w) in in_mesh(cx) {
            if cx.model.is_control_plane(w) || first_label(w, &NAME_LABELS).is_some() {
                continue;
            }
            out.push(cx.finding(
                &Self::META,
                w.object,
                &labels_pointer(w),
                format!("pod template of {} `{}` has no `app` label; telemetry will name it after the workload", w.object.kind, w.object.name),
                "Add an `app` label (or `app.kubernetes.io/name`) with the application's name to the pod template.".into(),
            ));
        }
    }
}
