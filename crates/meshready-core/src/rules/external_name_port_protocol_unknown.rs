//! IST0150: an ExternalName Service port whose protocol Istio cannot derive.

use super::helpers::skip_service;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Ports of `type: ExternalName` Services whose Istio protocol cannot be derived, or that are
    /// named exactly `tcp` (as istioctl checks).
    ///
    /// ## Why it matters in the mesh
    /// For ExternalName Services the sidecar may refuse to forward TCP traffic on a port whose
    /// protocol it has to guess, and plain `tcp` ports and unmatched traffic may not be forwarded
    /// correctly.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   type: ExternalName
    ///   externalName: db.example.com
    ///   ports: [{name: db, port: 5432}]
    /// ```
    ///
    /// ## Fix
    /// Name the port with its real protocol (`tls-db`, `https`, `tcp-db`) or set `appProtocol`.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0150/
    pub struct ExternalNamePortProtocolUnknown {
        code: "IST0150",
        name: "external-name-port-protocol-unknown",
        severity: Warning,
        summary: "an ExternalName Service port has no usable protocol name",
        istio_versions: "Istio 1.16 and later",
    }
}

impl Rule for ExternalNamePortProtocolUnknown {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for s in cx
            .model
            .services
            .iter()
            .filter(|s| s.service_type == "ExternalName")
        {
            if skip_service(s) {
                continue;
            }
            for p in s
                .ports
                .iter()
                .filter(|p| p.protocol.is_unsupported() || p.name == "tcp")
            {
                let pointer = if p.name.is_empty() {
                    format!("/spec/ports/{}", p.index)
                } else {
                    format!("/spec/ports/{}/name", p.index)
                };
                out.push(cx.finding(
                    &Self::META,
                    s.object,
                    &pointer,
                    format!("port {} ({}) of an ExternalName Service has no usable protocol; the proxy may not forward its traffic", p.port, if p.name.is_empty() { "unnamed" } else { p.name }),
                    "Name the port after its real protocol (for example `tls-db` or `https`) or set `appProtocol`.".into(),
                ));
            }
        }
    }
}
