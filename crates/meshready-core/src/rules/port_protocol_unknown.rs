//! IST0118: a Service port whose protocol Istio cannot derive.

use super::helpers::skip_service;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every port of every Service outside the system namespaces (kube-system, kube-public,
    /// kube-node-lease, local-path-storage) whose Istio protocol cannot be derived: the name has
    /// no `<protocol>[-<suffix>]` form and there is no `appProtocol` (UDP ports and the
    /// server-first ports 25, 53, 3306 and 27017 always resolve). Istio's control plane and
    /// Istio-managed gateways are skipped. ExternalName Services get IST0150 instead.
    ///
    /// ## Why it matters in the mesh
    /// Clients everywhere in the mesh treat the Service by its port protocol, so this applies
    /// whether or not the Service's own pods are injected. Without a declared protocol Istio
    /// sniffs it, which adds latency to the first bytes and breaks server-first protocols.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - port: 8080        # unnamed
    /// - name: web         # not a protocol
    ///   port: 8081
    /// ```
    ///
    /// ## Fix
    /// Name the port `<protocol>[-<suffix>]` (`http`, `http2`, `grpc`, `tcp`, `tls`, ...) or set
    /// `appProtocol`.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0118/
    pub struct PortProtocolUnknown {
        code: "IST0118",
        name: "port-protocol-unknown",
        severity: Info,
        summary: "a Service port has neither a protocol-prefixed name nor appProtocol",
        istio_versions: "all Istio versions (explicit naming required before 1.3's protocol sniffing)",
    }
}

impl Rule for PortProtocolUnknown {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for s in &cx.model.services {
            if skip_service(s) || s.service_type == "ExternalName" {
                continue;
            }
            for p in s.ports.iter().filter(|p| p.protocol.is_unsupported()) {
                let (pointer, what) = if p.name.is_empty() {
                    (
                        format!("/spec/ports/{}", p.index),
                        format!("port {} has no name", p.port),
                    )
                } else {
                    (
                        format!("/spec/ports/{}/name", p.index),
                        format!(
                            "port name `{}` (port {}) does not name a protocol",
                            p.name, p.port
                        ),
                    )
                };
                out.push(cx.finding(
                    &Self::META,
                    s.object,
                    &pointer,
                    format!("{what}; Istio will auto-detect the protocol"),
                    format!("Name the port `<protocol>[-<suffix>]` (for example `http-{}`) or set `appProtocol`.", p.port),
                ));
            }
        }
    }
}
