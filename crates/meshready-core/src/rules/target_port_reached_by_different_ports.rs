//! IST0137: the same targetPort is reached through different Service ports.

use std::collections::{BTreeMap, BTreeSet};

use super::helpers::multi_port_workloads;
use crate::finding::Finding;
use crate::model::protocol::Treatment;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// For every in-mesh workload (sidecar or ambient), the Services selecting it: one
    /// `targetPort` (compared as text, an absent or zero targetPort meaning the port number,
    /// exactly as istioctl does) reached through different Service port numbers whose protocols
    /// get a different inbound treatment (HTTP, HTTP2, gRPC and gRPC-Web share the HTTP chain;
    /// TLS and HTTPS are both TLS; MySQL and Redis are opaque TCP while their filters are off;
    /// Mongo keeps its filter; an undeclared protocol is auto-detected).
    ///
    /// ## Why it matters in the mesh
    /// "Two services selecting the same workload with the same targetPort MUST refer to the same
    /// port." Istio keys inbound configuration by Service port; two Service ports on one target
    /// give two definitions of the same inbound endpoint, which conflict when they ask for
    /// different treatment. istioctl reports every such pair, even when both ports declare the
    /// same treatment (443 `tls` and 8443 `https` to one targetPort, a common pattern); meshready
    /// deliberately reports only pairs that the inbound listener would treat differently.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Service
    /// metadata: {name: a}
    /// spec: {selector: {app: x}, ports: [{name: http, port: 9080}]}
    /// ---
    /// kind: Service
    /// metadata: {name: b}
    /// spec: {selector: {app: x}, ports: [{name: tcp, port: 9090, targetPort: 9080}]}
    /// ```
    ///
    /// ## Fix
    /// Expose the target port through the same Service port number in every Service.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0137/
    pub struct TargetPortReachedByDifferentPorts {
        code: "IST0137",
        name: "target-port-reached-by-different-ports",
        severity: Warning,
        summary: "one targetPort is reached through different Service port numbers",
        istio_versions: "all Istio versions",
    }
}

/// targetPort → (Service port numbers, Services, treatments).
type ByTarget = BTreeMap<String, (BTreeSet<i64>, BTreeSet<String>, BTreeSet<Treatment>)>;

impl Rule for TargetPortReachedByDifferentPorts {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in multi_port_workloads(cx) {
            let mut by_target: ByTarget = BTreeMap::new();
            for s in cx.model.services_of(i) {
                for p in &s.ports {
                    let entry = by_target.entry(p.target.text()).or_default();
                    entry.0.insert(p.port);
                    entry.1.insert(s.full_name());
                    entry.2.insert(p.protocol.treatment());
                }
            }
            for (target, (ports, services, treatments)) in by_target {
                if ports.len() < 2 || treatments.len() < 2 {
                    continue;
                }
                let ports: Vec<String> = ports.iter().map(ToString::to_string).collect();
                let services: Vec<String> = services.into_iter().collect();
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &super::helpers::labels_pointer(w),
                    format!("targetPort {target:?} is reached through different ports ({}) with different inbound treatments ({}) by Services {}", ports.join(", "), treatments.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(" vs "), services.join(", ")),
                    format!("Expose targetPort {target:?} through one Service port number in every Service that selects these pods."),
                ));
            }
        }
    }
}
