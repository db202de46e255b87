//! The one model of the injected pod: Istio's sidecar injection of a pod template, as the injector builds it (native sidecars, CNI, TPROXY, OpenShift IDs, hold-application ordering).
//!
//! Follows Istio's injector (`pkg/kube/inject`: `RunTemplate`, `reapplyOverwrittenContainers`,
//! `adjustInitContainerUser`, `reorderPod`, `GetProxyIDs`, `DetectNativeSidecar`) and its
//! templates (`injection-template.yaml`, `gateway-injection-template.yaml`, `grpc-agent.yaml`,
//! `grpc-simple.yaml`) with default values, on everything that decides admission: each
//! injected container's name, position, `restartPolicy` and `securityContext`, and the pod's
//! `securityContext`. Checked against Istio's own golden files
//! (`tests/inject_conformance.rs`). No `seccompProfile` is set (Istio only sets one when
//! `global.proxy.seccompProfile` is configured). See reference/istio.md §6.

use serde_json::{Map, Value, json};

use crate::istio::{ISTIO_INIT, ISTIO_PROXY, ISTIO_VALIDATION};
use crate::model::Workload;
use crate::settings::InterceptionMode;
use crate::source::Node;

use super::validate::{self, Invalid, parse_proxy_config};
use crate::model::injector::{DEFAULT_PROXY_ID, InjectConfig, ProxyIds, proxy_ids};

/// How the injector treats one pod: the mesh-wide configuration with the pod's annotations
/// applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodOptions {
    /// `istio-proxy` is a native sidecar (init container, `restartPolicy: Always`).
    pub native: bool,
    /// Where `native` came from (`sidecar.istio.io/nativeSidecar` or the mesh-wide setting).
    pub native_source: &'static str,
    /// The interception mode (`REDIRECT`, `TPROXY`, `NONE`, or what the pod wrote).
    pub interception: String,
    /// Applications wait for the proxy (the proxy container comes first).
    pub hold: bool,
    /// `sidecar.istio.io/capNetBindService`: the proxy adds NET_BIND_SERVICE and runs as root.
    pub cap_net_bind_service: bool,
    /// `proxyMetadata.IPTABLES_TRACE_LOGGING`: the proxy is privileged.
    pub iptables_trace_logging: bool,
    /// `inject.istio.io/templates` (default `sidecar`).
    pub templates: Vec<String>,
}

impl PodOptions {
    /// Reads the options from the pod's annotations.
    #[must_use]
    pub fn of(annotations: &Map<String, Value>, config: &InjectConfig) -> Self {
        let get = |k: &str| annotations.get(k).and_then(Value::as_str);
        let (native, native_source) = match get("sidecar.istio.io/nativeSidecar") {
            Some(v) if !v.is_empty() => (
                v != "false",
                "the pod annotation sidecar.istio.io/nativeSidecar",
            ),
            _ => (config.native_sidecars, "the mesh-wide setting"),
        };
        let interception = get("sidecar.istio.io/interceptionMode").map_or_else(
            || match config.interception {
                InterceptionMode::Redirect => "REDIRECT".to_string(),
                InterceptionMode::Tproxy => "TPROXY".to_string(),
            },
            str::to_string,
        );
        let proxy_config = get("proxy.istio.io/config").and_then(parse_proxy_config);
        let pc_hold = proxy_config
            .as_ref()
            .and_then(|c| c.get("holdApplicationUntilProxyStarts"))
            .and_then(Value::as_bool)
            == Some(true);
        let trace = proxy_config
            .as_ref()
            .and_then(|c| c.pointer("/proxyMetadata/IPTABLES_TRACE_LOGGING"))
            .and_then(Value::as_str)
            == Some("true");
        let templates = get("inject.istio.io/templates")
            .filter(|t| !t.is_empty())
            .map_or_else(
                || vec!["sidecar".to_string()],
                |t| t.split(',').map(|s| s.trim().to_string()).collect(),
            );
        Self {
            native,
            native_source,
            interception,
            hold: pc_hold || config.hold_application_until_proxy_starts,
            cap_net_bind_service: get("sidecar.istio.io/capNetBindService") == Some("true"),
            iptables_trace_logging: trace,
            templates,
        }
    }

