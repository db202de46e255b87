//! MR0001: Services reach one container port with different protocols.

use std::collections::BTreeMap;

use super::helpers::multi_port_workloads;
use crate::finding::Finding;
use crate::model::protocol::Treatment;
use crate::model::{Protocol, resolve_target};
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// For every in-mesh workload, each port of every Service that selects it is resolved to the
    /// container port it reaches (a numeric `targetPort` as is; a named one to the container port
    /// of that name and L4 protocol, as the EndpointSlice controller does). Two Service ports with
    /// different numbers that reach the same container port with declared protocols that get a
    /// different inbound treatment are reported: HTTP, HTTP2, gRPC and gRPC-Web share the HTTP
    /// chain; TLS and HTTPS are both TLS; MySQL and Redis are opaque TCP while their filters are
    /// off (Istio's default); Mongo keeps its filter. So 443 `tls` and 8443 `https` to one
    /// container port are fine. (The same Service port number with different protocols is
    /// IST0116.) Applies to sidecar and ambient workloads alike.
    ///
    /// ## Why it matters in the mesh
    /// The sidecar's inbound listener is per container port: when one Service calls port 8080
    /// `http` and another calls it `tcp`, Istio picks one protocol for the listener and the other
    /// Service's clients get the wrong treatment (HTTP routing applied to opaque TCP, or no HTTP
    /// features at all). Protocols that the listener treats alike do not conflict. istioctl does
    /// not check this.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: web}
    /// spec: {selector: {app: shop}, ports: [{name: http, port: 80, targetPort: app}]}
    /// ---
    /// kind: Service
    /// metadata: {name: web-raw}
    /// spec: {selector: {app: shop}, ports: [{name: tcp, port: 9000, targetPort: 8080}]}
    /// # ... and the pod declares `ports: [{name: app, containerPort: 8080}]`
    /// ```
    ///
    /// ## Fix
    /// Use one protocol for the container port in every Service that reaches it.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/
    /// - https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
    pub struct TargetPortProtocolConflict {
        code: "MR0001",
        name: "target-port-protocol-conflict",
        severity: Warning,
        summary: "Services reach one container port with different protocols",
        istio_versions: "all Istio versions",
    }
}

/// Container port → (pointer of its declaration, [(service, service port, protocol)]).
type ByTarget = BTreeMap<i64, (Option<String>, Vec<(String, i64, Protocol)>)>;

impl Rule for TargetPortProtocolConflict {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in multi_port_workloads(cx) {
            // container port -> (pointer of its declaration, [(service, service port, protocol)])
            let mut by_target: ByTarget = BTreeMap::new();
            for s in cx.model.services_of(i) {
                for p in s
                    .ports
                    .iter()
                    .filter(|p| p.l4 != "UDP" && p.l4 != "SCTP" && !p.protocol.is_unsupported())
                {
                    let Some(resolved) = resolve_target(p, w) else {
                        continue;
                    };
                    let entry = by_target.entry(resolved.number).or_default();
                    entry.0 = entry.0.take().or(resolved.pointer);
                    entry.1.push((s.full_name(), p.port, p.protocol));
                }
            }
            for (number, (pointer, mut uses)) in by_target {
                uses.sort();
                uses.dedup();
                let mut treatments: Vec<Treatment> = uses.iter().map(|u| u.2.treatment()).collect();
                treatments.sort();
                treatments.dedup();
                let mut service_ports: Vec<i64> = uses.iter().map(|u| u.1).collect();
                service_ports.sort_unstable();
                service_ports.dedup();
                if treatments.len() < 2 || service_ports.len() < 2 {
                    continue;
                }
                let detail: Vec<String> = uses
                    .iter()
                    .map(|(s, port, proto)| format!("{s}:{port} ({proto})"))
                    .collect();
                let pointer = pointer.unwrap_or_else(|| w.pointer("/metadata/labels"));
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &pointer,
                    format!("container port {number} is reached with different inbound treatments ({}): {}", super::service_port_protocol_conflict::join_treatments(&treatments), detail.join(", ")),
                    format!("Give container port {number} one protocol in every Service port that targets it (port name prefix or appProtocol)."),
                ));
            }
        }
    }
}
