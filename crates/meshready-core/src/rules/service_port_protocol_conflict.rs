//! IST0116: Services selecting one workload use the same port number for different protocols.

use std::collections::BTreeMap;

use super::helpers::multi_port_workloads;
use crate::finding::Finding;
use crate::model::Protocol;
use crate::model::protocol::Treatment;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// For every in-mesh workload (sidecar or ambient), the ports of all Services that select it:
    /// two ports with the same number whose protocols get a different inbound treatment. The
    /// protocol is the Istio protocol that `ConvertProtocol` derives from the L4 protocol,
    /// `appProtocol` and the port name; its treatment is the filter chain the inbound listener
    /// builds for it: HTTP, HTTP2, gRPC and gRPC-Web share the HTTP chain; TLS and HTTPS are both
    /// TLS; MySQL and Redis are opaque TCP while their filters are off (Istio's default); Mongo
    /// keeps its filter. So `mysql` and `tcp` on 3306 do not conflict, `http` and `tcp` do.
    /// Ports whose protocol Istio auto-detects are not declared and conflict with nothing; UDP
    /// and SCTP ports are not proxied, so 53/TCP next to 53/UDP is fine.
    ///
    /// ## Why it matters in the mesh
    /// "If a pod belongs to multiple Kubernetes services, the services cannot use the same port
    /// number for different protocols, for instance HTTP and TCP." The sidecar builds one
    /// listener per port; one of the two protocols silently wins. istioctl's IST0116 compares only
    /// the Kubernetes `protocol` field (TCP/UDP), so it misses the documented example (HTTP vs TCP
    /// by port name) and flags the harmless DNS pair. meshready deliberately compares inbound
    /// treatments instead: unlike istioctl it reports `http` vs `tcp` on one number, and it
    /// stays silent on pairs the listener treats alike (`mysql` and `tcp`, `tls` and `https`,
    /// `http` and `grpc`), and on 53/TCP + 53/UDP.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: details-tcp}
    /// spec: {selector: {app: details}, ports: [{name: tcp, port: 9080}]}
    /// ---
    /// kind: Service
    /// metadata: {name: details-http}
    /// spec: {selector: {app: details}, ports: [{name: http, port: 9080}]}
    /// ```
    ///
    /// ## Fix
    /// Give the port one protocol in every Service that selects the workload (rename the port
    /// or set the same `appProtocol`), or move one Service to another port number.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0116/
    pub struct ServicePortProtocolConflict {
        code: "IST0116",
        name: "service-port-protocol-conflict",
        severity: Warning,
        summary: "Services selecting one workload use the same port number with different protocols",
        istio_versions: "all Istio versions",
    }
}

impl Rule for ServicePortProtocolConflict {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in multi_port_workloads(cx) {
            let mut by_port: BTreeMap<i64, Vec<(String, Protocol)>> = BTreeMap::new();
            for s in cx.model.services_of(i) {
                for p in s
                    .ports
                    .iter()
                    .filter(|p| p.l4 != "UDP" && p.l4 != "SCTP" && !p.protocol.is_unsupported())
                {
                    by_port
                        .entry(p.port)
                        .or_default()
                        .push((s.full_name(), p.protocol));
                }
            }
            for (port, mut uses) in by_port {
                uses.sort();
                uses.dedup();
                let mut treatments: Vec<Treatment> = uses.iter().map(|u| u.1.treatment()).collect();
                treatments.sort();
                treatments.dedup();
                if treatments.len() < 2 {
                    continue;
                }
                let detail: Vec<String> = uses.iter().map(|(s, p)| format!("{s} ({p})")).collect();
                let pointer = if w.meta.get("labels").is_some() {
                    w.pointer("/metadata/labels")
                } else {
                    w.pointer("")
                };
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &pointer,
                    format!("port {port} gets different inbound treatments ({}) in the Services selecting {} `{}`: {}", join_treatments(&treatments), w.object.kind, w.object.name, detail.join(", ")),
                    format!("Declare one protocol for port {port} in every Service that selects these pods (same port name prefix or appProtocol), or use different port numbers."),
                ));
            }
        }
    }
}

/// `HTTP vs opaque TCP`.
pub(crate) fn join_treatments(treatments: &[Treatment]) -> String {
    treatments
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" vs ")
}
