//! A tiny mock Kubernetes API server for tests: HTTP/1.1 on 127.0.0.1 (port 0), answering
//! per-group discovery, paginated lists (`limit` / `continue`) and GETs from recorded objects,
//! 403 for the kinds it is told to forbid, 404 for group-versions it does not serve, and the
//! faults it is told to inject (an error status, 429 with `Retry-After`, a connection closed
//! without an answer, a slow answer). It records every request line.

#![allow(dead_code)]

pub mod api;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The fake bearer token the kubeconfig carries.
pub const TOKEN: &str = "fake-token";

/// What the mock serves.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The objects (with apiVersion and kind).
    pub objects: Vec<Value>,
    /// Plurals whose requests get 403.
    pub forbidden: Vec<&'static str>,
    /// Group-versions that discovery and every request answer with 404.
    pub not_served: Vec<&'static str>,
    /// Faults, tried in order on every request.
    pub faults: Vec<FaultRule>,
}

/// A fault the mock injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status code (a Status body with the usual reason).
    Status(u16),
    /// 429 Too Many Requests with `Retry-After: N` (seconds).
    TooManyRequests(u64),
    /// Close the connection without answering.
    Drop,
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Answer normally, with the list's metadata first (as the API server writes it), and send
    /// the rest of the body (the items) this long after the metadata.
    Trickle(Duration),
    /// Answer normally, with the list's metadata last, and send it this long after the items:
    /// the page's first part does not tell its continue token.
    TrickleMetadataLast(Duration),
}

/// Injects `fault` into the first `times` requests whose target contains `matches`.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// A substring of the request target (`/api/v1/pods?limit=2&continue=page-2`).
    pub matches: &'static str,
    /// How many matching requests get the fault (`usize::MAX`: all).
    pub times: usize,
    /// The fault.
    pub fault: Fault,
}

impl FaultRule {
    /// The fault on the first matching request only.
    pub fn once(matches: &'static str, fault: Fault) -> Self {
        Self {
            matches,
            times: 1,
            fault,
        }
    }

    /// The fault on every matching request.
    pub fn always(matches: &'static str, fault: Fault) -> Self {
        Self {
            matches,
            times: usize::MAX,
            fault,
        }
    }
}

/// A running mock API server.
pub struct MockApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    requests: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl MockApi {
    /// Starts the server on a free port, in a background thread.
    pub fn start(setup: Setup) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let remaining = Arc::new(Mutex::new(
            setup.faults.iter().map(|f| f.times).collect::<Vec<_>>(),
        ));
        let setup = Arc::new(setup);
        let recorded = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let setup = Arc::clone(&setup);
                let recorded = Arc::clone(&recorded);
                let remaining = Arc::clone(&remaining);
                std::thread::spawn(move || serve(stream, &setup, &recorded, &remaining));
            }
        });
        Self { url, requests }
    }

    /// Every request target (`/api/v1/pods?limit=2`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.timed_requests().into_iter().map(|(_, r)| r).collect()
    }

    /// Every request target with the time it arrived, in order.
    pub fn timed_requests(&self) -> Vec<(Instant, String)> {
        self.requests.lock().expect("requests lock").clone()
    }

    /// Writes a kubeconfig for this server (insecure, fake token, default namespace `namespace`).
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) {
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "mock", "cluster": {"server": self.url, "insecure-skip-tls-verify": true}}],
            "users": [{"name": "mock", "user": {"token": TOKEN}}],
            "contexts": [{"name": "mock", "context": {"cluster": "mock", "user": "mock", "namespace": namespace}}],
            "current-context": "mock",
        });
        std::fs::write(path, serde_json::to_string_pretty(&config).expect("json"))
            .expect("write kubeconfig");
    }
}

/// The fault for a request, if one is due (and counts it).
fn fault(setup: &Setup, remaining: &Mutex<Vec<usize>>, target: &str) -> Option<Fault> {
    let mut remaining = remaining.lock().expect("faults lock");
    for (rule, left) in setup.faults.iter().zip(remaining.iter_mut()) {
        if *left > 0 && target.contains(rule.matches) {
            *left -= 1;
            return Some(rule.fault);
        }
    }
    None
}

fn serve(
    stream: TcpStream,
    setup: &Setup,
    recorded: &Mutex<Vec<(Instant, String)>>,
    remaining: &Mutex<Vec<usize>>,
) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut authorized = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if header.eq_ignore_ascii_case(&format!("authorization: Bearer {TOKEN}")) {
                authorized = true;
            }
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let target = parts.next().unwrap_or("").to_string();
        recorded
            .lock()
            .expect("requests lock")
            .push((Instant::now(), target.clone()));
        let mut headers = String::new();
        let injected = fault(setup, remaining, &target);
        let (code, body) = match injected {
            Some(Fault::Drop) => return,
            Some(Fault::Slow(delay)) => {
                std::thread::sleep(delay);
                respond(setup, &target)
            }
            Some(Fault::TooManyRequests(seconds)) => {
                headers = format!("Retry-After: {seconds}\r\n");
                api::status(
                    429,
                    "TooManyRequests",
                    "the server has received too many requests and has asked us to try again later",
                )
            }
            Some(Fault::Status(410)) => api::status(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            ),
            Some(Fault::Status(code)) => api::status(
                code,
                "InternalError",
                "Internal error occurred: etcdserver: request timed out",
            ),
            // A trickled answer is the normal one, sent in two parts (below).
            Some(Fault::Trickle(_) | Fault::TrickleMetadataLast(_)) | None if !authorized => {
                api::status(401, "Unauthorized", "no bearer token")
            }
            Some(Fault::Trickle(_) | Fault::TrickleMetadataLast(_)) | None if method != "GET" => {
                api::status(405, "MethodNotAllowed", "the mock is read-only")
            }
            Some(Fault::Trickle(_) | Fault::TrickleMetadataLast(_)) | None => {
                respond(setup, &target)
            }
        };
        let (text, delay, first) = match injected {
            // The head and the metadata now, the items later.
            Some(Fault::Trickle(delay)) => {
                let text = metadata_first(&body);
                let items = text.find(",\"items\"").map_or(text.len(), |i| i + 1);
                (text, delay, items)
            }
            // The head and the items now, the metadata later.
            Some(Fault::TrickleMetadataLast(delay)) => {
                let text = metadata_last(&body);
                let metadata = text.find(",\"metadata\"").map_or(text.len(), |i| i + 1);
                (text, delay, metadata)
            }
            _ => {
                let response = api::answer(code, &headers, body.to_string().as_bytes());
                if stream.write_all(&response).is_err() {
                    return;
                }
                continue;
            }
        };
        let response = api::answer(code, &headers, text.as_bytes());
        let cut = response.len() - (text.len() - first);
        let sent = stream
            .write_all(&response[..cut])
            .and_then(|()| stream.flush());
        std::thread::sleep(delay);
        if sent
            .and_then(|()| stream.write_all(&response[cut..]))
            .is_err()
        {
            return;
        }
    }
}

