//! A loopback Kubernetes API stand-in for the webhook's live context: plain HTTP on 127.0.0.1,
//! answering lists and watches (`?watch=1`, chunked JSON watch events with resourceVersions,
//! replayed from a bounded history, `410 Expired` when a watch asks for a version older than
//! the history) of the kinds the webhook watches, with a synthetic cluster of Namespaces and
//! Services and an optional generator of continuous Service changes.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

/// How many watch events are kept for watches that resume from an older resourceVersion.
const HISTORY: usize = 200_000;

/// (collection path after the group-version, apiVersion, kind) of every collection served.
const COLLECTIONS: &[(&str, &str, &str)] = &[
    ("namespaces", "v1", "Namespace"),
    ("services", "v1", "Service"),
    ("configmaps", "v1", "ConfigMap"),
    ("roles", "rbac.authorization.k8s.io/v1", "Role"),
    (
        "rolebindings",
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
    ),
    (
        "clusterroles",
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
    ),
    (
        "clusterrolebindings",
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ),
    ("daemonsets", "apps/v1", "DaemonSet"),
    ("nodes", "v1", "Node"),
];

/// One watch event, already encoded as a line of the watch stream.
#[derive(Debug)]
struct Event {
    rv: u64,
    plural: &'static str,
    namespace: String,
    line: Bytes,
}

#[derive(Debug, Default)]
struct Inner {
    rv: u64,
    uids: u64,
    /// plural -> "namespace/name" -> object.
    objects: HashMap<&'static str, BTreeMap<String, Value>>,
    history: VecDeque<Arc<Event>>,
}

#[derive(Debug)]
struct Shared {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    lists: AtomicU64,
    watches: AtomicU64,
    emitted: AtomicU64,
    /// Collections answered with 403 Forbidden (a ClusterRole without them).
    forbidden: Mutex<Vec<&'static str>>,
}

/// The running stand-in.
#[derive(Debug)]
pub struct StandIn {
    /// Where it listens (`http://127.0.0.1:port`).
    pub url: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Counters of what the stand-in served.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    /// List requests answered.
    pub lists: u64,
    /// Watch requests opened.
    pub watches: u64,
    /// Changes made after start-up (each one a watch event).
    pub changes: u64,
}

