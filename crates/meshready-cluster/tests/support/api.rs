//! What the loopback API stand-ins share (the tests' mock, `support/mod.rs`, and the scale
//! benchmark's `examples/fake_apiserver.rs`, which includes this file): the resources an API
//! server serves, how a request target is routed, discovery documents, Status errors and the
//! HTTP/1.1 framing of an answer.

#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// (apiVersion, plural, kind, namespaced) of every resource a stand-in may serve.
pub const RESOURCES: &[(&str, &str, &str, bool)] = &[
    ("v1", "namespaces", "Namespace", false),
    ("v1", "nodes", "Node", false),
    ("v1", "pods", "Pod", true),
    ("v1", "services", "Service", true),
    ("v1", "serviceaccounts", "ServiceAccount", true),
    (
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
    ),
    ("v1", "configmaps", "ConfigMap", true),
    ("v1", "secrets", "Secret", true),
    ("apps/v1", "deployments", "Deployment", true),
    ("apps/v1", "statefulsets", "StatefulSet", true),
    ("apps/v1", "daemonsets", "DaemonSet", true),
    ("apps/v1", "replicasets", "ReplicaSet", true),
    ("batch/v1", "jobs", "Job", true),
    ("batch/v1", "cronjobs", "CronJob", true),
    (
        "networking.k8s.io/v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
    ("rbac.authorization.k8s.io/v1", "roles", "Role", true),
    (
        "rbac.authorization.k8s.io/v1",
        "rolebindings",
        "RoleBinding",
        true,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "clusterroles",
        "ClusterRole",
        false,
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    (
        "admissionregistration.k8s.io/v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
    ),
    (
        "policy/v1beta1",
        "podsecuritypolicies",
        "PodSecurityPolicy",
        false,
    ),
    (
        "security.openshift.io/v1",
        "securitycontextconstraints",
        "SecurityContextConstraints",
        false,
    ),
];

/// A request to a resource: a list (`name` None) or a GET by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<'a> {
    /// `v1`, `apps/v1`.
    pub api_version: String,
    /// `kind`.
    pub kind: &'static str,
    /// `pods`.
    pub plural: &'a str,
    /// The namespace in the path (None: all namespaces or cluster-scoped).
    pub namespace: Option<&'a str>,
    /// The name of a GET.
    pub name: Option<&'a str>,
}

/// Where a request target goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route<'a> {
    /// `/version`.
    Version,
    /// `/api/v1`, `/apis/apps/v1`: the group-version's discovery document.
    Discovery(String),
    /// A served resource.
    Resource(Resource<'a>),
    /// A resource of a served group-version that is not among `served` (404).
    UnknownResource,
    /// Anything else (404).
    NotFound,
}

/// Routes a request target's path; `served` says which of [`RESOURCES`] (by plural) exist.
pub fn route<'a>(target: &'a str, served: &dyn Fn(&str) -> bool) -> Route<'a> {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segments == ["version"] {
        return Route::Version;
    }
    let (api_version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ((*version).to_string(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return Route::NotFound,
    };
    if rest.is_empty() {
        return Route::Discovery(api_version);
    }
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return Route::NotFound,
    };
    match RESOURCES
        .iter()
        .find(|r| r.0 == api_version && r.1 == plural && served(r.1))
    {
        Some(&(_, _, kind, _)) => Route::Resource(Resource {
            api_version,
            kind,
            plural,
            namespace,
            name,
        }),
        None => Route::UnknownResource,
    }
}

/// The query parameters of a request target (`limit`, `continue`).
pub fn query(target: &str) -> BTreeMap<&str, &str> {
    target
        .split_once('?')
        .map_or("", |(_, q)| q)
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

/// The page a list request asks for: the offset its `continue` token (`PREFIX<offset>`)
/// encodes, and its `limit` (unlimited without one).
pub fn page(query: &BTreeMap<&str, &str>, token_prefix: &str) -> (usize, usize) {
    let offset = query
        .get("continue")
        .and_then(|c| c.strip_prefix(token_prefix))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let limit = query
        .get("limit")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    (offset, limit)
}

/// The discovery document of a group-version (its `served` resources); None when it serves
/// none of them.
pub fn discovery(api_version: &str, served: &dyn Fn(&str) -> bool) -> Option<Value> {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.0 == api_version && served(r.1))
        .map(|r| json!({"name": r.1, "singularName": "", "namespaced": r.3, "kind": r.2, "verbs": ["get", "list", "watch"]}))
        .collect();
    (!resources.is_empty()).then(|| {
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": api_version, "resources": resources})
    })
}

/// A Status error as the API server sends it.
pub fn status(code: u16, reason: &str, message: &str) -> (u16, Value) {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}

/// The answer to a resource a stand-in does not serve.
pub fn not_found() -> (u16, Value) {
    status(
        404,
        "NotFound",
        "the server could not find the requested resource",
    )
}

/// One HTTP/1.1 answer, head and body in one buffer (written at once, as Go's net/http
/// does with TCP_NODELAY: a head written apart from a small body would wait for the client's
/// delayed ACK); `headers` are extra header lines, each ending in `\r\n`.
pub fn answer(code: u16, headers: &str, body: &[u8]) -> Vec<u8> {
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        _ => "Error",
    };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}