/// An answer's JSON with its `metadata` member first.
fn metadata_first(body: &Value) -> String {
    let mut rest = body.as_object().cloned().unwrap_or_default();
    let metadata = rest.remove("metadata").unwrap_or(Value::Null);
    let rest = Value::Object(rest).to_string();
    match rest.strip_prefix("{}") {
        Some("") => format!(r#"{{"metadata":{metadata}}}"#),
        _ => format!(r#"{{"metadata":{metadata},{}"#, &rest[1..]),
    }
}

/// An answer's JSON with its `metadata` member last.
fn metadata_last(body: &Value) -> String {
    let mut rest = body.as_object().cloned().unwrap_or_default();
    let metadata = rest.remove("metadata").unwrap_or(Value::Null);
    let rest = Value::Object(rest).to_string();
    if rest == "{}" {
        format!(r#"{{"metadata":{metadata}}}"#)
    } else {
        format!(r#"{},"metadata":{metadata}}}"#, &rest[..rest.len() - 1])
    }
}

fn respond(setup: &Setup, target: &str) -> (u16, Value) {
    let query = api::query(target);
    let route = api::route(target, &|_| true);
    let api_version = match &route {
        api::Route::Discovery(v) => v.clone(),
        api::Route::Resource(r) => r.api_version.clone(),
        _ => String::new(),
    };
    if setup.not_served.contains(&api_version.as_str()) {
        return api::not_found();
    }
    let api::Resource {
        api_version,
        kind,
        plural,
        namespace,
        name,
    } = match route {
        api::Route::Version => {
            // The stand-in's server version is its first Node's kubelet version.
            let Some(kubelet) = setup.objects.iter().find_map(|o| {
                (o["kind"] == "Node").then(|| o["status"]["nodeInfo"]["kubeletVersion"].as_str())?
            }) else {
                return api::status(404, "NotFound", "404 page not found");
            };
            let mut parts = kubelet.trim_start_matches('v').split('.');
            let (major, minor) = (parts.next().unwrap_or("1"), parts.next().unwrap_or("0"));
            return (
                200,
                json!({"major": major, "minor": minor, "gitVersion": kubelet, "platform": "linux/amd64"}),
            );
        }
        api::Route::Discovery(api_version) => {
            return match api::discovery(&api_version, &|_| true) {
                Some(document) => (200, document),
                None => api::not_found(),
            };
        }
        api::Route::UnknownResource => return api::not_found(),
        api::Route::NotFound => return api::status(404, "NotFound", "404 page not found"),
        api::Route::Resource(resource) => resource,
    };
    if setup.forbidden.contains(&plural) {
        let scope = namespace.map_or_else(
            || "at the cluster scope".to_string(),
            |ns| format!("in the namespace \"{ns}\""),
        );
        return api::status(
            403,
            "Forbidden",
            &format!(
                "{plural} is forbidden: User \"system:serviceaccount:ci:meshready\" cannot list resource \"{plural}\" {scope}"
            ),
        );
    }
    let matching = setup.objects.iter().filter(|o| {
        o["apiVersion"] == api_version
            && o["kind"] == kind
            && namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns)
    });
    if let Some(name) = name {
        return match matching.into_iter().find(|o| o["metadata"]["name"] == name) {
            Some(object) => (200, object.clone()),
            None => api::status(404, "NotFound", &format!("{plural} \"{name}\" not found")),
        };
    }
    let all: Vec<&Value> = matching.collect();
    let (offset, limit) = api::page(&query, "page-");
    let end = offset.saturating_add(limit).min(all.len());
    let items: Vec<Value> = all[offset.min(end)..end]
        .iter()
        .map(|o| {
            // List responses leave out each item's apiVersion and kind.
            let mut item = (*o).clone();
            if let Value::Object(map) = &mut item {
                map.remove("apiVersion");
                map.remove("kind");
            }
            item
        })
        .collect();
    let mut metadata = json!({"resourceVersion": "42"});
    if end < all.len() {
        metadata["continue"] = json!(format!("page-{end}"));
    }
    (
        200,
        json!({"kind": format!("{kind}List"), "apiVersion": api_version, "metadata": metadata, "items": items}),
    )
}