impl StandIn {
    /// Starts serving on 127.0.0.1 (any free port) inside the current tokio runtime.
    pub async fn start() -> Self {
        let (events, _) = broadcast::channel(1 << 16);
        let mut inner = Inner::default();
        for (plural, ..) in COLLECTIONS {
            inner.objects.insert(plural, BTreeMap::new());
        }
        let shared = Arc::new(Shared {
            inner: Mutex::new(inner),
            events,
            lists: AtomicU64::new(0),
            watches: AtomicU64::new(0),
            emitted: AtomicU64::new(0),
            forbidden: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("bind the stand-in");
        let addr = listener.local_addr().expect("stand-in address");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url: format!("http://{addr}"),
            shared,
            server,
        }
    }

    /// Writes a kubeconfig for this stand-in (plain HTTP, a fake token).
    pub fn write_kubeconfig(&self, path: &Path) {
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "standin", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "standin", "namespace": "default"}}],
            "current-context": "standin",
        });
        std::fs::write(path, serde_json::to_string_pretty(&config).expect("json"))
            .expect("write kubeconfig");
    }

    /// Fills the cluster: `namespaces` Namespaces (`ns-000`…, every other one with
    /// `istio-injection=enabled`) and `services` Services spread evenly over them
    /// (`svc-0000`…), without watch events (call before anything lists).
    pub fn populate(&self, namespaces: usize, services: usize) {
        for n in 0..namespaces {
            self.put_quietly("namespaces", namespace(n));
        }
        for s in 0..services {
            let ns = format!("ns-{:03}", s % namespaces.max(1));
            self.put_quietly("services", service(&ns, &format!("svc-{s:05}"), 0));
        }
    }

    fn put_quietly(&self, plural: &'static str, object: Value) {
        let mut inner = self.shared.inner.lock().expect("stand-in lock");
        let _ = store(&mut inner, plural, object);
    }

    /// Adds or replaces an object and emits ADDED or MODIFIED.
    pub fn apply(&self, plural: &'static str, object: Value) {
        let mut inner = self.shared.inner.lock().expect("stand-in lock");
        let (kind, object) = store(&mut inner, plural, object);
        self.emit(&mut inner, plural, kind, object);
    }

    /// Deletes an object (if present) and emits DELETED.
    /// Answers 403 Forbidden to lists and watches of `plural` (`false`: again as before).
    pub fn forbid(&self, plural: &'static str, forbidden: bool) {
        let mut list = self.shared.forbidden.lock().expect("stand-in lock");
        list.retain(|p| *p != plural);
        if forbidden {
            list.push(plural);
        }
    }

    pub fn delete(&self, plural: &'static str, namespace: &str, name: &str) {
        let mut inner = self.shared.inner.lock().expect("stand-in lock");
        let key = format!("{namespace}/{name}");
        let Some(mut object) = inner
            .objects
            .get_mut(plural)
            .and_then(|objects| objects.remove(&key))
        else {
            return;
        };
        inner.rv += 1;
        object["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        self.emit(&mut inner, plural, "DELETED", object);
    }

    fn emit(&self, inner: &mut Inner, plural: &'static str, kind: &str, object: Value) {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).expect("json");
        line.push(b'\n');
        let event = Arc::new(Event {
            rv: inner.rv,
            plural,
            namespace,
            line: Bytes::from(line),
        });
        if inner.history.len() == HISTORY {
            inner.history.pop_front();
        }
        inner.history.push_back(Arc::clone(&event));
        let _ = self.shared.events.send(event);
        self.shared.emitted.fetch_add(1, Ordering::Relaxed);
    }

    /// What was served so far.
    pub fn served(&self) -> Served {
        Served {
            lists: self.shared.lists.load(Ordering::Relaxed),
            watches: self.shared.watches.load(Ordering::Relaxed),
            changes: self.shared.emitted.load(Ordering::Relaxed),
        }
    }

    /// Changes Services continuously at about `per_second` changes a second until `stop` is
    /// set: 80 % MODIFIED (a label and a port), 10 % ADDED, 10 % DELETED (of Services it added),
    /// in namespaces spread over the first `namespaces`.
    pub fn churn(self: &Arc<Self>, per_second: u64, namespaces: usize, stop: Arc<AtomicBool>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
            let mut next = move || {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng
            };
            let mut added: Vec<(String, String)> = Vec::new();
            let mut generation = 0u64;
            let tick = Duration::from_millis(10);
            let mut interval = tokio::time::interval(tick);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut debt = 0u64;
            while !stop.load(Ordering::Relaxed) {
                interval.tick().await;
                debt += per_second;
                let now = debt / 100;
                debt %= 100;
                for _ in 0..now {
                    generation += 1;
                    let roll = next() % 10;
                    let ns = format!("ns-{:03}", next() % namespaces.max(1) as u64);
                    if roll == 0 {
                        let name = format!("churn-{generation}");
                        me.apply("services", service(&ns, &name, generation));
                        added.push((ns, name));
                    } else if roll == 1 && !added.is_empty() {
                        let i = (next() % added.len() as u64) as usize;
                        let (ns, name) = added.swap_remove(i);
                        me.delete("services", &ns, &name);
                    } else {
                        let existing = {
                            let inner = me.shared.inner.lock().expect("stand-in lock");
                            let services = &inner.objects["services"];
                            let skip = (next() % services.len().max(1) as u64) as usize;
                            services.values().nth(skip).cloned()
                        };
                        if let Some(mut object) = existing {
                            object["metadata"]["labels"]["rev"] = json!(generation.to_string());
                            object["spec"]["ports"][0]["port"] = json!(8000 + generation % 1000);
                            me.apply("services", object);
                        }
                    }
                }
            }
        });
    }
}

/// Stores an object: a uid if it has none, the next resourceVersion. Returns the watch event
/// type and the stored object.
fn store(inner: &mut Inner, plural: &'static str, mut object: Value) -> (&'static str, Value) {
    let key = format!(
        "{}/{}",
        object["metadata"]["namespace"].as_str().unwrap_or_default(),
        object["metadata"]["name"].as_str().unwrap_or_default()
    );
    inner.rv += 1;
    object["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
    let objects = inner.objects.entry(plural).or_default();
    let kind = if let Some(old) = objects.get(&key) {
        object["metadata"]["uid"] = old["metadata"]["uid"].clone();
        "MODIFIED"
    } else {
        inner.uids += 1;
        object["metadata"]["uid"] = json!(format!("00000000-0000-4000-8000-{:012}", inner.uids));
        "ADDED"
    };
    let objects = inner.objects.entry(plural).or_default();
    objects.insert(key, object.clone());
    (kind, object)
}

/// A Namespace shaped like `kubectl get ns -o json` output.
pub fn namespace(n: usize) -> Value {
    let name = format!("ns-{n:03}");
    let mut labels =
        json!({"kubernetes.io/metadata.name": name, "team": format!("team-{}", n % 17)});
    if n.is_multiple_of(2) {
        labels["istio-injection"] = json!("enabled");
    }
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": name, "labels": labels, "creationTimestamp": "2024-05-01T10:00:00Z",
            "managedFields": [{"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
                "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}}]},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}

/// A Node whose kubelet is `kubelet`, with the labels and image list a real one has (which the
/// live context must not keep).
pub fn node(name: &str, kubelet: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "nodeInfo": {"kubeletVersion": kubelet, "osImage": "Ubuntu"},
            "images": [{"names": ["registry.example/app:1"], "sizeBytes": 1}]
        }
    })
}

/// A Service shaped like `kubectl get svc -o json` output (ClusterIP, two named ports,
/// managedFields, an annotation), selecting `app: <name>`.
pub fn service(namespace: &str, name: &str, generation: u64) -> Value {
    let ip = format!(
        "10.96.{}.{}",
        (generation / 250) % 250,
        generation % 250 + 1
    );
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": name, "namespace": namespace, "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app": name, "app.kubernetes.io/part-of": "shop", "rev": "0"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                format!("{{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"{namespace}\"}},\"spec\":{{\"selector\":{{\"app\":\"{name}\"}}}}}}\n")},
            "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update",
                "apiVersion": "v1", "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:ports": {".": {}, "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}}},
                        "f:selector": {}, "f:type": {}}}}]
        },
        "spec": {
            "clusterIP": ip, "clusterIPs": [ip], "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080},
                {"name": "grpc-metrics", "port": 9090, "protocol": "TCP", "targetPort": 9090}
            ],
            "selector": {"app": name}, "sessionAffinity": "None", "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    })
}