    /// Interception by TPROXY: the proxy runs as root with NET_ADMIN.
    #[must_use]
    pub fn tproxy(&self) -> bool {
        self.interception == "TPROXY"
    }
}

/// The pod after injection.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    /// The pod template's `metadata`, with the injector's annotations and labels.
    pub metadata: Value,
    /// The pod spec.
    pub spec: Value,
    /// How the pod was treated.
    pub options: PodOptions,
}

impl Injected {
    /// The `istio-proxy` container, wherever it is.
    #[must_use]
    pub fn proxy(&self) -> Option<&Value> {
        ["initContainers", "containers"]
            .iter()
            .filter_map(|l| self.spec.get(l).and_then(Value::as_array))
            .flatten()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(ISTIO_PROXY))
    }

    /// Whether `istio-proxy` ended up a native sidecar.
    #[must_use]
    pub fn proxy_is_native(&self) -> bool {
        find(
            self.spec.get("initContainers").and_then(Value::as_array),
            ISTIO_PROXY,
        )
        .is_some()
    }
}

/// Injects a pod (its template `metadata` and `spec`, as JSON) as Istio's injector would, with
/// the proxy IDs of its namespace. `Err` when the injector refuses the pod (its
/// `validateAnnotations`).
///
/// # Errors
/// Every annotation value that the injector's validation refuses.
pub fn inject(
    metadata: &Value,
    spec: &Value,
    config: &InjectConfig,
    ids: &ProxyIds,
) -> Result<Injected, Vec<Invalid>> {
    let empty = Map::new();
    let annotations = metadata
        .get("annotations")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let invalid = validate::validate_annotations(annotations);
    if !invalid.is_empty() {
        return Err(invalid);
    }
    let options = PodOptions::of(annotations, config);
    let mut original = spec.as_object().cloned().unwrap_or_default();
    if config.openshift {
        openshift_reset_proxy_user(&mut original);
    }
    let original = Value::Object(original);
    let mut merged = original.clone();
    let mut template_init: Vec<String> = Vec::new();
    let mut template_containers: Vec<String> = Vec::new();
    let mut template_volumes: Vec<String> = Vec::new();
    for name in &options.templates {
        let Some(template) = render(name, &options, config, ids) else {
            continue;
        };
        let t_init = names(template.get("initContainers"));
        let t_containers = names(template.get("containers"));
        // Native sidecars: a proxy customisation under `containers` moves to the init
        // containers, where the template puts the proxy.
        if options.native
            && t_init.iter().any(|n| n == ISTIO_PROXY)
            && find(
                merged.get("containers").and_then(Value::as_array),
                ISTIO_PROXY,
            )
            .is_some()
        {
            move_container(&mut merged, "containers", "initContainers", ISTIO_PROXY);
        }
        overlay_pod(&mut merged, &template);
        template_init.extend(t_init);
        template_containers.extend(t_containers);
        template_volumes.extend(names(template.get("volumes")));
    }
    reapply_overrides(
        &mut merged,
        &original,
        annotations,
        &template_init,
        &template_containers,
    );
    adjust_init_container_user(&mut merged, &original, &options);
    reorder(&mut merged, options.hold);
    let metadata = injected_metadata(
        metadata,
        &template_init,
        &template_containers,
        &template_volumes,
    );
    Ok(Injected {
        metadata,
        spec: merged,
        options,
    })
}

/// The names of a list of containers or volumes.
fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The container named `name` in a list.
fn find<'v>(list: Option<&'v Vec<Value>>, name: &str) -> Option<&'v Value> {
    list?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
}

