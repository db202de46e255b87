//! Simulates Istio's sidecar injection of a pod template, so that admission checks see the pod the API server will see.
//!
//! The security contexts follow Istio's injection template
//! (`manifests/charts/istio-control/istio-discovery/files/injection-template.yaml`) with default
//! values: without CNI `istio-init` adds NET_ADMIN and NET_RAW and runs as root; with CNI the
//! init container is `istio-validation` and runs as 1337 like `istio-proxy`. No
//! `seccompProfile` is set (Istio only sets one when `global.proxy.seccompProfile` is
//! configured). See reference/istio.md §6.

use serde_json::{Value, json};

use crate::istio::{ISTIO_INIT, ISTIO_PROXY, ISTIO_VALIDATION};
use crate::model::Workload;
use crate::source::node::{Node, Value as NodeValue};

/// The proxy's UID and GID.
const PROXY_ID: i64 = 1337;

/// The init container: `istio-init` (no CNI) or `istio-validation` (CNI).
fn init_container(cni: bool) -> Value {
    if cni {
        json!({
            "name": ISTIO_VALIDATION,
            "image": "docker.io/istio/proxyv2",
            "args": ["istio-iptables", "--run-validation", "--skip-rule-apply"],
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "privileged": false,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": true,
                "runAsGroup": PROXY_ID,
                "runAsUser": PROXY_ID,
                "runAsNonRoot": true,
            },
        })
    } else {
        json!({
            "name": ISTIO_INIT,
            "image": "docker.io/istio/proxyv2",
            "args": ["istio-iptables"],
            "securityContext": {
                "allowPrivilegeEscalation": false,
                "privileged": false,
                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
                "readOnlyRootFilesystem": false,
                "runAsGroup": 0,
                "runAsNonRoot": false,
                "runAsUser": 0,
            },
        })
    }
}

/// How the template configures the proxy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProxyOptions {
    /// `sidecar.istio.io/interceptionMode`: `NONE` drops the init container, `TPROXY` makes the
    /// proxy add NET_ADMIN and run as root.
    pub interception: Interception,
    /// `sidecar.istio.io/capNetBindService: "true"`: the proxy adds NET_BIND_SERVICE and runs as
    /// root.
    pub cap_net_bind_service: bool,
}

/// Traffic interception mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Interception {
    /// iptables REDIRECT (the default).
    #[default]
    Redirect,
    /// TPROXY.
    Tproxy,
    /// No interception.
    None,
}

