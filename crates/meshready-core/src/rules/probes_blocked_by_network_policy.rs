//! MR0043: NetworkPolicies isolate an ambient pod and admit no kubelet probe from 169.254.7.127.

use std::net::IpAddr;

use super::helpers::ambient;
use crate::finding::Finding;
use crate::istio::AMBIENT_PROBE_SOURCE;
use crate::model::network_policy::{isolating, network_policies, pod_ports};
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::Node;

declare_rule! {
    /// ## What it checks
    /// Every HTTP (`httpGet`), TCP (`tcpSocket`) and gRPC (`grpc`) liveness, readiness and
    /// startup probe of an ambient pod that NetworkPolicies isolate for ingress: the probe is
    /// reported when no ingress rule of the policies selecting the pod admits traffic from
    /// 169.254.7.127 to the probe's port. A rule admits that address when it has no `from`, or an
    /// `ipBlock` whose `cidr` contains it and whose `except` does not; pod and namespace
    /// selectors never match it. Ports follow NetworkPolicy semantics (no `ports` = every port,
    /// named ports, `endPort` ranges); a named probe port is resolved in its container. Probes
    /// that name another `host`, and `exec` probes, are not affected.
    ///
    /// ## Why it matters in the mesh
    /// In ambient mode the Istio CNI agent rewrites the source of the kubelet's probes to the
    /// link-local address 169.254.7.127, so that ztunnel can tell them from mesh traffic and let
    /// them through in plaintext. A NetworkPolicy that admits only pod or namespace selectors
    /// (or an `ipBlock` excluding link-local addresses) now drops the probes: readiness never
    /// turns true, liveness probes fail and the kubelet restarts the container. Istio's docs:
    /// "Ambient and Kubernetes NetworkPolicy".
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: from-frontend, namespace: shop}   # an ambient namespace
    /// spec:
    ///   podSelector: {matchLabels: {app: web}}
    ///   ingress:
    ///   - from: [{podSelector: {matchLabels: {app: frontend}}}]
    /// # ... while the web pods declare `readinessProbe: {httpGet: {port: 8080}}`
    /// ```
    ///
    /// ## Fix
    /// Admit the probe source in a policy that selects the pods:
    /// `from: [{ipBlock: {cidr: 169.254.7.127/32}}]` with the probe's port.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ambient/usage/networkpolicy/
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/
    pub struct ProbesBlockedByNetworkPolicy {
        code: "MR0043",
        name: "probes-blocked-by-network-policy",
        severity: Warning,
        summary: "NetworkPolicies isolate an ambient pod and block its kubelet probes (from 169.254.7.127)",
        istio_versions: "Istio 1.22 and later (ambient mode)",
    }
}

const PROBES: [&str; 3] = ["livenessProbe", "readinessProbe", "startupProbe"];

impl Rule for ProbesBlockedByNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let policies = network_policies(cx.model.objects);
        if policies.is_empty() {
            return;
        }
        let source = IpAddr::V4(AMBIENT_PROBE_SOURCE);
        for (_, w) in ambient(cx) {
            let isolating = isolating(&policies, w);
            if isolating.is_empty() {
                continue;
            }
            let ports = pod_ports(w);
            for c in w.app_containers() {
                for probe in PROBES {
                    let Some((handler, port)) = probe_port(c.node, probe) else {
                        continue;
                    };
                    let admitted = isolating.iter().any(|p| {
                        p.ingress
                            .iter()
                            .any(|r| r.admits_port(port, "TCP", &ports) && r.admits_source(source))
                    });
                    if admitted {
                        continue;
                    }
                    let names: Vec<String> = isolating
                        .iter()
                        .map(|p| format!("`{}`", p.object.name))
                        .collect();
                    out.push(cx.finding(
                        &Self::META,
                        w.object,
                        &w.container_pointer(&c, &format!("/{probe}/{handler}/port")),
                        format!(
                            "{probe} of container `{}` (port {port}) is blocked: NetworkPolicy {} {} ingress to this ambient pod and admit{} no traffic from {AMBIENT_PROBE_SOURCE}, the source of ambient kubelet probes, to port {port}",
                            c.name,
                            names.join(", "),
                            if names.len() == 1 { "restricts" } else { "restrict" },
                            if names.len() == 1 { "s" } else { "" },
                        ),
                        format!("Admit `ipBlock: {{cidr: {AMBIENT_PROBE_SOURCE}/32}}` to port {port} in a NetworkPolicy that selects these pods; in ambient mode the kubelet's probes arrive from that address."),
                    ));
                }
            }
        }
    }
}

/// The handler (`httpGet`, `tcpSocket`, `grpc`) and port number of a container's probe, when it
/// probes the pod itself on a port that resolves.
fn probe_port(container: &Node, probe: &str) -> Option<(&'static str, i64)> {
    let probe = container.get(probe)?;
    let (handler, node) = ["httpGet", "tcpSocket", "grpc"]
        .into_iter()
        .find_map(|h| probe.get(h).map(|n| (h, n)))?;
    if node
        .get("host")
        .and_then(Node::as_str)
        .is_some_and(|h| !h.is_empty())
    {
        return None;
    }
    let port = node.get("port")?;
    let number = match port.as_i64() {
        Some(n) => n,
        None => {
            let name = port.as_str()?;
            match name.parse::<i64>() {
                Ok(n) => n,
                Err(_) => container
                    .get("ports")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .find(|p| p.get("name").and_then(Node::as_str) == Some(name))?
                    .get("containerPort")
                    .and_then(Node::as_i64)?,
            }
        }
    };
    (number > 0).then_some((handler, number))
}
