//! MR0002: an application port collides with a port the sidecar binds inside the pod.

use std::collections::BTreeSet;

use super::helpers::report_reserved_ports;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// In every workload with a sidecar, application container ports, and Service `targetPort`s
    /// that reach such a pod, on a port the sidecar binds inside the pod, as Istio's "Ports used
    /// by Istio" table lists them: 15000 (Envoy admin), 15001 (outbound capture), 15004 (debug),
    /// 15006 (inbound capture), 15008 (HBONE mTLS tunnel), 15009 (HBONE for secure networks),
    /// 15020 (merged metrics), 15021 (health), 15053 (DNS proxy), 15090 (Envoy metrics). The
    /// list is the same for every Istio release meshready supports (1.20 and later).
    ///
    /// Not reported: 15002, which only `istio-validation` binds, before any application
    /// container starts; istiod's ports (15010, 15012, 15014, 15017, 8080, 443) and the
    /// gateways' 15443, which are not bound in application pods (Istio's own httpbin sample
    /// listens on 8080); ambient pods, whose reserved ports are MR0041's; Istio's own
    /// components.
    ///
    /// ## Why it matters in the mesh
    /// The sidecar shares the pod's network namespace: an application on one of these ports
    /// either fails to bind, or steals the proxy's port; istiod also silently drops inbound
    /// listeners that conflict with the proxy's static listeners.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: app
    ///   ports:
    ///   - containerPort: 15090
    /// ```
    ///
    /// ## Fix
    /// Move the application to a port outside Istio's list.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#ports-used-by-istio
    /// - istio/istio `pilot/cmd/pilot-agent/status/server.go` (`istioReservedPorts`)
    pub struct ReservedSidecarPort {
        code: "MR0002",
        name: "reserved-sidecar-port",
        severity: Error,
        summary: "an application port collides with a port the sidecar binds in the pod",
        istio_versions: "all Istio versions (the same ten ports from 1.20 to the newest release)",
    }
}

pub use crate::istio::SIDECAR_PORTS;
use crate::istio::sidecar_port_use as sidecar_use;

impl Rule for ReservedSidecarPort {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let mut reported = BTreeSet::new();
        for (i, w) in cx.model.meshed() {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let (kind, name) = (&w.object.kind, &w.object.name);
            report_reserved_ports(
                cx,
                out,
                &Self::META,
                (i, w),
                sidecar_use,
                &mut reported,
                &|container, port, what| {
                    (
                        format!(
                            "container `{container}` uses port {port}, which the sidecar binds ({what})"
                        ),
                        format!(
                            "Move the application off port {port}; Istio's sidecar binds it inside every injected pod."
                        ),
                    )
                },
                &|service_port, port, what| {
                    (
                        format!(
                            "port `{service_port}` targets port {port} of in-mesh {kind} `{name}`, which the sidecar binds ({what})"
                        ),
                        format!(
                            "Point the Service at the application's real port; port {port} belongs to the sidecar."
                        ),
                    )
                },
            );
        }
    }
}
