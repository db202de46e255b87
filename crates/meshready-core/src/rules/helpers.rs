//! Helpers shared by several rules.

use crate::finding::Finding;
use crate::model::{Membership, Workload, is_istio_control_plane};
use crate::rule::{Ctx, RuleMeta};
use crate::source::Node;

/// Reports every place whose effective `field` is 1337.
pub(crate) fn check_proxy_id(
    cx: &Ctx<'_, '_>,
    out: &mut Vec<Finding>,
    meta: &'static RuleMeta,
    field: &str,
    what: &str,
    fix: &str,
) {
    for (_, w) in cx.model.meshed() {
        if cx.model.is_control_plane(w) {
            continue;
        }
        // The proxy's real ID: the top of the namespace's range on OpenShift, else 1337.
        let ids = crate::admission::inject::workload_proxy_ids(cx.model, w);
        let (proxy_id, source) = if field == "runAsGroup" {
            (ids.gid, ids.gid_source)
        } else {
            (ids.uid, ids.uid_source)
        };
        let whose = if proxy_id == crate::model::injector::DEFAULT_PROXY_ID {
            "the sidecar proxy's".to_string()
        } else {
            format!("the sidecar proxy's ({source})")
        };
        let pod_level = w
            .spec
            .at(&["securityContext", field])
            .and_then(Node::as_i64);
        let mut inheriting = Vec::new();
        for c in w.app_containers() {
            match c
                .node
                .at(&["securityContext", field])
                .and_then(Node::as_i64)
            {
                Some(id) if id == proxy_id => out.push(cx.finding(
                    meta,
                    w.object,
                    &w.container_pointer(&c, &format!("/securityContext/{field}")),
                    format!(
                        "container `{}` runs with {what} {proxy_id}, {whose}",
                        c.name
                    ),
                    fix.replace("1337", &proxy_id.to_string()),
                )),
                Some(_) => {}
                None if pod_level == Some(proxy_id) => inheriting.push(format!("`{}`", c.name)),
                None => {}
            }
        }
        if !inheriting.is_empty() {
            out.push(cx.finding(
                meta,
                w.object,
                &w.pointer(&format!("/spec/securityContext/{field}")),
                format!(
                    "the pod's securityContext runs containers {} with {what} {proxy_id}, {whose}",
                    inheriting.join(", ")
                ),
                fix.replace("1337", &proxy_id.to_string()),
            ));
        }
    }
}

/// Label keys Istio reads a workload's canonical name from, in order of precedence.
pub(crate) const NAME_LABELS: [&str; 3] = [
    "service.istio.io/canonical-name",
    "app.kubernetes.io/name",
    "app",
];
/// Label keys Istio reads a workload's canonical revision from, in order of precedence.
pub(crate) const VERSION_LABELS: [&str; 3] = [
    "service.istio.io/canonical-revision",
    "app.kubernetes.io/version",
    "version",
];

/// The first of `keys` that the pod template labels carry, with its value.
pub(crate) fn first_label<'a>(
    w: &Workload<'a>,
    keys: &[&'static str],
) -> Option<(&'static str, std::borrow::Cow<'a, str>)> {
    keys.iter().find_map(|k| w.label(k).map(|v| (*k, v)))
}

/// The pointer to the template's labels, or to its metadata when it has none.
pub(crate) fn labels_pointer(w: &Workload<'_>) -> String {
    if w.meta.get("labels").is_some() {
        w.pointer("/metadata/labels")
    } else {
        w.pointer("/metadata")
    }
}

/// Services the port-naming rules skip: system namespaces, Istio's control plane, and gateways
/// that Istio manages (as `service.PortNameAnalyzer` does).
pub(crate) fn skip_service(s: &crate::model::Service<'_>) -> bool {
    crate::model::mesh::IGNORED_NAMESPACES.contains(&s.object.namespace.as_str())
        || is_istio_control_plane(s.object)
        || matches!(
            s.object.label("gateway.istio.io/managed").as_deref(),
            Some(
                "istio.io-gateway-controller"
                    | "istio.io-mesh-controller"
                    | "istio.io-eastwest-controller"
            )
        )
}

/// Workloads in the mesh with either data plane: a sidecar, or ambient (ztunnel). Protocol,
/// label and port-naming rules apply to both; sidecar-only rules use `Model::meshed`.
pub(crate) fn in_mesh<'c, 'a>(
    cx: &'c Ctx<'c, 'a>,
) -> impl Iterator<Item = (usize, &'c Workload<'a>)> + 'c {
    cx.model.workloads.iter().enumerate().filter(|(i, _)| {
        let m = &cx.model.membership[*i];
        m.has_sidecar() || *m == Membership::Ambient
    })
}

/// Workloads whose pods use the ambient data plane, with their index.
pub(crate) fn ambient<'c, 'a>(
    cx: &'c Ctx<'c, 'a>,
) -> impl Iterator<Item = (usize, &'c Workload<'a>)> + 'c {
    cx.model.workloads.iter().enumerate().filter(|(i, w)| {
        cx.model.membership[*i] == Membership::Ambient && !cx.model.is_control_plane(w)
    })
}

/// In-mesh application workloads whose selecting Services have two ports or more between them:
/// the only ones where Service ports can conflict (most workloads have one port).
pub(crate) fn multi_port_workloads<'c, 'a>(
    cx: &'c Ctx<'c, 'a>,
) -> impl Iterator<Item = (usize, &'c Workload<'a>)> + 'c {
    in_mesh(cx).filter(|(i, w)| {
        !cx.model.is_control_plane(w)
            && cx
                .model
                .services_of(*i)
                .map(|s| s.ports.len())
                .sum::<usize>()
                >= 2
    })
}

/// Reports a workload's application ports that something of the mesh binds inside the pod
/// (`uses` says what, or `None` when the port is free): each declared container port at the
/// container, and each Service `targetPort` that reaches an undeclared one at the Service, once
/// per Service port (`reported` remembers them across workloads). `container` and `service`
/// build the (message, fix) of each.
#[allow(clippy::too_many_arguments)]
pub(crate) fn report_reserved_ports(
    cx: &Ctx<'_, '_>,
    out: &mut Vec<Finding>,
    meta: &'static RuleMeta,
    (i, w): (usize, &Workload<'_>),
    uses: fn(i64) -> Option<&'static str>,
    reported: &mut std::collections::BTreeSet<(usize, usize)>,
    container: &dyn Fn(&str, i64, &str) -> (String, String),
    service: &dyn Fn(&str, i64, &str) -> (String, String),
) {
    for c in w.app_containers() {
        for (j, p) in c.ports().iter().enumerate() {
            let Some(port) = p.get("containerPort").and_then(Node::as_i64) else {
                continue;
            };
            let Some(what) = uses(port) else {
                continue;
            };
            let (message, fix) = container(c.name, port, what);
            out.push(cx.finding(
                meta,
                w.object,
                &w.container_pointer(&c, &format!("/ports/{j}/containerPort")),
                message,
                fix,
            ));
        }
    }
    for s in cx.model.services_of(i) {
        for p in &s.ports {
            let Some(resolved) = crate::model::resolve_target(p, w) else {
                continue;
            };
            let Some(what) = uses(resolved.number) else {
                continue;
            };
            // A declared container port is reported above, at the container.
            if resolved.pointer.is_some() || !reported.insert((s.object_index, p.index)) {
                continue;
            }
            let (message, fix) = service(p.name, resolved.number, what);
            out.push(cx.finding(
                meta,
                s.object,
                &format!("/spec/ports/{}/targetPort", p.index),
                message,
                fix,
            ));
        }
    }
}