/// The template metadata the injector adds: the status annotation (so that the result reads
/// as injected) and the `security.istio.io/tlsMode` label.
fn injected_metadata(
    metadata: &Value,
    init: &[String],
    containers: &[String],
    volumes: &[String],
) -> Value {
    let mut meta = metadata.as_object().cloned().unwrap_or_default();
    let list = |v: &[String]| {
        if v.is_empty() { Value::Null } else { json!(v) }
    };
    let status = json!({
        "initContainers": list(init),
        "containers": list(containers),
        "volumes": list(volumes),
        "imagePullSecrets": null,
        "revision": "default",
    });
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(a) = annotations.as_object_mut() {
        a.insert(
            "sidecar.istio.io/status".into(),
            Value::String(status.to_string()),
        );
    }
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(l) = labels.as_object_mut() {
        l.entry("security.istio.io/tlsMode")
            .or_insert_with(|| Value::String("istio".into()));
    }
    Value::Object(meta)
}

/// OpenShift assigns every container the same UID; the injector ignores a proxy UID/GID that
/// matches the application's (`isSidecarUserMatchingAppUser`).
fn openshift_reset_proxy_user(spec: &mut Map<String, Value>) {
    let uid_of = |c: &Value| {
        c.pointer("/securityContext/runAsUser")
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let all: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|l| spec.get(*l).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut sidecar_user = 0;
    let mut app_user = 0;
    let mut has_sidecar_context = false;
    for c in &all {
        match c.get("name").and_then(Value::as_str) {
            Some(ISTIO_PROXY) => {
                sidecar_user = uid_of(c);
                has_sidecar_context = c.get("securityContext").is_some_and(Value::is_object);
            }
            Some(ISTIO_INIT | ISTIO_VALIDATION) => {}
            _ => {
                if c.pointer("/securityContext/runAsUser").is_some() {
                    app_user = uid_of(c);
                }
            }
        }
    }
    if !has_sidecar_context || sidecar_user != app_user {
        return;
    }
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(items)) = spec.get_mut(list)
            && let Some(proxy) = items
                .iter_mut()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(ISTIO_PROXY))
        {
            if let Some(sc) = proxy
                .get_mut("securityContext")
                .and_then(Value::as_object_mut)
            {
                sc.remove("runAsUser");
                sc.remove("runAsGroup");
            }
            return;
        }
    }
}

/// Renders one injection template (`None`: a template meshready does not know; it is
/// skipped).
fn render(name: &str, o: &PodOptions, config: &InjectConfig, ids: &ProxyIds) -> Option<Value> {
    match name {
        "sidecar" => Some(sidecar_template(o, config, ids)),
        "gateway" => Some(json!({
            "securityContext": {
                "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
            },
            "containers": [{
                "name": ISTIO_PROXY,
                "image": proxy_image(config),
                "args": ["proxy", "router"],
                "ports": [{"containerPort": 15090, "protocol": "TCP", "name": "http-envoy-prom"}],
                "securityContext": {"runAsUser": ids.uid, "runAsGroup": ids.gid},
            }],
            "volumes": istio_volumes(),
        })),
        "grpc-agent" => Some(json!({
            "containers": [{
                "name": ISTIO_PROXY,
                "image": proxy_image(config),
                "args": ["proxy", "sidecar"],
                "ports": [{"containerPort": 15020, "protocol": "TCP", "name": "mesh-metrics"}],
            }],
        })),
        "grpc-simple" => Some(json!({
            "initContainers": [{
                "name": "grpc-bootstrap-init",
                "image": "busybox:1.28",
            }],
        })),
        _ => None,
    }
}

fn proxy_image(config: &InjectConfig) -> String {
    format!("docker.io/istio/proxyv2:1.{}.0", config.istio_version)
}

