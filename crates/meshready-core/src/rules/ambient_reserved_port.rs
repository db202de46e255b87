//! MR0041: an ambient pod's port collides with a port ztunnel listens on inside the pod.

use std::collections::BTreeSet;

use super::helpers::ambient;
use crate::finding::Finding;
use crate::istio::ztunnel_port_use;
use crate::model::resolve_target;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::Node;

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
        let mut reported_service_ports = BTreeSet::new();
        for (i, w) in ambient(cx) {
            for c in w.app_containers() {
                for (j, p) in c
                    .node
                    .get("ports")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    let Some(port) = p.get("containerPort").and_then(Node::as_i64) else {
                        continue;
                    };
                    let Some(what) = ztunnel_port_use(port) else {
                        continue;
                    };
                    out.push(cx.finding(
                        &Self::META,
                        w.object,
                        &w.container_pointer(&c, &format!("/ports/{j}/containerPort")),
                        format!("container `{}` of ambient {} `{}` uses port {port}, where ztunnel listens inside the pod ({what})", c.name, w.object.kind, w.object.name),
                        format!("Move the application off port {port}; ztunnel listens on it inside every ambient pod."),
                    ));
                }
            }
            for s in cx.model.services_of(i) {
                for p in &s.ports {
                    let Some(resolved) = resolve_target(p, w) else {
                        continue;
                    };
                    let Some(what) = ztunnel_port_use(resolved.number) else {
                        continue;
                    };
                    // A declared container port is reported above, at the container.
                    if resolved.pointer.is_some()
                        || !reported_service_ports.insert((s.object_index, p.index))
                    {
                        continue;
                    }
                    out.push(cx.finding(
                        &Self::META,
                        s.object,
                        &format!("/spec/ports/{}/targetPort", p.index),
                        format!("port `{}` targets port {} of ambient {} `{}`, where ztunnel listens inside the pod ({what})", p.name, resolved.number, w.object.kind, w.object.name),
                        format!("Point the Service at the application's real port; port {} belongs to ztunnel in ambient pods.", resolved.number),
                    ));
                }
            }
        }
    }
}
