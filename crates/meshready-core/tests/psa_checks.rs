//! Pod Security Admission through the public API: every check with failing pods and near misses, version gates, restricted overrides, every container kind and the privileged level.
//!
//! Each case is a pod (metadata + spec), a policy (`level:version`) and the exact list of
//! `(check, JSON pointer)` pairs the evaluation must return, in upstream's order. The expected
//! behaviour follows `k8s.io/pod-security-admission/policy` (the fixtures in
//! `shared/conformance/psa` and the notes in `shared/conformance/psa-notes`).

use meshready_core::psa::{self, Check, Level, Policy, Version};
use meshready_core::source::{Node, Pos};
use serde_json::{Value, json};

/// Every check, in upstream's evaluation order (baseline then restricted, each sorted by ID).
const ALL_CHECKS: [Check; 19] = [
    Check::AppArmorProfile,
    Check::CapabilitiesBaseline,
    Check::HostNamespaces,
    Check::HostPathVolumes,
    Check::HostPorts,
    Check::HostProbesAndHostLifecycle,
    Check::Privileged,
    Check::ProcMount,
    Check::SeLinuxOptions,
    Check::SeccompProfileBaseline,
    Check::Sysctls,
    Check::WindowsHostProcess,
    Check::AllowPrivilegeEscalation,
    Check::CapabilitiesRestricted,
    Check::ProcMountRestricted,
    Check::RestrictedVolumes,
    Check::RunAsNonRoot,
    Check::RunAsUser,
    Check::SeccompProfileRestricted,
];

// ----------------------------------------------------------------------------------------------
// Pods.

fn node(v: &Value) -> Node {
    Node::from_json(v, Pos::default())
}

/// A JSON merge patch (RFC 7386: `null` removes a key), except that arrays merge element by
/// element, so `{"containers": [{"securityContext": {...}}]}` patches the first container.
fn merge(base: &mut Value, patch: &Value) {
    match patch {
        Value::Object(p) => {
            if !base.is_object() {
                *base = json!({});
            }
            let b = base.as_object_mut().expect("just made an object");
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        Value::Array(p) => {
            if !base.is_array() {
                *base = json!([]);
            }
            let b = base.as_array_mut().expect("just made an array");
            for (i, v) in p.iter().enumerate() {
                if i < b.len() {
                    merge(&mut b[i], v);
                } else {
                    let mut item = Value::Null;
                    merge(&mut item, v);
                    b.push(item);
                }
            }
        }
        other => *base = other.clone(),
    }
}

fn patched(mut base: Value, patch: Value) -> Value {
    merge(&mut base, &patch);
    base
}

/// A baseline-clean pod with one container `app`, patched.
fn b(patch: Value) -> Value {
    patched(
        json!({"containers": [{"name": "app", "image": "app"}]}),
        patch,
    )
}

/// A restricted-clean container.
fn rc(name: &str) -> Value {
    json!({"name": name, "image": name, "securityContext": {
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
    }})
}

/// A restricted-clean pod (at every version) with one container `app`, patched.
fn r(patch: Value) -> Value {
    patched(
        json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [rc("app")],
        }),
        patch,
    )
}

// ----------------------------------------------------------------------------------------------
// Cases.

struct Case {
    /// The check the case is about (for the coverage test).
    about: Check,
    name: String,
    policy: String,
    meta: Value,
    spec: Value,
    want: Vec<(Check, String)>,
}

impl Case {
    fn meta(mut self, meta: Value) -> Self {
        self.meta = meta;
        self
    }
}

/// A pod that must be admitted.
fn pass(about: Check, name: impl Into<String>, policy: &str, spec: Value) -> Case {
    mixed(about, name, policy, spec, &[])
}

/// A pod that must violate `about` only, at these pointers.
fn fail(about: Check, name: impl Into<String>, policy: &str, spec: Value, ptrs: &[&str]) -> Case {
    let want: Vec<(Check, &str)> = ptrs.iter().map(|p| (about, *p)).collect();
    mixed(about, name, policy, spec, &want)
}

/// A pod with exactly these violations.
fn mixed(
    about: Check,
    name: impl Into<String>,
    policy: &str,
    spec: Value,
    want: &[(Check, &str)],
) -> Case {
    Case {
        about,
        name: name.into(),
        policy: policy.to_string(),
        meta: json!({}),
        spec,
        want: want.iter().map(|(c, p)| (*c, (*p).to_string())).collect(),
    }
}

fn evaluate(policy: &str, meta: &Value, spec: &Value) -> Vec<(Check, String)> {
    let policy = Policy::parse(policy).unwrap_or_else(|e| panic!("policy {policy:?}: {e}"));
    policy
        .evaluate(&node(meta), &node(spec))
        .into_iter()
        .map(|v| (v.check, v.pointer))
        .collect()
}

