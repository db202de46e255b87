//! IST0103: on a live cluster, a pod in an injected namespace runs without the sidecar.

use crate::finding::Finding;
use crate::model::Membership;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Only on a live cluster (`meshready cluster`, `meshready webhook` with cluster context):
    /// running Pods that Istio's injector should have injected but that have no `istio-proxy`
    /// container. In manifests (`meshready check`) pods are described before injection, so the
    /// rule does not apply there — a deliberate difference from istioctl, which reports IST0103
    /// on manifest Pods too.
    ///
    /// ## Why it matters in the mesh
    /// The pod was created before the namespace was labelled, or before the injector was ready,
    /// so it is outside the mesh while everything says it is in: no mTLS, no policy.
    ///
    /// ## Example
    /// A pod in a namespace labelled `istio-injection=enabled` with only its application
    /// container.
    ///
    /// ## Fix
    /// Restart the workload (`kubectl rollout restart deployment/<name>`) so that new pods are
    /// injected.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0103/
    pub struct PodMissingProxy {
        code: "IST0103",
        name: "pod-missing-proxy",
        severity: Warning,
        summary: "a running pod in an injected namespace has no sidecar",
        istio_versions: "all Istio versions",
    }
}

impl Rule for PodMissingProxy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        if !cx.model.settings.live {
            return;
        }
        for (i, w) in cx.model.workloads.iter().enumerate() {
            if w.object.kind != "Pod" || !matches!(cx.model.membership[i], Membership::Injected(_))
            {
                continue;
            }
            if cx
                .model
                .namespaces
                .get(w.object.namespace.as_str())
                .is_none()
            {
                continue;
            }
            out.push(cx.finding(
                &Self::META,
                w.object,
                "/spec/containers",
                format!("pod `{}/{}` is missing the Istio proxy", w.object.namespace, w.object.name),
                "Restart the workload that owns this pod so that the injector adds the sidecar.".into(),
            ));
        }
    }
}
