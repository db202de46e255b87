//! MR0042: NetworkPolicies isolate an in-mesh pod and admit no HBONE (TCP 15008).

use std::collections::BTreeMap;

use super::helpers::{ambient, in_mesh};
use crate::finding::Finding;
use crate::istio::HBONE_PORT;
use crate::model::Membership;
use crate::model::network_policy::{isolating, network_policies, pod_ports};
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every NetworkPolicy that isolates an in-mesh pod for ingress, where no policy selecting
    /// that pod admits TCP port 15008. In-mesh pods are ambient pods, and pods with a sidecar
    /// when the input also has ambient workloads (sidecars then receive HBONE from ztunnel and
    /// waypoints too). Kubernetes NetworkPolicy semantics are followed exactly: a policy
    /// isolates the pods its `podSelector` (`matchLabels`, `matchExpressions`) selects in its
    /// namespace when `policyTypes` includes `Ingress` (the default, unless `policyTypes` lists
    /// only `Egress`); policies are additive, so one policy admitting 15008 is enough; an
    /// ingress rule without `ports` admits every port and one without `from` every source; a
    /// named port matches the pod's container port of that name; `endPort` makes a range.
    ///
    /// ## Why it matters in the mesh
    /// In ambient mode all mesh traffic between pods travels in HBONE tunnels (mTLS over HTTP/2
    /// CONNECT) that ztunnel opens to the destination pod's port 15008, whatever the
    /// application port. Kubernetes enforces NetworkPolicy on the tunnel, so a policy that
    /// admits only the application's port (say 8080) drops every mesh connection to the pod:
    /// clients see resets or timeouts although the policy looks right. Istio's docs: "Ambient
    /// and Kubernetes NetworkPolicy".
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: networking.k8s.io/v1
    /// kind: NetworkPolicy
    /// metadata: {name: web-only-8080, namespace: shop}   # shop is labelled dataplane-mode=ambient
    /// spec:
    ///   podSelector: {matchLabels: {app: web}}
    ///   ingress:
    ///   - ports: [{port: 8080}]
    /// ```
    ///
    /// ## Fix
    /// Admit TCP 15008 next to the application's ports in a policy that selects the pods, e.g.
    /// `ports: [{port: 8080}, {port: 15008, protocol: TCP}]`; the original source restrictions
    /// (`from`) can stay, since HBONE keeps the client pod's address.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ambient/usage/networkpolicy/
    /// - https://kubernetes.io/docs/concepts/services-networking/network-policies/
    pub struct HboneBlockedByNetworkPolicy {
        code: "MR0042",
        name: "hbone-blocked-by-network-policy",
        severity: Error,
        summary: "NetworkPolicies isolate an in-mesh pod and admit no HBONE traffic (TCP 15008)",
        istio_versions: "Istio 1.22 and later (ambient mode)",
    }
}

impl Rule for HboneBlockedByNetworkPolicy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let policies = network_policies(cx.model.objects);
        if policies.is_empty() || ambient(cx).next().is_none() {
            return;
        }
        // policy (index in `policies`) -> blocked workloads, as `Kind `name` (data plane)`.
        let mut blocked: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (i, w) in in_mesh(cx) {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let isolating = isolating(&policies, w);
            if isolating.is_empty() {
                continue;
            }
            let ports = pod_ports(w);
            if isolating.iter().any(|p| {
                p.ingress
                    .iter()
                    .any(|r| r.admits_port(HBONE_PORT, "TCP", &ports))
            }) {
                continue;
            }
            let plane = if cx.model.membership[i] == Membership::Ambient {
                "ambient"
            } else {
                "sidecar"
            };
            for p in isolating {
                let index = policies
                    .iter()
                    .position(|q| q.object_index == p.object_index)
                    .unwrap_or(usize::MAX);
                blocked
                    .entry(index)
                    .or_default()
                    .push(format!("{} `{}` ({plane})", w.object.kind, w.object.name));
            }
        }
        for (index, mut workloads) in blocked {
            let Some(p) = policies.get(index) else {
                continue;
            };
            workloads.sort();
            out.push(cx.finding(
                &Self::META,
                p.object,
                p.ingress_pointer(),
                format!(
                    "this policy restricts ingress to {}, and no NetworkPolicy selecting {} admits TCP {HBONE_PORT}, the port HBONE mesh traffic arrives on",
                    workloads.join(", "),
                    if workloads.len() == 1 { "its pods" } else { "their pods" },
                ),
                format!("Add an ingress rule admitting TCP port {HBONE_PORT} (for example `ports: [{{port: {HBONE_PORT}, protocol: TCP}}]`) to a NetworkPolicy that selects these pods; mesh traffic reaches them through HBONE on that port."),
            ));
        }
    }
}
