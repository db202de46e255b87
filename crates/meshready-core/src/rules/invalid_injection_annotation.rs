//! MR0045: a pod annotation value that Istio's injector refuses, so the pod is never created.

use crate::admission::validate;
use crate::finding::Finding;
use crate::model::Membership;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::node::escape;

declare_rule! {
    /// ## What it checks
    /// Every annotation of an in-mesh pod template that Istio's sidecar injector validates
    /// before it injects (`pkg/kube/inject/validate.go`): the
    /// `traffic.sidecar.istio.io/*` port lists (`includeInboundPorts` may be `*`, the others
    /// may not), IP ranges (`includeOutboundIPRanges` may be `*`; every other entry must be
    /// `address/bits`) and interface names (`excludeInterfaces`, `kubevirtInterfaces`,
    /// `istio.io/reroute-virtual-interfaces`), `sidecar.istio.io/interceptionMode`
    /// (`REDIRECT`, `TPROXY` or `NONE`), `status.sidecar.istio.io/port` and the
    /// `readiness.status.sidecar.istio.io/*` numbers, the proxy's CPU and memory quantities
    /// (`sidecar.istio.io/proxyCPU`, `proxyMemory`, `proxyCPULimit`, `proxyMemoryLimit`),
    /// `proxy.istio.io/config` and `prometheus.istio.io/merge-metrics`. The finding points at
    /// the value.
    ///
    /// ## Why it matters in the mesh
    /// The injector answers such a pod with an error (`injection failed due to invalid
    /// annotations`). With the webhook's default `failurePolicy: Fail` the API server refuses
    /// every pod of the workload (`FailedCreate` on the ReplicaSet) while the Deployment itself
    /// is accepted; with `Ignore` the pods start without a sidecar.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     traffic.sidecar.istio.io/excludeOutboundPorts: "*"
    /// ```
    ///
    /// ## Fix
    /// Write the value as the injector expects it: comma-separated port numbers
    /// (`"8080,9090"`), CIDR ranges (`"10.0.0.0/8"`), or one of the listed words.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/annotations/
    /// - https://github.com/istio/istio/blob/master/pkg/kube/inject/validate.go
    pub struct InvalidInjectionAnnotation {
        code: "MR0045",
        name: "invalid-injection-annotation",
        severity: Error,
        summary: "a pod annotation value that Istio's injector refuses, so the pod is never created",
        istio_versions: "all Istio versions (the interface-name checks since 1.29)",
    }
}

impl Rule for InvalidInjectionAnnotation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in cx.model.workloads.iter().enumerate() {
            if !matches!(cx.model.membership[i], Membership::Injected(_))
                || cx.model.is_control_plane(w)
            {
                continue;
            }
            let Some(annotations) = w.meta.get("annotations") else {
                continue;
            };
            let json = annotations.to_json();
            let Some(map) = json.as_object() else {
                continue;
            };
            for invalid in validate::validate_annotations(map) {
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &w.pointer(&format!(
                        "/metadata/annotations/{}",
                        escape(&invalid.annotation)
                    )),
                    format!(
                        "the injector refuses {} {:?}: {}",
                        invalid.annotation, invalid.value, invalid.reason
                    ),
                    format!(
                        "Fix the value of `{}`; until then Istio's injector refuses every pod of this workload.",
                        invalid.annotation
                    ),
                ));
            }
        }
    }
}