/// The volumes the sidecar template adds (kinds every Pod Security level allows).
fn istio_volumes() -> Value {
    json!([
        {"name": "workload-socket", "emptyDir": {}},
        {"name": "credential-socket", "emptyDir": {}},
        {"name": "workload-certs", "emptyDir": {}},
        {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
        {"name": "istio-data", "emptyDir": {}},
        {"name": "istio-podinfo", "downwardAPI": {"items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        ]}},
        {"name": "istio-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}]}},
        {"name": "istiod-ca-cert", "configMap": {"name": "istio-ca-root-cert"}},
        {"name": "istio-ca-crl", "configMap": {"name": "istio-ca-crl", "optional": true}},
    ])
}

/// Istio's `injection-template.yaml` with default values, on the fields that matter.
fn sidecar_template(o: &PodOptions, config: &InjectConfig, ids: &ProxyIds) -> Value {
    let tproxy = o.tproxy();
    let none = o.interception == "NONE";
    let mut init = Vec::new();
    if !none {
        let uid = if tproxy { DEFAULT_PROXY_ID } else { ids.uid };
        let mut args: Vec<Value> = [
            "istio-iptables",
            "-p",
            "15001",
            "-z",
            "15006",
            "-u",
            &uid.to_string(),
            "-m",
            &o.interception,
            "-i",
            "*",
            "-x",
            "",
            "-b",
            "*",
            "-d",
            "15090,15021,15020",
            "--log_output_level=default:info",
        ]
        .iter()
        .map(|s| Value::String((*s).to_string()))
        .collect();
        let container = if config.cni {
            args.push("--run-validation".into());
            args.push("--skip-rule-apply".into());
            let gid = if tproxy { DEFAULT_PROXY_ID } else { ids.gid };
            json!({
                "name": ISTIO_VALIDATION,
                "image": proxy_image(config),
                "args": args,
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "privileged": false,
                    "capabilities": {"drop": ["ALL"]},
                    "readOnlyRootFilesystem": true,
                    "runAsGroup": gid,
                    "runAsUser": uid,
                    "runAsNonRoot": true,
                },
            })
        } else {
            json!({
                "name": ISTIO_INIT,
                "image": proxy_image(config),
                "args": args,
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
        };
        init.push(container);
    }
    let security_context = if o.iptables_trace_logging {
        json!({
            "allowPrivilegeEscalation": true,
            "capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
            "privileged": true,
            "readOnlyRootFilesystem": true,
            "runAsGroup": ids.gid,
            "runAsNonRoot": false,
            "runAsUser": 0,
        })
    } else if tproxy || o.cap_net_bind_service {
        let mut add = Vec::new();
        if tproxy {
            add.push("NET_ADMIN");
        }
        if o.cap_net_bind_service {
            add.push("NET_BIND_SERVICE");
        }
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"add": add, "drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": false,
            "runAsUser": 0,
            "runAsGroup": DEFAULT_PROXY_ID,
        })
    } else {
        json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "privileged": false,
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "runAsUser": ids.uid,
            "runAsGroup": ids.gid,
        })
    };
    let mut proxy = json!({
        "name": ISTIO_PROXY,
        "image": proxy_image(config),
        "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"],
        "ports": [{"containerPort": 15090, "protocol": "TCP", "name": "http-envoy-prom"}],
        "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021}},
        "securityContext": security_context,
    });
    let mut out = Map::new();
    if o.native {
        if let Some(p) = proxy.as_object_mut() {
            p.insert("restartPolicy".into(), "Always".into());
        }
        init.push(proxy);
        out.insert("initContainers".into(), Value::Array(init));
    } else {
        out.insert("initContainers".into(), Value::Array(init));
        out.insert("containers".into(), Value::Array(vec![proxy]));
    }
    out.insert("volumes".into(), istio_volumes());
    Value::Object(out)
}

