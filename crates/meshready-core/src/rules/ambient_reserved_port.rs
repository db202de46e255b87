//! MR0041: an ambient pod's port collides with a port ztunnel listens on inside the pod.

use std::collections::BTreeSet;

use super::helpers::{ambient, report_reserved_ports};
use crate::finding::Finding;
use crate::istio::ztunnel_port_use;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// In every workload on the ambient data plane, application container ports, and Service
    /// `targetPort`s that reach such a pod, on a port that ztunnel listens on inside the pod's
    /// network namespace: 15001 (outbound capture), 15006 (plaintext inbound capture), 15008
    /// (HBONE inbound) and 15053 (DNS proxy).
    ///
    /// ## Why it matters in the mesh
    /// With in-pod redirection (Istio 1.22 and later), the Istio CNI agent hands each ambient
    /// pod's network namespace to ztunnel, which opens these four listeners inside it. An
    /// application that binds one of them either fails to start (`address already in use`) or
    /// takes the port from ztunnel, which then cannot deliver the pod's mesh traffic; traffic to
    /// a Service targeting the port is redirected into ztunnel instead of reaching the
    /// application.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels: {istio.io/dataplane-mode: ambient}
    /// spec:
    ///   containers:
    ///   - name: app
    ///     ports:
    ///     - containerPort: 15008
    /// ```
    ///
    /// ## Fix
    /// Move the application to a port outside 15001, 15006, 15008 and 15053, and point the
    /// Service's `targetPort` at it.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ambient/architecture/traffic-redirection/
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
    pub struct AmbientReservedPort {
        code: "MR0041",
        name: "ambient-reserved-port",
        severity: Error,
        summary: "an ambient pod's port collides with a port ztunnel listens on inside the pod",
        istio_versions: "Istio 1.22 and later (ambient in-pod redirection)",
    }
}

impl Rule for AmbientReservedPort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let mut reported = BTreeSet::new();
        for (i, w) in ambient(cx) {
            let (kind, name) = (&w.object.kind, &w.object.name);
            report_reserved_ports(
                cx,
                out,
                &Self::META,
                (i, w),
                ztunnel_port_use,
                &mut reported,
                &|container, port, what| {
                    (
                        format!(
                            "container `{container}` of ambient {kind} `{name}` uses port {port}, where ztunnel listens inside the pod ({what})"
                        ),
                        format!(
                            "Move the application off port {port}; ztunnel listens on it inside every ambient pod."
                        ),
                    )
                },
                &|service_port, port, what| {
                    (
                        format!(
                            "port `{service_port}` targets port {port} of ambient {kind} `{name}`, where ztunnel listens inside the pod ({what})"
                        ),
                        format!(
                            "Point the Service at the application's real port; port {port} belongs to ztunnel in ambient pods."
                        ),
                    )
                },
            );
        }
    }
}