impl ProxyOptions {
    /// Reads the options from a workload's pod template annotations.
    #[must_use]
    pub fn of(w: &Workload<'_>) -> Self {
        Self {
            interception: match w.annotation("sidecar.istio.io/interceptionMode").as_deref() {
                Some("TPROXY") => Interception::Tproxy,
                Some("NONE") => Interception::None,
                _ => Interception::Redirect,
            },
            cap_net_bind_service: w
                .annotation("sidecar.istio.io/capNetBindService")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

/// The sidecar proxy container.
fn proxy_container(options: ProxyOptions) -> Value {
    let root_cap = match (options.interception, options.cap_net_bind_service) {
        (Interception::Tproxy, _) => Some("NET_ADMIN"),
        (_, true) => Some("NET_BIND_SERVICE"),
        _ => None,
    };
    let security_context = if let Some(cap) = root_cap {
        json!({
            "allowPrivilegeEscalation": false,
            "privileged": false,
            "capabilities": {"add": [cap], "drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsGroup": PROXY_ID,
            "runAsNonRoot": false,
            "runAsUser": 0,
        })
    } else {
        json!({
            "allowPrivilegeEscalation": false,
            "privileged": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsGroup": PROXY_ID,
            "runAsNonRoot": true,
            "runAsUser": PROXY_ID,
        })
    };
    json!({
        "name": ISTIO_PROXY,
        "image": "docker.io/istio/proxyv2",
        "args": ["proxy", "sidecar"],
        "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
        "securityContext": security_context,
    })
}

/// The volumes the injector adds (all of kinds every level allows).
fn volumes() -> Vec<Value> {
    vec![
        json!({"name": "workload-socket", "emptyDir": {}}),
        json!({"name": "credential-socket", "emptyDir": {}}),
        json!({"name": "workload-certs", "emptyDir": {}}),
        json!({"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}),
        json!({"name": "istio-data", "emptyDir": {}}),
        json!({"name": "istio-podinfo", "downwardAPI": {"items": []}}),
        json!({"name": "istio-token", "projected": {"sources": []}}),
        json!({"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}}),
    ]
}

/// The pod spec after injection of `w`'s template, or `None` when the template already carries
/// Istio's sidecar (evaluate it as it is). The template's annotations choose the
/// [`ProxyOptions`].
#[must_use]
pub fn injected_spec(w: &Workload<'_>, cni: bool) -> Option<Node> {
    if w.already_injected() {
        return None;
    }
    Some(inject_spec(w.spec, cni, ProxyOptions::of(w)))
}

/// Adds Istio's containers and volumes to a pod spec.
#[must_use]
pub fn inject_spec(spec: &Node, cni: bool, options: ProxyOptions) -> Node {
    let pos = spec.pos;
    let mut out = if spec.is_map() {
        spec.clone()
    } else {
        Node::new(NodeValue::Map(Vec::new()), pos)
    };
    let mut add = |key: &str, items: Vec<Value>, front: bool| {
        let new: Vec<Node> = items.iter().map(|v| Node::from_json(v, pos)).collect();
        let NodeValue::Map(entries) = &mut out.value else {
            return;
        };
        match entries.iter_mut().find(|e| &*e.key == key) {
            Some(entry) => {
                let mut list = match std::mem::replace(&mut entry.value.value, NodeValue::Null) {
                    NodeValue::Seq(list) => list,
                    _ => Vec::new(),
                };
                if front {
                    let mut all = new;
                    all.extend(list);
                    list = all;
                } else {
                    list.extend(new);
                }
                entry.value.value = NodeValue::Seq(list);
            }
            None => entries.push(crate::source::Entry {
                key: key.into(),
                key_pos: pos,
                value: Node::new(NodeValue::Seq(new), pos),
            }),
        }
    };
    if options.interception != Interception::None {
        add("initContainers", vec![init_container(cni)], true);
    }
    add("containers", vec![proxy_container(options)], false);
    add("volumes", volumes(), false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pos;

    fn names(spec: &Node, list: &str) -> Vec<String> {
        spec.get(list)
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.get("name").and_then(Node::as_str).map(str::to_string))
            .collect()
    }

    #[test]
    fn adds_the_init_container_and_the_proxy() {
        let spec = Node::from_json(
            &json!({"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]}),
            Pos::default(),
        );
        let no_cni = inject_spec(&spec, false, ProxyOptions::default());
        assert_eq!(names(&no_cni, "initContainers"), ["istio-init", "setup"]);
        assert_eq!(names(&no_cni, "containers"), ["app", "istio-proxy"]);
        let cni = inject_spec(&spec, true, ProxyOptions::default());
        assert_eq!(names(&cni, "initContainers"), ["istio-validation", "setup"]);
        let none = inject_spec(
            &spec,
            false,
            ProxyOptions {
                interception: Interception::None,
                ..ProxyOptions::default()
            },
        );
        assert_eq!(names(&none, "initContainers"), ["setup"]);
        let bare = inject_spec(
            &Node::from_json(&json!({"containers": [{"name": "app"}]}), Pos::default()),
            false,
            ProxyOptions::default(),
        );
        assert_eq!(names(&bare, "initContainers"), ["istio-init"]);
        assert_eq!(
            bare.at(&["initContainers"])
                .map(|l| l.items()[0].to_json()["securityContext"]["capabilities"]["add"].clone()),
            Some(json!(["NET_ADMIN", "NET_RAW"]))
        );
    }
}