/// Splits `/api/v1/...` or `/apis/<group>/<version>/...` into (namespace, plural).
fn route(path: &str) -> Option<(Option<&str>, &str)> {
    let rest = if let Some(rest) = path.strip_prefix("/api/v1/") {
        rest
    } else {
        let rest = path.strip_prefix("/apis/")?;
        let mut parts = rest.splitn(3, '/');
        let (_group, _version, rest) = (parts.next()?, parts.next()?, parts.next()?);
        rest
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [plural] => Some((None, plural)),
        ["namespaces", ns, plural] => Some((Some(ns), plural)),
        _ => None,
    }
}

fn query_value<'a>(query: &'a str, key: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let Some((namespace, plural)) = route(uri.path()) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let Some(&(plural, api_version, kind)) = COLLECTIONS.iter().find(|c| c.0 == plural) else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    if shared
        .forbidden
        .lock()
        .expect("stand-in lock")
        .contains(&plural)
    {
        return status(403, "Forbidden", &format!("{plural} is forbidden"));
    }
    let namespace = namespace.map(str::to_string);
    let watch = matches!(query_value(&query, "watch"), Some("1" | "true"));
    if !watch {
        shared.lists.fetch_add(1, Ordering::Relaxed);
        let inner = shared.inner.lock().expect("stand-in lock");
        let items: Vec<&Value> = inner.objects[plural]
            .values()
            .filter(|o| {
                namespace
                    .as_deref()
                    .is_none_or(|ns| o["metadata"]["namespace"] == ns)
            })
            .collect();
        let body = serde_json::to_vec(&json!({
            "apiVersion": api_version, "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": inner.rv.to_string()},
            "items": items,
        }))
        .expect("json");
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    shared.watches.fetch_add(1, Ordering::Relaxed);
    let since: u64 = query_value(&query, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let matches = move |event: &Event| {
        event.plural == plural && namespace.as_deref().is_none_or(|ns| event.namespace == ns)
    };
    let (replay, receiver, expired) = {
        let inner = shared.inner.lock().expect("stand-in lock");
        let oldest = inner.history.front().map_or(inner.rv + 1, |e| e.rv);
        let expired = since + 1 < oldest && since < inner.rv;
        let replay: VecDeque<Arc<Event>> = inner
            .history
            .iter()
            .filter(|e| e.rv > since && matches(e))
            .cloned()
            .collect();
        (replay, shared.events.subscribe(), expired)
    };
    if expired {
        let line = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1",
            "status": "Failure", "reason": "Expired", "code": 410,
            "message": format!("too old resource version: {since}")}});
        let mut bytes = serde_json::to_vec(&line).expect("json");
        bytes.push(b'\n');
        return ([(header::CONTENT_TYPE, "application/json")], bytes).into_response();
    }
    let last = replay.back().map_or(since, |e| e.rv);
    let stream = futures::stream::unfold(
        (replay, receiver, last),
        move |(mut replay, mut receiver, mut last)| {
            let matches = matches.clone();
            async move {
                if let Some(event) = replay.pop_front() {
                    let line = event.line.clone();
                    return Some((Ok::<_, std::io::Error>(line), (replay, receiver, last)));
                }
                loop {
                    match receiver.recv().await {
                        Ok(event) if event.rv > last && matches(&event) => {
                            last = event.rv;
                            let line = event.line.clone();
                            return Some((Ok(line), (replay, receiver, last)));
                        }
                        Ok(_) => {}
                        // Fell behind or closed: end the watch; the client resumes from its last
                        // resourceVersion and the history replays what it missed.
                        Err(_) => return None,
                    }
                }
            }
        },
    );
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&body).expect("json"),
    )
        .into_response()
}