/// Deep merge as a strategic merge patch does on the fields that matter: maps merge key by
/// key, everything else (lists included) is replaced; `null`s in the patch are dropped.
fn deep_merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        deep_merge(existing, v);
                    }
                    _ => {
                        b.insert(k.clone(), strip_nulls(v));
                    }
                }
            }
        }
        (b, p) => *b = strip_nulls(p),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// Merges a list of named items (containers, volumes) into `spec[list]`: by name when the item
/// exists, else appended.
fn merge_named(spec: &mut Map<String, Value>, list: &str, items: &[Value]) {
    let entry = spec.entry(list).or_insert_with(|| Value::Array(Vec::new()));
    if !entry.is_array() {
        *entry = Value::Array(Vec::new());
    }
    let Value::Array(existing) = entry else {
        return;
    };
    for item in items {
        let name = item.get("name").and_then(Value::as_str);
        match existing
            .iter_mut()
            .find(|e| name.is_some() && e.get("name").and_then(Value::as_str) == name)
        {
            Some(e) => deep_merge(e, item),
            None => existing.push(strip_nulls(item)),
        }
    }
}

/// Applies a rendered template to the pod spec (Istio's `applyOverlayYAML`).
fn overlay_pod(spec: &mut Value, template: &Value) {
    if !spec.is_object() {
        *spec = Value::Object(Map::new());
    }
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    let Some(t) = template.as_object() else {
        return;
    };
    for (key, value) in t {
        match key.as_str() {
            "initContainers" | "containers" | "volumes" => {
                merge_named(s, key, value.as_array().map_or(&[][..], Vec::as_slice));
            }
            _ => match s.get_mut(key) {
                Some(existing) => deep_merge(existing, value),
                None => {
                    s.insert(key.clone(), strip_nulls(value));
                }
            },
        }
    }
}

/// Moves container `name` from one list to the end of another.
fn move_container(spec: &mut Value, from: &str, to: &str, name: &str) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    let Some(Value::Array(source)) = s.get_mut(from) else {
        return;
    };
    let Some(i) = source
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
    else {
        return;
    };
    let c = source.remove(i);
    merge_named(s, to, &[]);
    if let Some(Value::Array(target)) = s.get_mut(to) {
        target.push(c);
    }
}

/// Istio's `reapplyOverwrittenContainers`: a container the template injects that the user's
/// pod (or its `proxy.istio.io/overrides` annotation) also defines is the user's
/// customisation, merged back on top — unless the pod's status annotation says the injector
/// put it there (re-injection).
fn reapply_overrides(
    merged: &mut Value,
    original: &Value,
    annotations: &Map<String, Value>,
    template_init: &[String],
    template_containers: &[String],
) {
    let status: Value = annotations
        .get("sidecar.istio.io/status")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let overrides: Value = annotations
        .get("proxy.istio.io/overrides")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let listed = |key: &str, name: &str| {
        status
            .get(key)
            .and_then(Value::as_array)
            .is_some_and(|l| l.iter().any(|n| n.as_str() == Some(name)))
    };
    let Some(m) = merged.as_object_mut() else {
        return;
    };
    for name in template_containers {
        if listed("containers", name) {
            continue;
        }
        let user = find(overrides.get("containers").and_then(Value::as_array), name)
            .or_else(|| find(original.get("containers").and_then(Value::as_array), name));
        if let Some(user) = user {
            merge_named(m, "containers", &[without_auto_image(user)]);
        }
    }
    for name in template_init {
        if listed("initContainers", name) {
            continue;
        }
        let user = find(
            overrides.get("initContainers").and_then(Value::as_array),
            name,
        )
        .or_else(|| find(original.get("containers").and_then(Value::as_array), name))
        .or_else(|| {
            find(
                original.get("initContainers").and_then(Value::as_array),
                name,
            )
        });
        if let Some(user) = user {
            merge_named(m, "initContainers", &[without_auto_image(user)]);
        }
    }
}

fn without_auto_image(c: &Value) -> Value {
    let mut c = c.clone();
    if c.get("image").and_then(Value::as_str) == Some("auto")
        && let Some(m) = c.as_object_mut()
    {
        m.remove("image");
    }
    c
}

