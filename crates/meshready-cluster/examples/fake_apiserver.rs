//! A loopback stand-in for the API server of a big meshed cluster, for the scale benchmark
//! (`bench/cluster_scale.py`, issue 13): N injected pods shaped like `kubectl get pods -o json`
//! (status, managedFields, an istio-proxy with its env), 15 per Deployment, one ReplicaSet and
//! one Service per Deployment, 50 Deployments per namespace, every namespace labelled for
//! injection. Pages (`limit` / `continue`) are rendered when asked for, as an API server
//! serializes from its cache; nothing but the names is stored.
//!
//! ```text
//! cargo run --release -p meshready-cluster --example fake_apiserver -- \
//!     --pods 150000 --kubeconfig /tmp/kubeconfig
//! ```
//!
//! It prints `listening on http://127.0.0.1:PORT` and serves until killed.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use serde_json::{Value, json};

#[path = "../tests/support/api.rs"]
mod api;

const PODS_PER_DEPLOYMENT: usize = 15;
const DEPLOYMENTS_PER_NAMESPACE: usize = 50;

/// The resources served (of the stand-ins' table): no Nodes, Secrets, NetworkPolicies, pod
/// security policies or SCCs.
fn served(plural: &str) -> bool {
    !matches!(
        plural,
        "nodes"
            | "secrets"
            | "networkpolicies"
            | "podsecuritypolicies"
            | "securitycontextconstraints"
    )
}

/// A JSON text with holes, rendered by concatenation.
struct Template {
    parts: Vec<Part>,
}

enum Part {
    Text(String),
    Hole(usize),
}

impl Template {
    /// `holes[i]` is the marker for hole `i` in `text`.
    fn new(text: &str, holes: &[&str]) -> Self {
        let mut parts = Vec::new();
        let mut rest = text;
        loop {
            let next = holes
                .iter()
                .enumerate()
                .filter_map(|(i, h)| rest.find(h).map(|at| (at, i, h.len())))
                .min();
            match next {
                Some((at, i, len)) => {
                    parts.push(Part::Text(rest[..at].to_string()));
                    parts.push(Part::Hole(i));
                    rest = &rest[at + len..];
                }
                None => {
                    parts.push(Part::Text(rest.to_string()));
                    return Self { parts };
                }
            }
        }
    }

    fn render(&self, out: &mut String, values: &[&str]) {
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Hole(i) => out.push_str(values[*i]),
            }
        }
    }
}

/// Markers: namespace, app, ReplicaSet name, pod-template-hash, pod name, uid, pod IP, node.
const HOLES: [&str; 8] = [
    "@NS@", "@APP@", "@RS@", "@HASH@", "@POD@", "@UID@", "@IP@", "@NODE@",
];