fn run(cases: &[Case]) {
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for c in cases {
        let got = evaluate(&c.policy, &c.meta, &c.spec);
        if got != c.want {
            failures.push(format!(
                "case {:?} at {}:\n    want {:?}\n    got  {:?}",
                c.name, c.policy, c.want, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// ----------------------------------------------------------------------------------------------
// Baseline checks.

const APPARMOR: &str = "container.apparmor.security.beta.kubernetes.io/";

fn app_armor_cases() -> Vec<Case> {
    use Check::AppArmorProfile as C;
    let ann = |container: &str, value: &str| json!({"annotations": {format!("{APPARMOR}{container}"): value}});
    let pod_field = |t: &str| b(json!({"securityContext": {"appArmorProfile": {"type": t}}}));
    vec![
        fail(
            C,
            "annotation unconfined (v1.0)",
            "baseline:v1.0",
            b(json!({})),
            &["/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app"],
        )
        .meta(ann("app", "unconfined")),
        fail(
            C,
            "annotation unconfined (latest)",
            "baseline:latest",
            b(json!({})),
            &["/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app"],
        )
        .meta(ann("app", "unconfined")),
        fail(
            C,
            "annotation of an init container",
            "baseline:latest",
            b(json!({"initContainers": [{"name": "init", "image": "init"}]})),
            &["/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1init"],
        )
        .meta(ann("init", "unconfined")),
        fail(
            C,
            "pod field Unconfined (v1.30)",
            "baseline:v1.30",
            pod_field("Unconfined"),
            &["/spec/securityContext/appArmorProfile/type"],
        ),
        // The field check was patched into upstream's 1.0 function: it applies at every version.
        fail(
            C,
            "pod field Unconfined (v1.29, not version gated)",
            "baseline:v1.29",
            pod_field("Unconfined"),
            &["/spec/securityContext/appArmorProfile/type"],
        ),
        fail(
            C,
            "pod field without a type",
            "baseline:latest",
            b(json!({"securityContext": {"appArmorProfile": {}}})),
            &["/spec/securityContext/appArmorProfile"],
        ),
        fail(
            C,
            "container field Unconfined",
            "baseline:v1.0",
            b(
                json!({"containers": [{"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}),
            ),
            &["/spec/containers/0/securityContext/appArmorProfile/type"],
        ),
        fail(
            C,
            "pod and container fields Unconfined",
            "baseline:latest",
            b(
                json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}},
                "containers": [{"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}]}),
            ),
            &[
                "/spec/securityContext/appArmorProfile/type",
                "/spec/containers/0/securityContext/appArmorProfile/type",
            ],
        ),
        pass(
            C,
            "annotation runtime/default",
            "baseline:latest",
            b(json!({})),
        )
        .meta(ann("app", "runtime/default")),
        pass(
            C,
            "annotation localhost/profile",
            "baseline:v1.0",
            b(json!({})),
        )
        .meta(ann("app", "localhost/my-profile")),
        pass(C, "annotation empty", "baseline:latest", b(json!({}))).meta(ann("app", "")),
        pass(
            C,
            "unrelated annotation unconfined",
            "baseline:latest",
            b(json!({})),
        )
        .meta(json!({"annotations": {"apparmor.example.com/app": "unconfined"}})),
        pass(
            C,
            "pod field RuntimeDefault",
            "baseline:latest",
            pod_field("RuntimeDefault"),
        ),
        pass(
            C,
            "pod field Localhost, container RuntimeDefault",
            "baseline:v1.30",
            b(
                json!({"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}},
                "containers": [{"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}]}),
            ),
        ),
    ]
}

const BASELINE_CAPS: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

fn capabilities_baseline_cases() -> Vec<Case> {
    use Check::CapabilitiesBaseline as C;
    let add = |caps: Value| {
        b(json!({"containers": [{"securityContext": {"capabilities": {"add": caps}}}]}))
    };
    let mut cases = vec![
        fail(
            C,
            "NET_RAW",
            "baseline:latest",
            add(json!(["NET_RAW"])),
            &["/spec/containers/0/securityContext/capabilities/add/0"],
        ),
        fail(
            C,
            "NET_ADMIN after an allowed one (v1.0)",
            "baseline:v1.0",
            add(json!(["CHOWN", "NET_ADMIN"])),
            &["/spec/containers/0/securityContext/capabilities/add/1"],
        ),
        fail(
            C,
            "lower-case chown is not CHOWN",
            "baseline:latest",
            add(json!(["chown"])),
            &["/spec/containers/0/securityContext/capabilities/add/0"],
        ),
        fail(
            C,
            "CAP_ prefix is not stripped",
            "baseline:latest",
            add(json!(["CAP_CHOWN"])),
            &["/spec/containers/0/securityContext/capabilities/add/0"],
        ),
        fail(
            C,
            "istio-init NET_ADMIN, NET_RAW in an init container",
            "baseline:latest",
            b(
                json!({"initContainers": [{"name": "istio-init", "securityContext": {
                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}}}]}),
            ),
            &["/spec/initContainers/0/securityContext/capabilities/add/0"],
        ),
        fail(
            C,
            "two offending containers",
            "baseline:latest",
            b(
                json!({"containers": [{"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}},
                {"name": "b", "securityContext": {"capabilities": {"add": ["KILL", "SYS_PTRACE"]}}}]}),
            ),
            &[
                "/spec/containers/0/securityContext/capabilities/add/0",
                "/spec/containers/1/securityContext/capabilities/add/1",
            ],
        ),
        pass(
            C,
            "all 13 baseline capabilities",
            "baseline:latest",
            add(json!(BASELINE_CAPS)),
        ),
        pass(
            C,
            "all 13 baseline capabilities (v1.0)",
            "baseline:v1.0",
            add(json!(BASELINE_CAPS)),
        ),
        pass(
            C,
            "drop only",
            "baseline:latest",
            b(
                json!({"containers": [{"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}),
            ),
        ),
        pass(C, "empty add", "baseline:latest", add(json!([]))),
    ];
    for cap in BASELINE_CAPS {
        cases.push(pass(
            C,
            format!("{cap} alone"),
            "baseline:latest",
            add(json!([cap])),
        ));
    }
    cases
}

fn host_namespaces_cases() -> Vec<Case> {
    use Check::HostNamespaces as C;
    vec![
        fail(
            C,
            "hostNetwork",
            "baseline:latest",
            b(json!({"hostNetwork": true})),
            &["/spec/hostNetwork"],
        ),
        fail(
            C,
            "hostPID",
            "baseline:v1.0",
            b(json!({"hostPID": true})),
            &["/spec/hostPID"],
        ),
        fail(
            C,
            "hostIPC",
            "baseline:latest",
            b(json!({"hostIPC": true})),
            &["/spec/hostIPC"],
        ),
        fail(
            C,
            "all three",
            "baseline:latest",
            b(json!({"hostNetwork": true, "hostPID": true, "hostIPC": true})),
            &["/spec/hostNetwork", "/spec/hostPID", "/spec/hostIPC"],
        ),
        pass(
            C,
            "all three false",
            "baseline:latest",
            b(json!({"hostNetwork": false, "hostPID": false, "hostIPC": false})),
        ),
    ]
}

fn host_path_volumes_cases() -> Vec<Case> {
    use Check::HostPathVolumes as C;
    vec![
        fail(
            C,
            "hostPath",
            "baseline:latest",
            b(json!({"volumes": [{"name": "h", "hostPath": {"path": "/var/run"}}]})),
            &["/spec/volumes/0/hostPath"],
        ),
        fail(
            C,
            "second volume is hostPath (v1.0)",
            "baseline:v1.0",
            b(
                json!({"volumes": [{"name": "e", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}}]}),
            ),
            &["/spec/volumes/1/hostPath"],
        ),
        pass(
            C,
            "emptyDir and configMap",
            "baseline:latest",
            b(
                json!({"volumes": [{"name": "e", "emptyDir": {}}, {"name": "c", "configMap": {"name": "c"}}]}),
            ),
        ),
        // Baseline forbids hostPath only; nfs is restricted's business.
        pass(
            C,
            "nfs at baseline",
            "baseline:latest",
            b(json!({"volumes": [{"name": "n", "nfs": {"server": "s", "path": "/"}}]})),
        ),
    ]
}

fn host_ports_cases() -> Vec<Case> {
    use Check::HostPorts as C;
    let ports = |p: Value| b(json!({"containers": [{"ports": p}]}));
    vec![
        fail(
            C,
            "hostPort 8080",
            "baseline:latest",
            ports(json!([{"containerPort": 8080, "hostPort": 8080}])),
            &["/spec/containers/0/ports/0/hostPort"],
        ),
        fail(
            C,
            "second port has a hostPort (v1.0)",
            "baseline:v1.0",
            ports(json!([{"containerPort": 80}, {"containerPort": 81, "hostPort": 81}])),
            &["/spec/containers/0/ports/1/hostPort"],
        ),
        fail(
            C,
            "hostPort in an init container",
            "baseline:latest",
            b(
                json!({"initContainers": [{"name": "init", "ports": [{"containerPort": 1, "hostPort": 1}]}]}),
            ),
            &["/spec/initContainers/0/ports/0/hostPort"],
        ),
        pass(
            C,
            "hostPort 0",
            "baseline:latest",
            ports(json!([{"containerPort": 8080, "hostPort": 0}])),
        ),
        pass(
            C,
            "containerPort only",
            "baseline:latest",
            ports(json!([{"containerPort": 8080}])),
        ),
    ]
}

fn host_probes_cases() -> Vec<Case> {
    use Check::HostProbesAndHostLifecycle as C;
    let ctr = |c: Value| b(json!({"containers": [c]}));
    let liveness = ctr(json!({"livenessProbe": {"httpGet": {"host": "bad.host", "port": 8080}}}));
    vec![
        fail(
            C,
            "liveness httpGet host (v1.34)",
            "baseline:v1.34",
            liveness.clone(),
            &["/spec/containers/0/livenessProbe/httpGet/host"],
        ),
        fail(
            C,
            "liveness httpGet host (latest)",
            "baseline:latest",
            liveness.clone(),
            &["/spec/containers/0/livenessProbe/httpGet/host"],
        ),
        pass(
            C,
            "liveness httpGet host before v1.34",
            "baseline:v1.33",
            liveness,
        ),
        fail(
            C,
            "readiness tcpSocket host in an init container",
            "baseline:latest",
            b(
                json!({"initContainers": [{"name": "init", "restartPolicy": "Always",
                "readinessProbe": {"tcpSocket": {"host": "8.8.8.8", "port": 8080}}}]}),
            ),
            &["/spec/initContainers/0/readinessProbe/tcpSocket/host"],
        ),
        fail(
            C,
            "startup httpGet 127.0.0.1 (loopback is still a host)",
            "baseline:latest",
            ctr(json!({"startupProbe": {"httpGet": {"host": "127.0.0.1", "port": 8080}}})),
            &["/spec/containers/0/startupProbe/httpGet/host"],
        ),
        fail(
            C,
            "postStart httpGet host",
            "baseline:latest",
            ctr(json!({"lifecycle": {"postStart": {"httpGet": {"host": "bad.host", "port": 80}}}})),
            &["/spec/containers/0/lifecycle/postStart/httpGet/host"],
        ),
        fail(
            C,
            "preStop tcpSocket ::1",
            "baseline:latest",
            ctr(json!({"lifecycle": {"preStop": {"tcpSocket": {"host": "::1", "port": 80}}}})),
            &["/spec/containers/0/lifecycle/preStop/tcpSocket/host"],
        ),
        pass(
            C,
            "httpGet without host",
            "baseline:latest",
            ctr(json!({"livenessProbe": {"httpGet": {"port": 8080}}})),
        ),
        pass(
            C,
            "tcpSocket with empty host",
            "baseline:latest",
            ctr(json!({"readinessProbe": {"tcpSocket": {"host": "", "port": 8080}}})),
        ),
        pass(
            C,
            "exec probe and lifecycle",
            "baseline:latest",
            ctr(json!({"livenessProbe": {"exec": {"command": ["true"]}},
                "lifecycle": {"preStop": {"exec": {"command": ["true"]}}}})),
        ),
    ]
}

fn privileged_cases() -> Vec<Case> {
    use Check::Privileged as C;
    let sc = |s: Value| b(json!({"containers": [{"securityContext": s}]}));
    vec![
        fail(
            C,
            "privileged: true",
            "baseline:latest",
            sc(json!({"privileged": true})),
            &["/spec/containers/0/securityContext/privileged"],
        ),
        fail(
            C,
            "privileged: true (v1.0)",
            "baseline:v1.0",
            sc(json!({"privileged": true})),
            &["/spec/containers/0/securityContext/privileged"],
        ),
        pass(
            C,
            "privileged: false",
            "baseline:latest",
            sc(json!({"privileged": false})),
        ),
        pass(C, "empty securityContext", "baseline:latest", sc(json!({}))),
    ]
}

fn proc_mount_cases() -> Vec<Case> {
    use Check::ProcMount as C;
    let pm = |v: &str, host_users: Value| {
        b(json!({"hostUsers": host_users, "containers": [{"securityContext": {"procMount": v}}]}))
    };
    vec![
        fail(
            C,
            "Unmasked",
            "baseline:latest",
            pm("Unmasked", Value::Null),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked (v1.0)",
            "baseline:v1.0",
            pm("Unmasked", Value::Null),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked in an init container",
            "baseline:latest",
            b(
                json!({"initContainers": [{"name": "init", "securityContext": {"procMount": "Unmasked"}}]}),
            ),
            &["/spec/initContainers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked with hostUsers: false before v1.35",
            "baseline:v1.34",
            pm("Unmasked", json!(false)),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked with hostUsers: true (v1.35)",
            "baseline:v1.35",
            pm("Unmasked", json!(true)),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        pass(C, "Default", "baseline:latest", pm("Default", Value::Null)),
        pass(
            C,
            "Default with hostUsers: false (v1.34)",
            "baseline:v1.34",
            pm("Default", json!(false)),
        ),
        pass(
            C,
            "Unmasked with hostUsers: false (v1.35)",
            "baseline:v1.35",
            pm("Unmasked", json!(false)),
        ),
        pass(
            C,
            "Unmasked with hostUsers: false (latest)",
            "baseline:latest",
            pm("Unmasked", json!(false)),
        ),
    ]
}

fn se_linux_cases() -> Vec<Case> {
    use Check::SeLinuxOptions as C;
    let pod = |o: Value| b(json!({"securityContext": {"seLinuxOptions": o}}));
    let ctr = |o: Value| b(json!({"containers": [{"securityContext": {"seLinuxOptions": o}}]}));
    let mut cases = vec![
        fail(
            C,
            "pod type spc_t",
            "baseline:latest",
            pod(json!({"type": "spc_t"})),
            &["/spec/securityContext/seLinuxOptions/type"],
        ),
        fail(
            C,
            "container user",
            "baseline:latest",
            ctr(json!({"user": "sysadm_u"})),
            &["/spec/containers/0/securityContext/seLinuxOptions/user"],
        ),
        fail(
            C,
            "container role (v1.0)",
            "baseline:v1.0",
            ctr(json!({"role": "sysadm_r"})),
            &["/spec/containers/0/securityContext/seLinuxOptions/role"],
        ),
        fail(
            C,
            "bad type and user: one violation at the type",
            "baseline:latest",
            ctr(json!({"type": "spc_t", "user": "u"})),
            &["/spec/containers/0/securityContext/seLinuxOptions/type"],
        ),
        fail(
            C,
            "init container type",
            "baseline:latest",
            b(
                json!({"initContainers": [{"name": "init", "securityContext": {"seLinuxOptions": {"type": "unconfined_t"}}}]}),
            ),
            &["/spec/initContainers/0/securityContext/seLinuxOptions/type"],
        ),
        fail(
            C,
            "container_engine_t before v1.31",
            "baseline:v1.30",
            ctr(json!({"type": "container_engine_t"})),
            &["/spec/containers/0/securityContext/seLinuxOptions/type"],
        ),
        pass(
            C,
            "container_engine_t (v1.31)",
            "baseline:v1.31",
            ctr(json!({"type": "container_engine_t"})),
        ),
        pass(
            C,
            "container_engine_t (latest)",
            "baseline:latest",
            pod(json!({"type": "container_engine_t"})),
        ),
        pass(
            C,
            "level only",
            "baseline:latest",
            ctr(json!({"level": "s0:c123,c456"})),
        ),
        pass(C, "empty options", "baseline:latest", ctr(json!({}))),
        pass(
            C,
            "empty type, user and role",
            "baseline:latest",
            ctr(json!({"type": "", "user": "", "role": ""})),
        ),
    ];
    for t in ["container_t", "container_init_t", "container_kvm_t"] {
        cases.push(pass(
            C,
            format!("{t} (v1.0)"),
            "baseline:v1.0",
            ctr(json!({"type": t})),
        ));
        cases.push(pass(
            C,
            format!("{t} at the pod"),
            "baseline:latest",
            pod(json!({"type": t})),
        ));
    }
    cases
}

const SECCOMP_POD: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn seccomp_baseline_cases() -> Vec<Case> {
    use Check::SeccompProfileBaseline as C;
    let pod = |t: &str| b(json!({"securityContext": {"seccompProfile": {"type": t}}}));
    let ctr =
        |t: &str| b(json!({"containers": [{"securityContext": {"seccompProfile": {"type": t}}}]}));
    let ann = |k: String, v: &str| json!({"annotations": {k: v}});
    let with_init = || b(json!({"initContainers": [{"name": "init"}]}));
    vec![
        fail(
            C,
            "pod Unconfined",
            "baseline:latest",
            pod("Unconfined"),
            &["/spec/securityContext/seccompProfile/type"],
        ),
        fail(
            C,
            "container Unconfined (v1.19)",
            "baseline:v1.19",
            ctr("Unconfined"),
            &["/spec/containers/0/securityContext/seccompProfile/type"],
        ),
        pass(
            C,
            "pod RuntimeDefault",
            "baseline:latest",
            pod("RuntimeDefault"),
        ),
        pass(
            C,
            "container Localhost",
            "baseline:latest",
            b(
                json!({"containers": [{"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}]}),
            ),
        ),
        // Before v1.19 only the alpha annotations count.
        pass(
            C,
            "pod field Unconfined before v1.19",
            "baseline:v1.18",
            pod("Unconfined"),
        ),
        fail(
            C,
            "pod annotation unconfined (v1.18)",
            "baseline:v1.18",
            b(json!({})),
            &["/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod"],
        )
        .meta(ann(SECCOMP_POD.into(), "unconfined")),
        fail(
            C,
            "init container annotation unconfined (v1.0)",
            "baseline:v1.0",
            with_init(),
            &["/metadata/annotations/container.seccomp.security.alpha.kubernetes.io~1init"],
        )
        .meta(ann(format!("{SECCOMP_CONTAINER}init"), "unconfined")),
        // Anything but runtime/default, docker/default and localhost/* is forbidden, not just
        // unconfined.
        fail(
            C,
            "container annotation with an unknown value (v1.18)",
            "baseline:v1.18",
            b(json!({})),
            &["/metadata/annotations/container.seccomp.security.alpha.kubernetes.io~1app"],
        )
        .meta(ann(format!("{SECCOMP_CONTAINER}app"), "my-profile")),
        fail(
            C,
            "empty pod annotation (v1.18)",
            "baseline:v1.18",
            b(json!({})),
            &["/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod"],
        )
        .meta(ann(SECCOMP_POD.into(), "")),
        fail(
            C,
            "ephemeral container annotation unconfined (v1.18)",
            "baseline:v1.18",
            b(json!({"ephemeralContainers": [{"name": "debug"}]})),
            &["/metadata/annotations/container.seccomp.security.alpha.kubernetes.io~1debug"],
        )
        .meta(ann(format!("{SECCOMP_CONTAINER}debug"), "unconfined")),
        pass(
            C,
            "pod annotation unconfined from v1.19",
            "baseline:v1.19",
            b(json!({})),
        )
        .meta(ann(SECCOMP_POD.into(), "unconfined")),
        pass(
            C,
            "annotation runtime/default, docker/default, localhost/ (v1.18)",
            "baseline:v1.18",
            with_init(),
        )
        .meta(json!({"annotations": {
            SECCOMP_POD: "runtime/default",
            format!("{SECCOMP_CONTAINER}app"): "docker/default",
            format!("{SECCOMP_CONTAINER}init"): "localhost/profile.json",
        }})),
        pass(
            C,
            "annotation for a container the pod does not have (v1.18)",
            "baseline:v1.18",
            b(json!({})),
        )
        .meta(ann(format!("{SECCOMP_CONTAINER}other"), "unconfined")),
    ]
}

fn sysctls(names: &[&str]) -> Value {
    let list: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "value": "1"}))
        .collect();
    b(json!({"securityContext": {"sysctls": list}}))
}

fn sysctl_cases() -> Vec<Case> {
    use Check::Sysctls as C;
    let original = [
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    let mut cases = vec![
        fail(
            C,
            "kernel.msgmax",
            "baseline:latest",
            sysctls(&["kernel.msgmax"]),
            &["/spec/securityContext/sysctls/0"],
        ),
        fail(
            C,
            "unsafe one after a safe one",
            "baseline:latest",
            sysctls(&["kernel.shm_rmid_forced", "net.core.somaxconn"]),
            &["/spec/securityContext/sysctls/1"],
        ),
        fail(
            C,
            "two unsafe",
            "baseline:v1.0",
            sysctls(&["a.b", "c.d"]),
            &[
                "/spec/securityContext/sysctls/0",
                "/spec/securityContext/sysctls/1",
            ],
        ),
        pass(
            C,
            "the five original safe sysctls (v1.0)",
            "baseline:v1.0",
            sysctls(&original),
        ),
        pass(
            C,
            "the five original safe sysctls (latest)",
            "baseline:latest",
            sysctls(&original),
        ),
        pass(C, "no sysctls", "baseline:latest", sysctls(&[])),
    ];
    // (sysctl, the version it became safe).
    let gated = [
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_fin_timeout", 29),
        ("net.ipv4.tcp_keepalive_intvl", 29),
        ("net.ipv4.tcp_keepalive_probes", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_slow_start_after_idle", 37),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ];
    for (name, since) in gated {
        cases.push(fail(
            C,
            format!("{name} before v1.{since}"),
            &format!("baseline:v1.{}", since - 1),
            sysctls(&[name]),
            &["/spec/securityContext/sysctls/0"],
        ));
        cases.push(pass(
            C,
            format!("{name} at v1.{since}"),
            &format!("baseline:v1.{since}"),
            sysctls(&[name]),
        ));
        cases.push(pass(
            C,
            format!("{name} at latest"),
            "baseline:latest",
            sysctls(&[name]),
        ));
        // A version newer than any check evaluates as the newest.
        cases.push(pass(
            C,
            format!("{name} at v1.99"),
            "baseline:v1.99",
            sysctls(&[name]),
        ));
    }
    cases
}

fn windows_host_process_cases() -> Vec<Case> {
    use Check::WindowsHostProcess as C;
    let pod = |hp: bool| b(json!({"securityContext": {"windowsOptions": {"hostProcess": hp}}}));
    let ctr = |hp: bool| {
        b(json!({"containers": [{"securityContext": {"windowsOptions": {"hostProcess": hp}}}]}))
    };
    vec![
        fail(
            C,
            "pod hostProcess",
            "baseline:latest",
            pod(true),
            &["/spec/securityContext/windowsOptions/hostProcess"],
        ),
        fail(
            C,
            "container hostProcess (v1.0)",
            "baseline:v1.0",
            ctr(true),
            &["/spec/containers/0/securityContext/windowsOptions/hostProcess"],
        ),
        fail(
            C,
            "pod and container hostProcess",
            "baseline:latest",
            b(
                json!({"securityContext": {"windowsOptions": {"hostProcess": true}},
                "containers": [{"securityContext": {"windowsOptions": {"hostProcess": true}}}]}),
            ),
            &[
                "/spec/securityContext/windowsOptions/hostProcess",
                "/spec/containers/0/securityContext/windowsOptions/hostProcess",
            ],
        ),
        pass(C, "pod hostProcess false", "baseline:latest", pod(false)),
        pass(
            C,
            "container hostProcess false",
            "baseline:latest",
            ctr(false),
        ),
        pass(
            C,
            "windowsOptions without hostProcess",
            "baseline:latest",
            b(json!({"securityContext": {"windowsOptions": {"runAsUserName": "ContainerUser"}}})),
        ),
    ]
}

// ----------------------------------------------------------------------------------------------
// Restricted checks.

fn allow_privilege_escalation_cases() -> Vec<Case> {
    use Check::AllowPrivilegeEscalation as C;
    let unset =
        || r(json!({"containers": [{"securityContext": {"allowPrivilegeEscalation": null}}]}));
    let windows_unset = || patched(unset(), json!({"os": {"name": "windows"}}));
    vec![
        fail(
            C,
            "unset",
            "restricted:latest",
            unset(),
            &["/spec/containers/0/securityContext"],
        ),
        fail(
            C,
            "true",
            "restricted:latest",
            r(json!({"containers": [{"securityContext": {"allowPrivilegeEscalation": true}}]})),
            &["/spec/containers/0/securityContext/allowPrivilegeEscalation"],
        ),
        // Before v1.22 nothing else needs a container securityContext.
        fail(
            C,
            "no securityContext (v1.21)",
            "restricted:v1.21",
            r(json!({"containers": [{"securityContext": null}]})),
            &["/spec/containers/0"],
        ),
        fail(
            C,
            "unset (v1.8)",
            "restricted:v1.8",
            unset(),
            &["/spec/containers/0/securityContext"],
        ),
        pass(C, "unset before v1.8", "restricted:v1.7", unset()),
        pass(C, "false", "restricted:latest", r(json!({}))),
        pass(C, "unset at baseline", "baseline:latest", unset()),
        fail(
            C,
            "unset on windows before v1.25",
            "restricted:v1.24",
            windows_unset(),
            &["/spec/containers/0/securityContext"],
        ),
        pass(
            C,
            "unset on windows (v1.25)",
            "restricted:v1.25",
            windows_unset(),
        ),
        fail(
            C,
            "unset on linux (v1.25)",
            "restricted:v1.25",
            patched(unset(), json!({"os": {"name": "linux"}})),
            &["/spec/containers/0/securityContext"],
        ),
    ]
}

fn capabilities_restricted_cases() -> Vec<Case> {
    use Check::CapabilitiesRestricted as C;
    let caps = |c: Value| r(json!({"containers": [{"securityContext": {"capabilities": c}}]}));
    let no_caps = || r(json!({"containers": [{"securityContext": {"capabilities": null}}]}));
    vec![
        fail(
            C,
            "no capabilities (v1.22)",
            "restricted:v1.22",
            no_caps(),
            &["/spec/containers/0/securityContext"],
        ),
        pass(
            C,
            "no capabilities before v1.22",
            "restricted:v1.21",
            no_caps(),
        ),
        fail(
            C,
            "empty capabilities",
            "restricted:latest",
            caps(json!({"drop": null})),
            &["/spec/containers/0/securityContext/capabilities"],
        ),
        fail(
            C,
            "drops every capability by name, not ALL",
            "restricted:latest",
            caps(json!({"drop": BASELINE_CAPS})),
            &["/spec/containers/0/securityContext/capabilities/drop"],
        ),
        fail(
            C,
            "drop all in lower case",
            "restricted:latest",
            caps(json!({"drop": ["all"]})),
            &["/spec/containers/0/securityContext/capabilities/drop"],
        ),
        fail(
            C,
            "drop ALL, add NET_RAW: restricted overrides baseline",
            "restricted:latest",
            caps(json!({"drop": ["ALL"], "add": ["NET_RAW"]})),
            &["/spec/containers/0/securityContext/capabilities/add/0"],
        ),
        fail(
            C,
            "drop ALL, add CHOWN (allowed by baseline)",
            "restricted:latest",
            caps(json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE", "CHOWN"]})),
            &["/spec/containers/0/securityContext/capabilities/add/1"],
        ),
        fail(
            C,
            "no drop and a bad add",
            "restricted:latest",
            caps(json!({"drop": null, "add": ["NET_ADMIN"]})),
            &[
                "/spec/containers/0/securityContext/capabilities",
                "/spec/containers/0/securityContext/capabilities/add/0",
            ],
        ),
        pass(
            C,
            "drop ALL, add NET_BIND_SERVICE",
            "restricted:latest",
            caps(json!({"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
        ),
        pass(
            C,
            "drop ALL among others",
            "restricted:v1.22",
            caps(json!({"drop": ["NET_RAW", "ALL"]})),
        ),
        pass(
            C,
            "add CHOWN before v1.22",
            "restricted:v1.21",
            caps(json!({"add": ["CHOWN"]})),
        ),
        mixed(
            C,
            "add NET_RAW before v1.22 is the baseline check",
            "restricted:v1.21",
            caps(json!({"drop": ["ALL"], "add": ["NET_RAW"]})),
            &[(
                Check::CapabilitiesBaseline,
                "/spec/containers/0/securityContext/capabilities/add/0",
            )],
        ),
        fail(
            C,
            "no capabilities on windows before v1.25",
            "restricted:v1.24",
            patched(no_caps(), json!({"os": {"name": "windows"}})),
            &["/spec/containers/0/securityContext"],
        ),
        pass(
            C,
            "no capabilities on windows (v1.25)",
            "restricted:v1.25",
            patched(no_caps(), json!({"os": {"name": "windows"}})),
        ),
    ]
}

fn proc_mount_restricted_cases() -> Vec<Case> {
    use Check::ProcMountRestricted as C;
    let pm = |v: &str, host_users: Value| {
        r(json!({"hostUsers": host_users, "containers": [{"securityContext": {"procMount": v}}]}))
    };
    vec![
        fail(
            C,
            "Unmasked (v1.35)",
            "restricted:v1.35",
            pm("Unmasked", Value::Null),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked with hostUsers: false (v1.35)",
            "restricted:v1.35",
            pm("Unmasked", json!(false)),
            &["/spec/containers/0/securityContext/procMount"],
        ),
        fail(
            C,
            "Unmasked in an init container (latest)",
            "restricted:latest",
            r(
                json!({"initContainers": [patched(rc("init"), json!({"securityContext": {"procMount": "Unmasked"}}))]}),
            ),
            &["/spec/initContainers/0/securityContext/procMount"],
        ),
        mixed(
            C,
            "Unmasked before v1.35 is the baseline check",
            "restricted:v1.34",
            pm("Unmasked", json!(false)),
            &[(
                Check::ProcMount,
                "/spec/containers/0/securityContext/procMount",
            )],
        ),
        pass(
            C,
            "Default with hostUsers: false (v1.35)",
            "restricted:v1.35",
            pm("Default", json!(false)),
        ),
        pass(
            C,
            "Default (latest)",
            "restricted:latest",
            pm("Default", Value::Null),
        ),
    ]
}

/// The volume sources restricted forbids.
const RESTRICTED_SOURCES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// The volume sources restricted allows.
const ALLOWED_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

fn restricted_volumes_cases() -> Vec<Case> {
    use Check::RestrictedVolumes as C;
    let vol = |source: &str| r(json!({"volumes": [{"name": "v", source: {}}]}));
    let mut cases = vec![
        fail(
            C,
            "hostPath: restricted overrides hostPathVolumes",
            "restricted:latest",
            r(json!({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]})),
            &["/spec/volumes/0/hostPath"],
        ),
        fail(
            C,
            "second volume nfs",
            "restricted:latest",
            r(
                json!({"volumes": [{"name": "s", "secret": {"secretName": "s"}},
                {"name": "n", "nfs": {"server": "s", "path": "/"}}]}),
            ),
            &["/spec/volumes/1/nfs"],
        ),
        // API defaulting turns a volume without a source into an emptyDir before admission.
        pass(
            C,
            "volume without a source",
            "restricted:latest",
            r(json!({"volumes": [{"name": "v"}]})),
        ),
        pass(
            C,
            "no volumes",
            "restricted:latest",
            r(json!({"volumes": []})),
        ),
    ];
    for source in RESTRICTED_SOURCES {
        let ptr = format!("/spec/volumes/0/{source}");
        for policy in ["restricted:v1.0", "restricted:latest"] {
            cases.push(fail(
                C,
                format!("{source} volume"),
                policy,
                vol(source),
                &[ptr.as_str()],
            ));
        }
    }
    // `image` was added to upstream's 1.0 function: allowed at every version.
    for source in ALLOWED_SOURCES {
        for policy in ["restricted:v1.0", "restricted:latest"] {
            cases.push(pass(C, format!("{source} volume"), policy, vol(source)));
        }
    }
    cases
}

fn run_as_non_root_cases() -> Vec<Case> {
    use Check::RunAsNonRoot as C;
    let pod_unset = || r(json!({"securityContext": {"runAsNonRoot": null}}));
    vec![
        fail(
            C,
            "unset everywhere",
            "restricted:latest",
            pod_unset(),
            &["/spec/containers/0/securityContext"],
        ),
        fail(
            C,
            "unset everywhere (v1.0)",
            "restricted:v1.0",
            pod_unset(),
            &["/spec/containers/0/securityContext"],
        ),
        fail(
            C,
            "pod false: the pod and the container without a value",
            "restricted:latest",
            r(json!({"securityContext": {"runAsNonRoot": false}})),
            &[
                "/spec/securityContext/runAsNonRoot",
                "/spec/containers/0/securityContext",
            ],
        ),
        fail(
            C,
            "pod true, container false",
            "restricted:latest",
            r(json!({"containers": [{"securityContext": {"runAsNonRoot": false}}]})),
            &["/spec/containers/0/securityContext/runAsNonRoot"],
        ),
        fail(
            C,
            "pod true, init container false",
            "restricted:latest",
            r(
                json!({"initContainers": [patched(rc("init"), json!({"securityContext": {"runAsNonRoot": false}}))]}),
            ),
            &["/spec/initContainers/0/securityContext/runAsNonRoot"],
        ),
        fail(
            C,
            "pod unset, container true, init container unset",
            "restricted:latest",
            r(json!({"securityContext": {"runAsNonRoot": null},
                "initContainers": [rc("init")],
                "containers": [{"securityContext": {"runAsNonRoot": true}}]})),
            &["/spec/initContainers/0/securityContext"],
        ),
        pass(C, "pod true", "restricted:latest", r(json!({}))),
        pass(
            C,
            "pod unset, every container true",
            "restricted:latest",
            r(json!({"securityContext": {"runAsNonRoot": null},
                "initContainers": [patched(rc("init"), json!({"securityContext": {"runAsNonRoot": true}}))],
                "containers": [{"securityContext": {"runAsNonRoot": true}}]})),
        ),
        pass(C, "unset at baseline", "baseline:latest", pod_unset()),
        fail(
            C,
            "unset with hostUsers: false before v1.35",
            "restricted:v1.34",
            patched(pod_unset(), json!({"hostUsers": false})),
            &["/spec/containers/0/securityContext"],
        ),
        pass(
            C,
            "unset with hostUsers: false (v1.35)",
            "restricted:v1.35",
            patched(pod_unset(), json!({"hostUsers": false})),
        ),
        fail(
            C,
            "unset with hostUsers: true (v1.35)",
            "restricted:v1.35",
            patched(pod_unset(), json!({"hostUsers": true})),
            &["/spec/containers/0/securityContext"],
        ),
        fail(
            C,
            "unset on windows (no exemption)",
            "restricted:latest",
            patched(pod_unset(), json!({"os": {"name": "windows"}})),
            &["/spec/containers/0/securityContext"],
        ),
    ]
}

fn run_as_user_cases() -> Vec<Case> {
    use Check::RunAsUser as C;
    let pod0 = || r(json!({"securityContext": {"runAsUser": 0}}));
    vec![
        fail(
            C,
            "pod 0",
            "restricted:latest",
            pod0(),
            &["/spec/securityContext/runAsUser"],
        ),
        fail(
            C,
            "pod 0 (v1.23)",
            "restricted:v1.23",
            pod0(),
            &["/spec/securityContext/runAsUser"],
        ),
        pass(C, "pod 0 before v1.23", "restricted:v1.22", pod0()),
        fail(
            C,
            "container 0",
            "restricted:latest",
            r(json!({"containers": [{"securityContext": {"runAsUser": 0}}]})),
            &["/spec/containers/0/securityContext/runAsUser"],
        ),
        fail(
            C,
            "init container 0",
            "restricted:latest",
            r(
                json!({"initContainers": [patched(rc("init"), json!({"securityContext": {"runAsUser": 0}}))]}),
            ),
            &["/spec/initContainers/0/securityContext/runAsUser"],
        ),
        fail(
            C,
            "pod 0 even when the container overrides it",
            "restricted:latest",
            r(
                json!({"securityContext": {"runAsUser": 0}, "containers": [{"securityContext": {"runAsUser": 1000}}]}),
            ),
            &["/spec/securityContext/runAsUser"],
        ),
        pass(
            C,
            "pod 1",
            "restricted:latest",
            r(json!({"securityContext": {"runAsUser": 1}})),
        ),
        pass(
            C,
            "pod and container 1000",
            "restricted:latest",
            r(
                json!({"securityContext": {"runAsUser": 1000}, "containers": [{"securityContext": {"runAsUser": 1000}}]}),
            ),
        ),
        pass(C, "pod 0 at baseline", "baseline:latest", pod0()),
        fail(
            C,
            "pod 0 with hostUsers: false before v1.35",
            "restricted:v1.34",
            patched(pod0(), json!({"hostUsers": false})),
            &["/spec/securityContext/runAsUser"],
        ),
        pass(
            C,
            "pod 0 with hostUsers: false (v1.35)",
            "restricted:v1.35",
            patched(pod0(), json!({"hostUsers": false})),
        ),
    ]
}

fn seccomp_restricted_cases() -> Vec<Case> {
    use Check::SeccompProfileRestricted as C;
    let unset = || r(json!({"securityContext": {"seccompProfile": null}}));
    let pod = |t: &str| r(json!({"securityContext": {"seccompProfile": {"type": t}}}));
    vec![
        fail(
            C,
            "unset (v1.19)",
            "restricted:v1.19",
            unset(),
            &["/spec/containers/0/securityContext"],
        ),
        fail(
            C,
            "unset (latest)",
            "restricted:latest",
            unset(),
            &["/spec/containers/0/securityContext"],
        ),
        pass(C, "unset before v1.19", "restricted:v1.18", unset()),
        fail(
            C,
            "pod Unconfined: restricted overrides baseline; the container has none either",
            "restricted:latest",
            pod("Unconfined"),
            &[
                "/spec/securityContext/seccompProfile/type",
                "/spec/containers/0/securityContext",
            ],
        ),
        fail(
            C,
            "pod RuntimeDefault, container Unconfined",
            "restricted:latest",
            r(
                json!({"containers": [{"securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}),
            ),
            &["/spec/containers/0/securityContext/seccompProfile/type"],
        ),
        fail(
            C,
            "pod unset, one of two containers set",
            "restricted:latest",
            r(json!({"securityContext": {"seccompProfile": null},
                "initContainers": [rc("init")],
                "containers": [{"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]})),
            &["/spec/initContainers/0/securityContext"],
        ),
        pass(
            C,
            "pod RuntimeDefault",
            "restricted:latest",
            pod("RuntimeDefault"),
        ),
        pass(
            C,
            "pod Localhost",
            "restricted:latest",
            r(
                json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p.json"}}}),
            ),
        ),
        pass(
            C,
            "pod unset, every container set",
            "restricted:latest",
            r(json!({"securityContext": {"seccompProfile": null},
                "initContainers": [patched(rc("init"), json!({"securityContext": {"seccompProfile": {"type": "Localhost", "localhostProfile": "p"}}}))],
                "containers": [{"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}}]})),
        ),
        pass(C, "unset at baseline", "baseline:latest", unset()),
        fail(
            C,
            "unset on windows before v1.25",
            "restricted:v1.24",
            patched(unset(), json!({"os": {"name": "windows"}})),
            &["/spec/containers/0/securityContext"],
        ),
        pass(
            C,
            "unset on windows (v1.25)",
            "restricted:v1.25",
            patched(unset(), json!({"os": {"name": "windows"}})),
        ),
        mixed(
            C,
            "pod Unconfined before v1.19 is the baseline check: fields not checked yet",
            "restricted:v1.18",
            pod("Unconfined"),
            &[],
        ),
        mixed(
            C,
            "annotation unconfined before v1.19 is the baseline check",
            "restricted:v1.18",
            unset(),
            &[(
                Check::SeccompProfileBaseline,
                "/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod",
            )],
        )
        .meta(json!({"annotations": {SECCOMP_POD: "unconfined"}})),
    ]
}

// ----------------------------------------------------------------------------------------------
// The tests.

/// Every case of every family.
fn all_cases() -> Vec<Case> {
    [
        app_armor_cases(),
        capabilities_baseline_cases(),
        host_namespaces_cases(),
        host_path_volumes_cases(),
        host_ports_cases(),
        host_probes_cases(),
        privileged_cases(),
        proc_mount_cases(),
        se_linux_cases(),
        seccomp_baseline_cases(),
        sysctl_cases(),
        windows_host_process_cases(),
        allow_privilege_escalation_cases(),
        capabilities_restricted_cases(),
        proc_mount_restricted_cases(),
        restricted_volumes_cases(),
        run_as_non_root_cases(),
        run_as_user_cases(),
        seccomp_restricted_cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[test]
fn app_armor_profile() {
    run(&app_armor_cases());
}

#[test]
fn capabilities_baseline() {
    run(&capabilities_baseline_cases());
}

#[test]
fn host_namespaces() {
    run(&host_namespaces_cases());
}

#[test]
fn host_path_volumes() {
    run(&host_path_volumes_cases());
}

#[test]
fn host_ports() {
    run(&host_ports_cases());
}

#[test]
fn host_probes_and_host_lifecycle() {
    run(&host_probes_cases());
}

#[test]
fn privileged() {
    run(&privileged_cases());
}

#[test]
fn proc_mount() {
    run(&proc_mount_cases());
}

#[test]
fn se_linux_options() {
    run(&se_linux_cases());
}

#[test]
fn seccomp_profile_baseline() {
    run(&seccomp_baseline_cases());
}

#[test]
fn sysctls_safe_set_grows_by_version() {
    run(&sysctl_cases());
}

#[test]
fn windows_host_process() {
    run(&windows_host_process_cases());
}

#[test]
fn allow_privilege_escalation() {
    run(&allow_privilege_escalation_cases());
}

#[test]
fn capabilities_restricted() {
    run(&capabilities_restricted_cases());
}

#[test]
fn proc_mount_restricted() {
    run(&proc_mount_restricted_cases());
}

#[test]
fn restricted_volumes() {
    run(&restricted_volumes_cases());
}

#[test]
fn run_as_non_root() {
    run(&run_as_non_root_cases());
}

#[test]
fn run_as_user() {
    run(&run_as_user_cases());
}

#[test]
fn seccomp_profile_restricted() {
    run(&seccomp_restricted_cases());
}

/// Every check has a pod that violates it alone and a near miss that passes, and the list of
/// checks here is upstream's (as psa.rs knows it).
#[test]
fn every_check_has_a_lone_failure_and_a_near_miss() {
    let ids: Vec<&str> = ALL_CHECKS.iter().map(|c| c.id()).collect();
    assert_eq!(ids, psa::check_ids(), "the check list changed");
    let cases = all_cases();
    for check in ALL_CHECKS {
        let mine: Vec<&Case> = cases.iter().filter(|c| c.about == check).collect();
        assert!(
            mine.iter()
                .any(|c| !c.want.is_empty() && c.want.iter().all(|(w, _)| *w == check)),
            "{check}: no case fails this check alone"
        );
        assert!(
            mine.iter().any(|c| c.want.is_empty()),
            "{check}: no near miss that passes"
        );
    }
}

/// Violations that name no check of the level they were evaluated at would be a registry bug:
/// baseline never reports a restricted check, whatever the pod.
#[test]
fn baseline_reports_only_baseline_checks() {
    let restricted = &ALL_CHECKS[12..];
    for c in all_cases() {
        let Ok(policy) = Policy::parse(&c.policy) else {
            panic!("case {:?}: bad policy {:?}", c.name, c.policy);
        };
        let at_baseline = Policy {
            level: Level::Baseline,
            version: policy.version,
        };
        for v in at_baseline.evaluate(&node(&c.meta), &node(&c.spec)) {
            assert!(
                !restricted.contains(&v.check),
                "case {:?}: baseline reported {}",
                c.name,
                v.check
            );
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Overrides, container kinds, the privileged level.

#[test]
fn restricted_reports_the_overriding_check_only() {
    // (case, version, pod violating both the baseline and the restricted check, the check
    // baseline reports, the check restricted reports, pointer).
    let cases: Vec<(&str, &str, Value, Value, Check, Check, &str)> = vec![
        (
            "capabilities: NET_RAW with drop ALL",
            "v1.22",
            json!({}),
            r(json!({"containers": [{"securityContext": {"capabilities": {"add": ["NET_RAW"]}}}]})),
            Check::CapabilitiesBaseline,
            Check::CapabilitiesRestricted,
            "/spec/containers/0/securityContext/capabilities/add/0",
        ),
        (
            "hostPath volume",
            "v1.0",
            json!({}),
            r(json!({"volumes": [{"name": "h", "hostPath": {"path": "/"}}]})),
            Check::HostPathVolumes,
            Check::RestrictedVolumes,
            "/spec/volumes/0/hostPath",
        ),
        (
            "container seccomp Unconfined",
            "v1.19",
            json!({}),
            r(
                json!({"containers": [{"securityContext": {"seccompProfile": {"type": "Unconfined"}}}]}),
            ),
            Check::SeccompProfileBaseline,
            Check::SeccompProfileRestricted,
            "/spec/containers/0/securityContext/seccompProfile/type",
        ),
        (
            "procMount Unmasked",
            "v1.35",
            json!({}),
            r(json!({"containers": [{"securityContext": {"procMount": "Unmasked"}}]})),
            Check::ProcMount,
            Check::ProcMountRestricted,
            "/spec/containers/0/securityContext/procMount",
        ),
    ];
    for (name, version, meta, spec, base, restricted, ptr) in cases {
        for (level, want) in [("baseline", base), ("restricted", restricted)] {
            for v in [version, "latest"] {
                let policy = format!("{level}:{v}");
                assert_eq!(
                    evaluate(&policy, &meta, &spec),
                    [(want, ptr.to_string())],
                    "case {name:?} at {policy}"
                );
            }
        }
    }
}

/// Container-level violations, with the offending container as an init, regular or ephemeral
/// container: (check, policy, container patch, pointer below the container).
#[test]
fn init_and_ephemeral_containers_are_checked() {
    let cases: Vec<(Check, &str, Value, &str)> = vec![
        (
            Check::AppArmorProfile,
            "baseline:latest",
            json!({"securityContext": {"appArmorProfile": {"type": "Unconfined"}}}),
            "/securityContext/appArmorProfile/type",
        ),
        (
            Check::CapabilitiesBaseline,
            "baseline:latest",
            json!({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}),
            "/securityContext/capabilities/add/0",
        ),
        (
            Check::HostPorts,
            "baseline:latest",
            json!({"ports": [{"containerPort": 53, "hostPort": 53}]}),
            "/ports/0/hostPort",
        ),
        (
            Check::HostProbesAndHostLifecycle,
            "baseline:latest",
            json!({"lifecycle": {"preStop": {"httpGet": {"host": "example.com", "port": 80}}}}),
            "/lifecycle/preStop/httpGet/host",
        ),
        (
            Check::Privileged,
            "baseline:latest",
            json!({"securityContext": {"privileged": true}}),
            "/securityContext/privileged",
        ),
        (
            Check::ProcMount,
            "baseline:latest",
            json!({"securityContext": {"procMount": "Unmasked"}}),
            "/securityContext/procMount",
        ),
        (
            Check::SeLinuxOptions,
            "baseline:latest",
            json!({"securityContext": {"seLinuxOptions": {"role": "r"}}}),
            "/securityContext/seLinuxOptions/role",
        ),
        (
            Check::SeccompProfileBaseline,
            "baseline:latest",
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            "/securityContext/seccompProfile/type",
        ),
        (
            Check::WindowsHostProcess,
            "baseline:latest",
            json!({"securityContext": {"windowsOptions": {"hostProcess": true}}}),
            "/securityContext/windowsOptions/hostProcess",
        ),
        (
            Check::AllowPrivilegeEscalation,
            "restricted:latest",
            json!({"securityContext": {"allowPrivilegeEscalation": true}}),
            "/securityContext/allowPrivilegeEscalation",
        ),
        (
            Check::CapabilitiesRestricted,
            "restricted:latest",
            json!({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}),
            "/securityContext/capabilities/drop",
        ),
        (
            Check::ProcMountRestricted,
            "restricted:latest",
            json!({"securityContext": {"procMount": "Unmasked"}}),
            "/securityContext/procMount",
        ),
        (
            Check::RunAsNonRoot,
            "restricted:latest",
            json!({"securityContext": {"runAsNonRoot": false}}),
            "/securityContext/runAsNonRoot",
        ),
        (
            Check::RunAsUser,
            "restricted:latest",
            json!({"securityContext": {"runAsUser": 0}}),
            "/securityContext/runAsUser",
        ),
        (
            Check::SeccompProfileRestricted,
            "restricted:latest",
            json!({"securityContext": {"seccompProfile": {"type": "Unconfined"}}}),
            "/securityContext/seccompProfile/type",
        ),
    ];
    for (check, policy, bad, suffix) in cases {
        let restricted = policy.starts_with("restricted");
        let clean = |name: &str| {
            if restricted {
                rc(name)
            } else {
                json!({"name": name, "image": name})
            }
        };
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            let spec = json!({
                "initContainers": [clean("init")],
                "containers": [clean("app")],
                "ephemeralContainers": [clean("debug")],
            });
            let spec = patched(spec, json!({list: [bad.clone()]}));
            let spec = if restricted {
                patched(
                    spec,
                    json!({"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}}),
                )
            } else {
                spec
            };
            assert_eq!(
                evaluate(policy, &json!({}), &spec),
                [(check, format!("/spec/{list}/0{suffix}"))],
                "{check} in {list} at {policy}"
            );
        }
    }
}

/// One violation per offending container, in upstream's visiting order: init containers,
/// containers, ephemeral containers.
#[test]
fn containers_are_visited_init_regular_ephemeral() {
    let bad = json!({"securityContext": {"privileged": true}});
    let spec = json!({
        "ephemeralContainers": [patched(json!({"name": "debug"}), bad.clone())],
        "containers": [{"name": "ok"}, patched(json!({"name": "app"}), bad.clone())],
        "initContainers": [patched(json!({"name": "init"}), bad)],
    });
    let policy = Policy::parse("baseline:latest").expect("valid policy");
    let got: Vec<(Option<String>, String)> = policy
        .evaluate(&node(&json!({})), &node(&spec))
        .into_iter()
        .map(|v| {
            assert_eq!(v.check, Check::Privileged);
            (v.container, v.pointer)
        })
        .collect();
    let want: Vec<(Option<String>, String)> = [
        ("init", "/spec/initContainers/0"),
        ("app", "/spec/containers/1"),
        ("debug", "/spec/ephemeralContainers/0"),
    ]
    .iter()
    .map(|(c, p)| {
        (
            Some((*c).to_string()),
            format!("{p}/securityContext/privileged"),
        )
    })
    .collect();
    assert_eq!(got, want);
}

/// A pod that violates every check it can at once.
fn everything_wrong() -> (Value, Value) {
    let meta = json!({"annotations": {
        format!("{APPARMOR}app"): "unconfined",
        SECCOMP_POD: "unconfined",
    }});
    let spec = json!({
        "hostNetwork": true,
        "hostPID": true,
        "hostIPC": true,
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "securityContext": {
            "runAsNonRoot": false,
            "runAsUser": 0,
            "sysctls": [{"name": "kernel.msgmax", "value": "1"}],
            "seLinuxOptions": {"type": "spc_t"},
            "seccompProfile": {"type": "Unconfined"},
            "windowsOptions": {"hostProcess": true},
        },
        "initContainers": [{"name": "init", "securityContext": {
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"]},
            "allowPrivilegeEscalation": true,
        }}],
        "containers": [{"name": "app",
            "ports": [{"containerPort": 80, "hostPort": 80}],
            "livenessProbe": {"httpGet": {"host": "bad.host", "port": 80}},
            "securityContext": {
                "privileged": true,
                "procMount": "Unmasked",
                "appArmorProfile": {"type": "Unconfined"},
            }}],
        "ephemeralContainers": [{"name": "debug", "securityContext": {"runAsUser": 0}}],
    });
    (meta, spec)
}

#[test]
fn privileged_level_admits_everything() {
    let (meta, spec) = everything_wrong();
    for policy in [
        "privileged",
        "privileged:latest",
        "privileged:v1.0",
        "privileged:v1.35",
    ] {
        assert_eq!(evaluate(policy, &meta, &spec), [], "{policy}");
    }
    assert_eq!(Policy::default().level, Level::Privileged);
    assert!(
        Policy::default()
            .evaluate(&node(&meta), &node(&spec))
            .is_empty()
    );
    // The pod is not vacuous: the other levels reject it for many checks.
    let checks = |policy: &str| {
        let mut c: Vec<Check> = evaluate(policy, &meta, &spec)
            .into_iter()
            .map(|v| v.0)
            .collect();
        c.dedup();
        c
    };
    assert_eq!(
        checks("baseline:latest"),
        ALL_CHECKS[..12].to_vec(),
        "every baseline check at baseline:latest"
    );
    let restricted = checks("restricted:latest");
    for gone in [
        Check::CapabilitiesBaseline,
        Check::HostPathVolumes,
        Check::ProcMount,
        Check::SeccompProfileBaseline,
    ] {
        assert!(
            !restricted.contains(&gone),
            "{gone} is overridden at restricted:latest"
        );
    }
    assert_eq!(restricted.len(), 19 - 4, "{restricted:?}");
}

/// A version gate seen from the whole pod: what each version's baseline and restricted levels
/// report for the pod that gets everything wrong (checks in upstream order, duplicates merged).
#[test]
fn checks_appear_at_their_versions() {
    let (meta, spec) = everything_wrong();
    let checks = |level: Level, minor: u32| {
        let policy = Policy {
            level,
            version: Version::Minor(minor),
        };
        let mut c: Vec<Check> = policy
            .evaluate(&node(&meta), &node(&spec))
            .into_iter()
            .map(|v| v.check)
            .collect();
        c.dedup();
        c
    };
    use Check::*;
    // Before v1.34 no probe host check; before v1.19 seccomp is the annotation check (which this
    // pod fails too).
    let baseline_old = vec![
        AppArmorProfile,
        CapabilitiesBaseline,
        HostNamespaces,
        HostPathVolumes,
        HostPorts,
        Privileged,
        ProcMount,
        SeLinuxOptions,
        SeccompProfileBaseline,
        Sysctls,
        WindowsHostProcess,
    ];
    assert_eq!(checks(Level::Baseline, 0), baseline_old);
    assert_eq!(checks(Level::Baseline, 33), baseline_old);
    assert_eq!(checks(Level::Baseline, 34), ALL_CHECKS[..12].to_vec());
    // (minor, the restricted checks reported).
    let restricted: [(u32, Vec<Check>); 6] = [
        (0, vec![RestrictedVolumes, RunAsNonRoot]),
        (
            8,
            vec![AllowPrivilegeEscalation, RestrictedVolumes, RunAsNonRoot],
        ),
        (
            19,
            vec![
                AllowPrivilegeEscalation,
                RestrictedVolumes,
                RunAsNonRoot,
                SeccompProfileRestricted,
            ],
        ),
        (
            22,
            vec![
                AllowPrivilegeEscalation,
                CapabilitiesRestricted,
                RestrictedVolumes,
                RunAsNonRoot,
                SeccompProfileRestricted,
            ],
        ),
        (
            23,
            vec![
                AllowPrivilegeEscalation,
                CapabilitiesRestricted,
                RestrictedVolumes,
                RunAsNonRoot,
                RunAsUser,
                SeccompProfileRestricted,
            ],
        ),
        (35, ALL_CHECKS[12..].to_vec()),
    ];
    for (minor, want) in restricted {
        let got: Vec<Check> = checks(Level::Restricted, minor)
            .into_iter()
            .filter(|c| ALL_CHECKS[12..].contains(c))
            .collect();
        assert_eq!(got, want, "restricted checks at restricted:v1.{minor}");
    }
}