/// Istio's `adjustInitContainerUser`: a user-set proxy UID/GID carries over to
/// `istio-validation`; under TPROXY the proxy stays root.
fn adjust_init_container_user(merged: &mut Value, original: &Value, o: &PodOptions) {
    let user = find(
        original.get("containers").and_then(Value::as_array),
        ISTIO_PROXY,
    )
    .or_else(|| {
        find(
            original.get("initContainers").and_then(Value::as_array),
            ISTIO_PROXY,
        )
    });
    let Some(sc) = user.and_then(|u| u.get("securityContext")) else {
        return;
    };
    let run_as_user = sc.get("runAsUser").filter(|v| !v.is_null()).cloned();
    let run_as_group = sc.get("runAsGroup").filter(|v| !v.is_null()).cloned();
    if run_as_user.is_none() && run_as_group.is_none() {
        return;
    }
    let Some(m) = merged.as_object_mut() else {
        return;
    };
    let has_init = |m: &Map<String, Value>, name: &str| {
        find(m.get("initContainers").and_then(Value::as_array), name).is_some()
    };
    let init_name = if has_init(m, ISTIO_INIT) {
        ISTIO_INIT
    } else if has_init(m, ISTIO_VALIDATION) {
        ISTIO_VALIDATION
    } else {
        return;
    };
    let tproxy = o.tproxy();
    if tproxy && run_as_user.is_some() {
        for list in ["containers", "initContainers"] {
            if let Some(Value::Array(items)) = m.get_mut(list)
                && let Some(p) = items
                    .iter_mut()
                    .find(|c| c.get("name").and_then(Value::as_str) == Some(ISTIO_PROXY))
            {
                if let Some(sc) = p.get_mut("securityContext").and_then(Value::as_object_mut) {
                    sc.insert("runAsUser".into(), json!(0));
                }
                break;
            }
        }
    }
    if !tproxy
        && init_name == ISTIO_VALIDATION
        && let Some(Value::Array(items)) = m.get_mut("initContainers")
        && let Some(v) = items
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(ISTIO_VALIDATION))
        && let Some(c) = v.as_object_mut()
    {
        let sc = c
            .entry("securityContext")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(sc) = sc.as_object_mut() {
            if let Some(u) = run_as_user {
                sc.insert("runAsUser".into(), u);
            }
            if let Some(g) = run_as_group {
                sc.insert("runAsGroup".into(), g);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Move {
    First,
    Last,
    Remove,
}

fn modify(spec: &mut Map<String, Value>, list: &str, name: &str, how: Move) {
    let Some(Value::Array(items)) = spec.get_mut(list) else {
        return;
    };
    let Some(i) = items
        .iter()
        .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
    else {
        return;
    };
    let c = items.remove(i);
    match how {
        Move::First => items.insert(0, c),
        Move::Last => items.push(c),
        Move::Remove => {}
    }
}

/// Istio's `reorderPod`: the proxy last among the containers (first when applications wait
/// for it); with native sidecars `istio-init`/`istio-validation`, then the proxy, first among
/// the init containers; otherwise `istio-validation` first and `istio-init` last.
fn reorder(spec: &mut Value, hold: bool) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    modify(
        s,
        "containers",
        ISTIO_PROXY,
        if hold { Move::First } else { Move::Last },
    );
    let native = find(
        s.get("initContainers").and_then(Value::as_array),
        ISTIO_PROXY,
    )
    .is_some();
    if native {
        modify(s, "initContainers", "enable-core-dump", Move::First);
        modify(s, "initContainers", ISTIO_PROXY, Move::First);
        modify(s, "initContainers", ISTIO_VALIDATION, Move::First);
        modify(s, "initContainers", ISTIO_INIT, Move::First);
    } else {
        modify(s, "initContainers", ISTIO_PROXY, Move::Remove);
        modify(s, "initContainers", ISTIO_VALIDATION, Move::First);
        modify(s, "initContainers", ISTIO_INIT, Move::Last);
        modify(s, "initContainers", "enable-core-dump", Move::Last);
    }
    if s.get("initContainers")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        s.remove("initContainers");
    }
}

/// The proxy IDs for a workload's namespace under `config`.
#[must_use]
pub fn workload_proxy_ids(model: &crate::model::Model<'_>, w: &Workload<'_>) -> ProxyIds {
    proxy_ids(
        model.inject.openshift,
        model.namespaces.get(w.object.namespace.as_str()).copied(),
    )
}

/// The injected pod of a workload that the injector will inject (`None` when it already
/// carries the sidecar, is not in the mesh with a sidecar, or the injector refuses it).
#[must_use]
pub fn injection(model: &crate::model::Model<'_>, w: &Workload<'_>) -> Option<Injected> {
    if w.already_injected() {
        return None;
    }
    inject(
        &w.meta.to_json(),
        &w.spec.to_json(),
        &model.inject,
        &workload_proxy_ids(model, w),
    )
    .ok()
}

/// The pod spec after injection of `w`'s template, as a tree (positions: the template's
/// spec), or `None` when the template already carries Istio's sidecar (evaluate it as it is)
/// or the injector refuses it.
#[must_use]
pub fn injected_spec(model: &crate::model::Model<'_>, w: &Workload<'_>) -> Option<Node> {
    injection(model, w).map(|i| Node::from_json(&i.spec, w.spec.pos))
}

/// The input with the injector's mutation applied: every object as JSON, in input order.
#[derive(Debug, Clone, Default)]
pub struct InjectedObjects {
    /// Every object (by index into the model's objects), injected or unchanged.
    pub objects: Vec<Value>,
    /// The objects whose pods got a sidecar.
    pub injected: Vec<usize>,
    /// The objects whose pods the injector refuses, and why.
    pub refused: Vec<(usize, Vec<Invalid>)>,
}

/// Applies the injection to every workload that gets a sidecar (Istio's own components
/// aside); workloads that already carry it are re-injected, as `istioctl kube-inject` does.
/// Needs objects loaded with every field (`skip_unread_fields: false`).
#[must_use]
pub fn inject_objects(model: &crate::model::Model<'_>) -> InjectedObjects {
    let mut out = InjectedObjects {
        objects: model.objects.iter().map(|o| o.root.to_json()).collect(),
        ..InjectedObjects::default()
    };
    for (i, w) in model.workloads.iter().enumerate() {
        // Membership alone decides, as in Istio's injector: gateways deployed with the
        // `gateway` injection template are injected although they are Istio components.
        if !model.membership[i].has_sidecar() {
            continue;
        }
        let ids = workload_proxy_ids(model, w);
        match inject(&w.meta.to_json(), &w.spec.to_json(), &model.inject, &ids) {
            Ok(injected) => {
                if let Some(object) = out.objects.get_mut(w.object_index) {
                    set_template(object, w.template, injected);
                    out.injected.push(w.object_index);
                }
            }
            Err(invalid) => out.refused.push((w.object_index, invalid)),
        }
    }
    out
}

/// Writes an injected pod into an object at its template pointer.
fn set_template(object: &mut Value, pointer: &str, injected: Injected) {
    let Some(template) = object.pointer_mut(pointer) else {
        return;
    };
    if let Some(t) = template.as_object_mut() {
        t.insert("metadata".into(), injected.metadata);
        t.insert("spec".into(), injected.spec);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::injector::*;

    fn names_of(spec: &Value, list: &str) -> Vec<String> {
        names(spec.get(list))
    }

    fn run(meta: Value, spec: Value, config: &InjectConfig) -> Injected {
        inject(&meta, &spec, config, &ProxyIds::default()).expect("injects")
    }

    fn config(native: bool, cni: bool) -> InjectConfig {
        InjectConfig {
            native_sidecars: native,
            cni,
            ..InjectConfig::default()
        }
    }

    #[test]
    fn native_sidecars_put_the_proxy_first_among_init_containers() {
        let spec = json!({"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]});
        let i = run(json!({}), spec.clone(), &config(true, false));
        assert_eq!(
            names_of(&i.spec, "initContainers"),
            ["istio-init", "istio-proxy", "setup"]
        );
        assert_eq!(names_of(&i.spec, "containers"), ["app"]);
        assert_eq!(
            i.proxy().and_then(|p| p.get("restartPolicy")),
            Some(&json!("Always"))
        );
        let old = run(json!({}), spec, &config(false, false));
        assert_eq!(
            names_of(&old.spec, "initContainers"),
            ["setup", "istio-init"]
        );
        assert_eq!(names_of(&old.spec, "containers"), ["app", "istio-proxy"]);
    }

    #[test]
    fn annotations_override_native_interception_and_hold() {
        let spec = json!({"containers": [{"name": "app"}]});
        let off = run(
            json!({"annotations": {"sidecar.istio.io/nativeSidecar": "false",
                "proxy.istio.io/config": "holdApplicationUntilProxyStarts: true"}}),
            spec.clone(),
            &config(true, true),
        );
        assert_eq!(names_of(&off.spec, "initContainers"), ["istio-validation"]);
        assert_eq!(names_of(&off.spec, "containers"), ["istio-proxy", "app"]);
        let tproxy = run(
            json!({"annotations": {"sidecar.istio.io/interceptionMode": "TPROXY"}}),
            spec.clone(),
            &config(true, true),
        );
        let sc = tproxy
            .proxy()
            .and_then(|p| p.get("securityContext"))
            .cloned();
        assert_eq!(
            sc.as_ref().and_then(|s| s.get("runAsUser")),
            Some(&json!(0))
        );
        assert_eq!(
            sc.as_ref().and_then(|s| s.pointer("/capabilities/add")),
            Some(&json!(["NET_ADMIN"]))
        );
        let none = run(
            json!({"annotations": {"sidecar.istio.io/interceptionMode": "NONE"}}),
            spec,
            &config(false, false),
        );
        assert!(none.spec.get("initContainers").is_none());
    }

    #[test]
    fn openshift_ids_are_the_tops_of_the_ranges() {
        let loaded = crate::source::load_str(
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: t\n  annotations:\n    openshift.io/sa.scc.uid-range: 1000620000/10000\n    openshift.io/sa.scc.supplemental-groups: 5000-5999,7000/10\n",
            &crate::source::LoadOptions::default(),
        );
        let ns = loaded.objects.first();
        let ids = proxy_ids(true, ns);
        assert_eq!((ids.uid, ids.gid), (1_000_629_999, 5999));
        assert!(
            ids.uid_source.contains("1000620000/10000"),
            "{}",
            ids.uid_source
        );
        assert_eq!(proxy_ids(false, ns), ProxyIds::default());
        assert_eq!(crate::model::injector::parse_block("bad"), None);
    }

    #[test]
    fn invalid_annotations_refuse_the_pod() {
        let err = inject(
            &json!({"annotations": {"traffic.sidecar.istio.io/includeInboundPorts": "bad"}}),
            &json!({"containers": [{"name": "app"}]}),
            &InjectConfig::default(),
            &ProxyIds::default(),
        )
        .expect_err("refused");
        assert_eq!(
            err[0].annotation,
            "traffic.sidecar.istio.io/includeInboundPorts"
        );
    }

    #[test]
    fn versions_parse_from_tags() {
        assert_eq!(minor_of("1.27.3-distroless"), Some(27));
        assert_eq!(minor_of("1.9"), Some(9));
        assert_eq!(minor_of("2.0"), None);
        assert_eq!(minor_of("latest"), None);
    }
}