fn env(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// The injected pod and, for the deployments whose pods started before their namespace was
/// labelled, the same pod without Istio's containers (IST0103).
fn pod_templates() -> (Template, Template) {
    let proxy_env = vec![
        env("PILOT_CERT_PROVIDER", "istiod"),
        env("CA_ADDR", "istiod.istio-system.svc:15012"),
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}),
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}),
        json!({"name": "INSTANCE_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}}}),
        json!({"name": "SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.serviceAccountName"}}}),
        json!({"name": "HOST_IP", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.hostIP"}}}),
        env("ISTIO_CPU_LIMIT", "0"),
        env("PROXY_CONFIG", "{}\n"),
        env(
            "ISTIO_META_POD_PORTS",
            "[\n    {\"containerPort\":8080,\"protocol\":\"TCP\"}\n]",
        ),
        env("ISTIO_META_APP_CONTAINERS", "@APP@"),
        env("ISTIO_META_WORKLOAD_NAME", "@APP@"),
    ];
    let mounts = |names: &[(&str, &str)]| -> Value {
        names
            .iter()
            .map(|(n, p)| json!({"name": n, "mountPath": p}))
            .collect()
    };
    let pod = json!({
        "metadata": {
            "name": "@POD@",
            "generateName": "@RS@-",
            "namespace": "@NS@",
            "uid": "@UID@",
            "resourceVersion": "4711",
            "creationTimestamp": "2026-11-02T10:11:12Z",
            "labels": {
                "app": "@APP@", "version": "v1", "pod-template-hash": "@HASH@",
                "security.istio.io/tlsMode": "istio",
                "service.istio.io/canonical-name": "@APP@",
                "service.istio.io/canonical-revision": "v1"
            },
            "annotations": {
                "istio.io/rev": "default",
                "kubectl.kubernetes.io/default-container": "@APP@",
                "kubectl.kubernetes.io/default-logs-container": "@APP@",
                "prometheus.io/path": "/stats/prometheus",
                "prometheus.io/port": "15020",
                "prometheus.io/scrape": "true",
                "sidecar.istio.io/status": "{\"initContainers\":[\"istio-validation\"],\"containers\":[\"istio-proxy\"],\"volumes\":[\"workload-socket\",\"credential-socket\",\"workload-certs\",\"istio-envoy\",\"istio-data\",\"istio-podinfo\",\"istio-token\",\"istiod-ca-cert\"],\"imagePullSecrets\":null,\"revision\":\"default\"}"
            },
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "@RS@",
                "uid": "0c0ffee0-0000-4000-8000-@HASH@", "controller": true, "blockOwnerDeletion": true
            }],
            "managedFields": [
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
                 "time": "2026-11-02T10:11:20Z", "fieldsType": "FieldsV1", "subresource": "status",
                 "fieldsV1": {"f:status": {"f:conditions": {"k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                                           "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
                                           "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}},
                                           "f:containerStatuses": {}, "f:hostIP": {}, "f:initContainerStatuses": {}, "f:phase": {}, "f:podIP": {},
                                           "f:podIPs": {".": {}, "k:{\"ip\":\"@IP@\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}}}}
            ]
        },
        "spec": {
            "volumes": [
                {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}},
                {"name": "istio-data", "emptyDir": {}},
                {"name": "istio-podinfo", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}},
                    {"path": "annotations", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.annotations"}}], "defaultMode": 420}},
                {"name": "istio-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}], "defaultMode": 420}},
                {"name": "kube-api-access-@HASH@", "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}], "defaultMode": 420}}
            ],
            "initContainers": [{
                "name": "istio-validation", "image": "docker.io/istio/proxyv2:1.28.0",
                "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info", "--run-validation", "--skip-rule-apply"],
                "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                "volumeMounts": [{"name": "kube-api-access-@HASH@", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
                "securityContext": {"capabilities": {"drop": ["ALL"]}, "privileged": false, "runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false}
            }],
            "containers": [
                {"name": "@APP@", "image": "registry.example.com/shop/@APP@:1.4.2",
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                 "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                 "volumeMounts": [{"name": "kube-api-access-@HASH@", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.28.0",
                 "args": ["proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local", "--proxyLogLevel=warning", "--proxyComponentLogLevel=misc:error", "--log_output_level=default:info"],
                 "ports": [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}],
                 "env": proxy_env,
                 "resources": {"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}},
                 "volumeMounts": mounts(&[("istio-data", "/var/lib/istio/data"), ("istio-envoy", "/etc/istio/proxy"), ("istio-token", "/var/run/secrets/tokens"),
                     ("istio-podinfo", "/etc/istio/pod")]),
                 "readinessProbe": {"httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"}, "timeoutSeconds": 3, "periodSeconds": 15, "successThreshold": 1, "failureThreshold": 4},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent",
                 "securityContext": {"capabilities": {"drop": ["ALL"]}, "privileged": false, "runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": true, "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false}}
            ],
            "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default", "serviceAccount": "default", "nodeName": "@NODE@",
            "securityContext": {}, "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "priority": 0, "enableServiceLinks": true, "preemptionPolicy": "PreemptLowerPriority"
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-02T10:11:16Z"},
                {"type": "Ready", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-02T10:11:20Z"},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": "2026-11-02T10:11:12Z"}],
            "hostIP": "10.0.0.@NODE@", "hostIPs": [{"ip": "10.0.0.@NODE@"}],
            "podIP": "@IP@", "podIPs": [{"ip": "@IP@"}],
            "startTime": "2026-11-02T10:11:12Z",
            "containerStatuses": [
                {"name": "@APP@", "state": {"running": {"startedAt": "2026-11-02T10:11:17Z"}}, "lastState": {}, "ready": true, "restartCount": 0,
                 "image": "registry.example.com/shop/@APP@:1.4.2", "imageID": "registry.example.com/shop/@APP@@sha256:@UID@", "containerID": "containerd://@UID@", "started": true},
                {"name": "istio-proxy", "state": {"running": {"startedAt": "2026-11-02T10:11:17Z"}}, "lastState": {}, "ready": true, "restartCount": 0,
                 "image": "docker.io/istio/proxyv2:1.28.0", "imageID": "docker.io/istio/proxyv2@sha256:@UID@", "containerID": "containerd://@UID@", "started": true}],
            "qosClass": "Burstable"
        }
    });
    let mut plain = pod.clone();
    if let Some(a) = plain["metadata"]["annotations"].as_object_mut() {
        a.remove("sidecar.istio.io/status");
    }
    if let Some(spec) = plain["spec"].as_object_mut() {
        spec.remove("initContainers");
    }
    if let Some(c) = plain["spec"]["containers"].as_array_mut() {
        c.retain(|c| c["name"] != "istio-proxy");
    }
    (
        Template::new(&pod.to_string(), &HOLES),
        Template::new(&plain.to_string(), &HOLES),
    )
}

fn pod_spec_template() -> Value {
    json!({
        "containers": [{"name": "@APP@", "image": "registry.example.com/shop/@APP@:1.4.2",
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"}],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "securityContext": {}, "schedulerName": "default-scheduler"
    })
}

fn deployment_template() -> Template {
    let d = json!({
        "metadata": {"name": "@APP@", "namespace": "@NS@", "uid": "@UID@", "resourceVersion": "4711", "generation": 1,
                     "creationTimestamp": "2026-11-02T10:11:00Z", "labels": {"app": "@APP@"},
                     "annotations": {"deployment.kubernetes.io/revision": "1"},
                     "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-02T10:11:00Z", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {"f:metadata": {"f:labels": {}}}}}}]},
        "spec": {"replicas": 15, "selector": {"matchLabels": {"app": "@APP@"}},
                 "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "@APP@", "version": "v1"}}, "spec": pod_spec_template()},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                 "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": 1, "replicas": 15, "updatedReplicas": 15, "readyReplicas": 15, "availableReplicas": 15,
                   "conditions": [{"type": "Available", "status": "True", "lastUpdateTime": "2026-11-02T10:11:30Z", "lastTransitionTime": "2026-11-02T10:11:30Z", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."}]}
    });
    Template::new(&d.to_string(), &HOLES)
}

fn replicaset_template() -> Template {
    let rs = json!({
        "metadata": {"name": "@RS@", "namespace": "@NS@", "uid": "0c0ffee0-0000-4000-8000-@HASH@", "resourceVersion": "4711", "generation": 1,
                     "creationTimestamp": "2026-11-02T10:11:00Z", "labels": {"app": "@APP@", "pod-template-hash": "@HASH@"},
                     "annotations": {"deployment.kubernetes.io/desired-replicas": "15", "deployment.kubernetes.io/max-replicas": "19", "deployment.kubernetes.io/revision": "1"},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "@APP@", "uid": "@UID@", "controller": true, "blockOwnerDeletion": true}],
                     "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-11-02T10:11:00Z", "fieldsType": "FieldsV1",
                                        "fieldsV1": {"f:metadata": {"f:annotations": {}, "f:labels": {}, "f:ownerReferences": {}}, "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {}}}}]},
        "spec": {"replicas": 15, "selector": {"matchLabels": {"app": "@APP@", "pod-template-hash": "@HASH@"}},
                 "template": {"metadata": {"creationTimestamp": null, "labels": {"app": "@APP@", "version": "v1", "pod-template-hash": "@HASH@"}}, "spec": pod_spec_template()}},
        "status": {"replicas": 15, "fullyLabeledReplicas": 15, "readyReplicas": 15, "availableReplicas": 15, "observedGeneration": 1}
    });
    Template::new(&rs.to_string(), &HOLES)
}

/// The Service and, for every seventh deployment, one whose port has no name and no
/// appProtocol (its protocol is unknown to Istio).
fn service_templates() -> (Template, Template) {
    let s = json!({
        "metadata": {"name": "@APP@", "namespace": "@NS@", "uid": "@UID@", "resourceVersion": "4711", "creationTimestamp": "2026-11-02T10:11:00Z",
                     "labels": {"app": "@APP@"}},
        "spec": {"selector": {"app": "@APP@"}, "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
                 "type": "ClusterIP", "clusterIP": "@IP@", "clusterIPs": ["@IP@"], "sessionAffinity": "None",
                 "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {}}
    });
    let mut unnamed = s.clone();
    if let Some(p) = unnamed["spec"]["ports"][0].as_object_mut() {
        p.remove("name");
    }
    (
        Template::new(&s.to_string(), &HOLES),
        Template::new(&unnamed.to_string(), &HOLES),
    )
}

/// Deployments whose pods run without the sidecar.
fn uninjected(d: usize) -> bool {
    d % 13 == 5
}

/// Deployments whose Service port has no protocol.
fn unnamed_port(d: usize) -> bool {
    d % 7 == 3
}

/// The synthetic cluster.
struct Cluster {
    pods: usize,
    deployments: usize,
    namespaces: usize,
    pod: Template,
    plain_pod: Template,
    deployment: Template,
    replicaset: Template,
    service: Template,
    unnamed_service: Template,
}

/// The names and numbers of deployment `d`.
struct Names {
    ns: String,
    app: String,
    hash: String,
    rs: String,
    uid: String,
}

impl Names {
    fn of(d: usize) -> Self {
        let hash = format!(
            "{:010x}",
            (d as u64).wrapping_mul(0x9e37_79b9) & 0xff_ffff_ffff
        );
        let app = format!("app-{}", d % DEPLOYMENTS_PER_NAMESPACE);
        Self {
            ns: format!("ns-{}", d / DEPLOYMENTS_PER_NAMESPACE),
            rs: format!("{app}-{hash}"),
            uid: format!("d0000000-0000-4000-8000-{d:012x}"),
            app,
            hash,
        }
    }
}

impl Cluster {
    fn new(pods: usize) -> Self {
        let deployments = pods.div_ceil(PODS_PER_DEPLOYMENT);
        let (pod, plain_pod) = pod_templates();
        let (service, unnamed_service) = service_templates();
        Self {
            pods,
            deployments,
            namespaces: deployments.div_ceil(DEPLOYMENTS_PER_NAMESPACE),
            pod,
            plain_pod,
            deployment: deployment_template(),
            replicaset: replicaset_template(),
            service,
            unnamed_service,
        }
    }

    /// The index range of `plural`'s items (all, or in namespace `ns`).
    fn range(&self, plural: &str, ns: Option<usize>) -> (usize, usize) {
        let (total, per_ns) = match plural {
            "pods" => (self.pods, PODS_PER_DEPLOYMENT * DEPLOYMENTS_PER_NAMESPACE),
            "deployments" | "replicasets" | "services" => {
                (self.deployments, DEPLOYMENTS_PER_NAMESPACE)
            }
            "namespaces" => (self.namespaces + 1, usize::MAX),
            "mutatingwebhookconfigurations" => (1, usize::MAX),
            _ => (0, usize::MAX),
        };
        match ns {
            None => (0, total),
            Some(n) => {
                let start = n.saturating_mul(per_ns).min(total);
                (start, start.saturating_add(per_ns).min(total))
            }
        }
    }

    fn render(&self, plural: &str, i: usize, out: &mut String) {
        match plural {
            "pods" => {
                let d = i / PODS_PER_DEPLOYMENT;
                let n = Names::of(d);
                let pod = format!("{}-{:05x}", n.rs, (i * 7919) & 0xfffff);
                let uid = format!("{:08x}-0000-4000-8000-{i:012x}", i);
                let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
                let node = format!("{}", i % 200);
                let template = if uninjected(d) {
                    &self.plain_pod
                } else {
                    &self.pod
                };
                template.render(
                    out,
                    &[&n.ns, &n.app, &n.rs, &n.hash, &pod, &uid, &ip, &node],
                );
            }
            "deployments" | "replicasets" | "services" => {
                let n = Names::of(i);
                let ip = format!("172.20.{}.{}", (i >> 8) & 255, i & 255);
                let template = match plural {
                    "deployments" => &self.deployment,
                    "replicasets" => &self.replicaset,
                    _ if unnamed_port(i) => &self.unnamed_service,
                    _ => &self.service,
                };
                template.render(out, &[&n.ns, &n.app, &n.rs, &n.hash, "", &n.uid, &ip, ""]);
            }
            "namespaces" => {
                let ns = if i == self.namespaces {
                    json!({"metadata": {"name": "istio-system", "labels": {"kubernetes.io/metadata.name": "istio-system"}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
                } else {
                    let name = format!("ns-{i}");
                    json!({"metadata": {"name": name, "labels": {"istio-injection": "enabled", "kubernetes.io/metadata.name": name}}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
                };
                out.push_str(&ns.to_string());
            }
            "mutatingwebhookconfigurations" => out.push_str(&injector_webhook().to_string()),
            _ => {}
        }
    }
}

fn injector_webhook() -> Value {
    json!({"metadata": {"name": "istio-sidecar-injector", "labels": {"istio.io/rev": "default", "app": "sidecar-injector"}},
           "webhooks": [{"name": "rev.namespace.sidecar-injector.istio.io",
                         "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "path": "/inject", "port": 443}},
                         "namespaceSelector": {"matchExpressions": [{"key": "istio.io/rev", "operator": "In", "values": ["default"]}]},
                         "sideEffects": "None", "admissionReviewVersions": ["v1"]}]})
}

fn injector_configmap() -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system", "labels": {"istio.io/rev": "default"}},
           "data": {"values": "{\"sidecarInjectorWebhook\": {\"enableNamespacesByDefault\": false}, \"pilot\": {\"cni\": {\"enabled\": true}}}",
                    "config": "policy: enabled\n"}})
}

fn status(code: u16, reason: &str, message: &str) -> (u16, String) {
    let (code, body) = api::status(code, reason, message);
    (code, body.to_string())
}

fn respond(cluster: &Cluster, target: &str) -> (u16, String) {
    let query = api::query(target);
    let api::Resource {
        api_version,
        kind,
        plural,
        namespace,
        name,
    } = match api::route(target, &served) {
        api::Route::Resource(resource) => resource,
        api::Route::Discovery(api_version) => {
            return match api::discovery(&api_version, &served) {
                Some(document) => (200, document.to_string()),
                None => status(
                    404,
                    "NotFound",
                    "the server could not find the requested resource",
                ),
            };
        }
        api::Route::UnknownResource => {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        }
        api::Route::Version | api::Route::NotFound => {
            return status(404, "NotFound", "404 page not found");
        }
    };
    if let Some(name) = name {
        if plural == "configmaps"
            && namespace == Some("istio-system")
            && name == "istio-sidecar-injector"
        {
            return (200, injector_configmap().to_string());
        }
        if plural == "namespaces" {
            let (_, total) = cluster.range("namespaces", None);
            for i in 0..total {
                let mut out = String::new();
                cluster.render("namespaces", i, &mut out);
                if out.contains(&format!("\"name\":\"{name}\"")) {
                    return (200, out);
                }
            }
        }
        return status(404, "NotFound", &format!("{plural} \"{name}\" not found"));
    }
    let ns_index = match namespace {
        None => None,
        Some(ns) => match ns.strip_prefix("ns-").and_then(|n| n.parse().ok()) {
            Some(n) => Some(n),
            None => Some(usize::MAX),
        },
    };
    let (start, end) = cluster.range(plural, ns_index);
    let (offset, limit) = api::page(&query, "o");
    let from = start.saturating_add(offset).min(end);
    let to = from.saturating_add(limit).min(end);
    let mut body = String::with_capacity((to - from) * 6000 + 256);
    let _ = write!(
        body,
        "{{\"kind\":\"{kind}List\",\"apiVersion\":\"{api_version}\",\"metadata\":{{\"resourceVersion\":\"4711\""
    );
    if to < end {
        let _ = write!(body, ",\"continue\":\"o{}\"", to - start);
    }
    body.push_str("},\"items\":[");
    for i in from..to {
        if i > from {
            body.push(',');
        }
        cluster.render(plural, i, &mut body);
    }
    body.push_str("]}");
    (200, body)
}

fn serve(stream: TcpStream, cluster: &Cluster) {
    let _ = stream.set_nodelay(true);
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone);
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header.trim_end().is_empty() {
                break;
            }
        }
        let target = request_line.split_whitespace().nth(1).unwrap_or("");
        let (code, body) = respond(cluster, target);
        if stream
            .write_all(&api::answer(code, "", body.as_bytes()))
            .is_err()
        {
            return;
        }
    }
}

fn main() {
    let mut pods = 15_000;
    let mut port = 0u16;
    let mut kubeconfig = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--pods" => pods = args.next().and_then(|n| n.parse().ok()).expect("--pods N"),
            "--port" => port = args.next().and_then(|n| n.parse().ok()).expect("--port N"),
            "--kubeconfig" => kubeconfig = args.next(),
            other => {
                eprintln!("unknown argument {other} (use --pods N, --port N, --kubeconfig FILE)");
                std::process::exit(2);
            }
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("local addr"));
    if let Some(path) = kubeconfig {
        let config = json!({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": url}}],
            "users": [{"name": "fake", "user": {"token": "fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": "ns-0"}}],
            "current-context": "fake",
        });
        std::fs::write(&path, config.to_string()).expect("write kubeconfig");
    }
    let cluster = Arc::new(Cluster::new(pods));
    println!(
        "listening on {url} ({pods} pods, {} deployments, {} namespaces)",
        cluster.deployments, cluster.namespaces
    );
    let _ = std::io::stdout().flush();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let cluster = Arc::clone(&cluster);
        std::thread::spawn(move || serve(stream, &cluster));
    }
}
