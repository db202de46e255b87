//! IST0117: an in-mesh workload that no Service selects.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every workload whose pods get a sidecar (Deployment, StatefulSet, DaemonSet, ReplicaSet and
    /// ReplicationController without an owner, Job, CronJob, bare Pod, DeploymentConfig, Argo
    /// Rollout) must be selected by at least one Service of its namespace. Pods of operators
    /// that create the Services of their pods themselves (JobSet, LeaderWorkerSet, KubeRay,
    /// Kubeflow training jobs, Knative) are not reported: those Services are not in manifests.
    ///
    /// ## Why it matters in the mesh
    /// Istio's "Pods and Services" requirements say a pod must belong to at least one Kubernetes
    /// Service, even if it exposes no port: the Service gives the workload its identity in the
    /// service registry, and inbound traffic is configured per Service port. istioctl retired
    /// IST0117 in Istio 1.20 and only ever checked Deployments; meshready revives it for every
    /// workload kind under the same code, so existing suppressions carry over.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: apps/v1
    /// kind: Deployment
    /// metadata: {name: ratings}
    /// spec:
    ///   template:
    ///     metadata:
    ///       labels: {app: ratings}   # no Service selects app=ratings
    /// ```
    ///
    /// ## Fix
    /// Add a Service in the same namespace whose `spec.selector` matches the pod template's
    /// labels. For a client-only workload a Service with a single named port is enough (Istio's
    /// own `sleep` and `curl` samples do this).
    ///
    /// ## References
    /// - https://istio.io/v1.17/docs/ops/deployment/requirements/
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0117/
    pub struct WorkloadWithoutService {
        code: "IST0117",
        name: "workload-without-service",
        severity: Warning,
        summary: "an in-mesh workload is not selected by any Service",
        istio_versions: "required by Istio up to 1.19; recommended since (the requirement was dropped from the docs in 1.20)",
        version_dependence: "a warning up to Istio 1.19 (a requirement), an info from 1.20 (a recommendation); the version comes from --istio-version, the istiod image or injector ConfigMap in the input, else the newest",
    }
}

impl Rule for WorkloadWithoutService {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in cx.model.meshed() {
            if cx.model.is_control_plane(w)
                || w.label("gateway.istio.io/managed").is_some()
                || crate::source::kinds::builtin(&w.object.kind, &w.object.api_version)
                    .is_some_and(|b| b.operator_services)
            {
                continue;
            }
            if cx.model.services_of(i).next().is_some() {
                continue;
            }
            let pointer = if w.meta.get("labels").is_some() {
                w.pointer("/metadata/labels")
            } else {
                w.pointer("/metadata")
            };
            let mut finding = cx.finding(
                &Self::META,
                w.object,
                &pointer,
                format!("no Service in namespace `{}` selects the pods of {} `{}`", w.object.namespace, w.object.kind, w.object.name),
                "Create a Service in the same namespace whose selector matches these pod labels, or suppress IST0117 for a workload that nothing calls.".into(),
            );
            version_severity(cx, &mut finding);
            out.push(finding);
        }
    }
}

/// The Istio version from which a Service is a recommendation, no longer a requirement.
const RECOMMENDATION_SINCE: u32 = 20;

/// A warning up to Istio 1.19, where every workload needed a Service; an info from 1.20,
/// where it became a recommendation. The message says which applies.
fn version_severity(cx: &Ctx<'_, '_>, finding: &mut Finding) {
    let version = cx.model.inject.istio_version;
    if version >= RECOMMENDATION_SINCE {
        finding.severity = crate::finding::Severity::Info;
        finding.message.push_str(&format!(
            " (a recommendation since Istio 1.{RECOMMENDATION_SINCE}, a requirement before; Istio 1.{version} assumed)"
        ));
    } else {
        finding.message.push_str(&format!(
            " (Istio 1.{version} requires a Service for every workload in the mesh)"
        ));
    }
}
