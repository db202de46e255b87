//! The admission decision: a pure, synchronous function from an `AdmissionReview` body and a
//! context to an HTTP status and a response body. No I/O, no async; the server is a thin adapter.

use std::panic::{AssertUnwindSafe, catch_unwind};

use meshready_core::source::{LoadOptions, Loaded, object_from_json};
use meshready_core::{CheckOptions, Finding, ObjectRef, Severity, check};
use serde_json::{Value, json};

use crate::context::Context;
use crate::warnings;

/// The kinds the webhook judges (every workload kind the core reads, Services, Namespaces).
pub const HANDLED_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "PodTemplate",
    "DeploymentConfig",
    "Rollout",
    "Service",
    "Namespace",
];

/// Longest deny message, in characters.
const MAX_DENY_MESSAGE_CHARS: usize = 4096;

/// How the webhook decides.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Deny a request with a finding at or above this severity (`None`: never deny, warn only).
    pub deny_threshold: Option<Severity>,
    /// How the core runs its rules.
    pub check: CheckOptions,
}

/// What became of a review, for metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verdict {
    /// Allowed (possibly with warnings, possibly unjudged).
    Allowed,
    /// Denied at or above the threshold.
    Denied,
    /// Not an `AdmissionReview` (HTTP 400).
    Invalid,
    /// Allowed after an internal error (a panic caught around the check).
    Error,
}

impl Verdict {
    /// The metrics label.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Denied => "denied",
            Self::Invalid => "invalid",
            Self::Error => "error",
        }
    }
}

/// The answer to one HTTP request to `/validate`.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// HTTP status: 200 for every review that could be read, 400 for a malformed body.
    pub status: u16,
    /// The response body: an `AdmissionReview` (JSON) for 200, a plain-text reason for 400.
    pub body: Vec<u8>,
    /// The reviewed kind for metrics (one of [`HANDLED_KINDS`], or `other`).
    pub kind: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The findings on the reviewed object.
    pub findings: Vec<Finding>,
}

impl Reviewed {
    /// Whether the body is JSON (an `AdmissionReview`) rather than a plain-text error.
    #[must_use]
    pub fn is_json(&self) -> bool {
        self.status == 200
    }

    fn invalid(message: String) -> Self {
        Self {
            status: 400,
            body: message.into_bytes(),
            kind: "other",
            verdict: Verdict::Invalid,
            findings: Vec::new(),
        }
    }
}

/// What a judged request comes to.
struct Judgement {
    kind: &'static str,
    allowed: bool,
    warnings: Vec<String>,
    deny_message: Option<String>,
    findings: Vec<Finding>,
}

impl Judgement {
    fn allow(kind: &'static str, warnings: Vec<String>) -> Self {
        Self {
            kind,
            allowed: true,
            warnings,
            deny_message: None,
            findings: Vec::new(),
        }
    }
}

/// Reviews one `AdmissionReview` (admission.k8s.io/v1) body.
///
/// A body that is not an `AdmissionReview` gets HTTP 400 and a plain-text reason. Every review
/// that can be answered gets HTTP 200: allowed, with the findings on the reviewed object as
/// warnings, or denied when a finding is at or above `cfg.deny_threshold`. Kinds the webhook does
/// not handle, DELETE and CONNECT, and objects it cannot read are allowed. `dryRun` reviews are
/// answered the same way. Never panics: a panic in the check is caught and the request allowed.
#[must_use]
pub fn review(body: &[u8], ctx: &Context, cfg: &Config) -> Reviewed {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return Reviewed::invalid(format!("request body is not JSON: {e}\n")),
    };
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    let kind = value.get("kind").and_then(Value::as_str);
    if kind != Some("AdmissionReview") || api_version != Some("admission.k8s.io/v1") {
        return Reviewed::invalid(format!(
            "expected an AdmissionReview of apiVersion admission.k8s.io/v1, got kind {} apiVersion {}\n",
            kind.unwrap_or("(none)"),
            api_version.unwrap_or("(none)")
        ));
    }
    let Some(request) = value.get("request").filter(|r| r.is_object()) else {
        return Reviewed::invalid("the AdmissionReview has no `request`\n".into());
    };
    let Some(uid) = request.get("uid").and_then(Value::as_str) else {
        return Reviewed::invalid("the AdmissionReview's request has no string `uid`\n".into());
    };
    let (judgement, verdict) = match catch_unwind(AssertUnwindSafe(|| judge(request, ctx, cfg))) {
        Ok(j) => {
            let verdict = if j.allowed {
                Verdict::Allowed
            } else {
                Verdict::Denied
            };
            (j, verdict)
        }
        Err(_) => (
            Judgement::allow(
                "other",
                vec![
                    "meshready: internal error while checking this object; allowed unchecked"
                        .into(),
                ],
            ),
            Verdict::Error,
        ),
    };
    let mut response = json!({ "uid": uid, "allowed": judgement.allowed });
    if !judgement.warnings.is_empty() {
        response["warnings"] = json!(judgement.warnings);
    }
    if let Some(message) = &judgement.deny_message {
        response["status"] = json!({
            "status": "Failure",
            "code": 403,
            "reason": "Forbidden",
            "message": message,
        });
    }
    let answer = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    });
    Reviewed {
        status: 200,
        body: serde_json::to_vec(&answer).unwrap_or_default(),
        kind: judgement.kind,
        verdict,
        findings: judgement.findings,
    }
}

fn judge(request: &Value, ctx: &Context, cfg: &Config) -> Judgement {
    let str_at = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
    let requested = str_at("/kind/kind").unwrap_or_default();
    let Some(&kind) = HANDLED_KINDS.iter().find(|k| **k == requested) else {
        return Judgement::allow("other", Vec::new());
    };
    let operation = str_at("/operation").unwrap_or_default();
    let sub_resource = str_at("/subResource").unwrap_or_default();
    if !matches!(operation, "CREATE" | "UPDATE") || !sub_resource.is_empty() {
        return Judgement::allow(kind, Vec::new());
    }
    let namespace = str_at("/namespace").filter(|ns| !ns.is_empty());
    let Some(object) = request.get("object").filter(|o| !o.is_null()) else {
        return Judgement::allow(
            kind,
            vec![format!(
                "meshready: the {operation} review of this {kind} carries no object; not checked"
            )],
        );
    };
    let options = LoadOptions {
        default_namespace: namespace.unwrap_or("default").to_string(),
        ..LoadOptions::default()
    };
    let object = match object_from_json(object, &options) {
        Ok(object) => object,
        Err(reason) => {
            return Judgement::allow(
                kind,
                vec![warnings::truncate(
                    &format!("meshready: cannot check this {kind}: {reason}"),
                    warnings::MAX_WARNING_CHARS,
                )],
            );
        }
    };
    let reviewed = ObjectRef {
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
    };
    let scope = if object.kind == "Namespace" {
        object.name.as_str()
    } else {
        object.namespace.as_str()
    };
    let mut objects: Vec<_> = ctx
        .relevant(scope, (&object.kind, &object.name))
        .cloned()
        .collect();
    objects.push(object);
    let loaded = Loaded {
        objects,
        ..Loaded::default()
    };
    // A Pod under review has passed the mutating webhooks: it is post-injection, like a live
    // pod (one without the proxy in an injecting namespace gets IST0103, not findings about
    // the sidecar it does not have).
    let report = if kind == "Pod" && !cfg.check.settings.live {
        let mut options = cfg.check.clone();
        options.settings.live = true;
        check(&loaded, &options)
    } else {
        check(&loaded, &cfg.check)
    };
    let findings: Vec<Finding> = report
        .findings
        .into_iter()
        .filter(|f| f.object == reviewed)
        .collect();
    decide(kind, &reviewed, findings, cfg)
}

fn decide(
    kind: &'static str,
    reviewed: &ObjectRef,
    mut findings: Vec<Finding>,
    cfg: &Config,
) -> Judgement {
    // Most severe first, so the cut (if any) drops infos before errors.
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.code.cmp(b.code)));
    let warnings = warnings::fit(findings.iter().map(warnings::warning));
    let deny: Vec<&Finding> = cfg
        .deny_threshold
        .map(|t| findings.iter().filter(|f| f.severity >= t).collect())
        .unwrap_or_default();
    let deny_message = (!deny.is_empty()).then(|| {
        let threshold = cfg.deny_threshold.map_or("", Severity::as_str);
        let list: Vec<String> = deny
            .iter()
            .map(|f| format!("{}: {}", f.code, f.text()))
            .collect();
        warnings::truncate(
            &format!(
                "meshready: {reviewed} does not meet Istio's requirements ({} finding{} at or above {threshold}): {}",
                deny.len(),
                if deny.len() == 1 { "" } else { "s" },
                list.join("; ")
            ),
            MAX_DENY_MESSAGE_CHARS,
        )
    });
    Judgement {
        kind,
        allowed: deny_message.is_none(),
        warnings,
        deny_message,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use meshready_core::source::load_str;

    use super::*;

    fn admission(operation: &str, object: &Value) -> Vec<u8> {
        let kind = object["kind"].as_str().unwrap_or("Deployment");
        serde_json::to_vec(&json!({
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "apps", "version": "v1", "kind": kind},
                "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
                "namespace": "shop",
                "operation": operation,
                "userInfo": {"username": "admin"},
                "object": object,
                "dryRun": false
            }
        }))
        .unwrap()
    }

    fn deployment(run_as_user: i64) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web", "version": "v1"}},
                    "spec": {"containers": [{
                        "name": "app", "image": "web:1",
                        "securityContext": {"runAsUser": run_as_user}
                    }]}
                }
            }
        })
    }

    fn answer(reviewed: &Reviewed) -> Value {
        assert_eq!(
            reviewed.status,
            200,
            "{}",
            String::from_utf8_lossy(&reviewed.body)
        );
        let v: Value = serde_json::from_slice(&reviewed.body).unwrap();
        assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(v["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        v["response"].clone()
    }

    fn warnings_of(response: &Value) -> Vec<String> {
        response["warnings"]
            .as_array()
            .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn uid_1337_is_a_warning_and_the_request_is_allowed() {
        let reviewed = review(
            &admission("CREATE", &deployment(1337)),
            &Context::default(),
            &Config::default(),
        );
        let response = answer(&reviewed);
        assert_eq!(response["allowed"], true);
        let warnings = warnings_of(&response);
        assert!(
            warnings.iter().any(|w| w.starts_with("IST0144: ")),
            "{warnings:?}"
        );
        assert_eq!(reviewed.kind, "Deployment");
        assert_eq!(reviewed.verdict, Verdict::Allowed);
    }

    #[test]
    fn findings_at_the_threshold_deny() {
        let cfg = Config {
            deny_threshold: Some(Severity::Warning),
            ..Config::default()
        };
        let reviewed = review(
            &admission("UPDATE", &deployment(1337)),
            &Context::default(),
            &cfg,
        );
        let response = answer(&reviewed);
        assert_eq!(response["allowed"], false);
        assert_eq!(response["status"]["code"], 403);
        let message = response["status"]["message"].as_str().unwrap();
        assert!(message.contains("IST0144: "), "{message}");
        assert!(message.contains("Deployment shop/web"), "{message}");
        assert_eq!(reviewed.verdict, Verdict::Denied);
    }

    #[test]
    fn findings_below_the_threshold_do_not_deny() {
        let cfg = Config {
            deny_threshold: Some(Severity::Error),
            ..Config::default()
        };
        let response = answer(&review(
            &admission("CREATE", &deployment(1337)),
            &Context::default(),
            &cfg,
        ));
        assert_eq!(response["allowed"], true);
        assert!(response.get("status").is_none());
    }

    #[test]
    fn a_pod_that_arrives_without_the_proxy_gets_ist0103_only() {
        // The namespace injects and enforces baseline; the injector failed open, so the pod
        // has no istio-init (which baseline would refuse) and no istio-proxy.
        let ctx = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels: {istio-injection: enabled, pod-security.kubernetes.io/enforce: baseline}\n";
        let loaded = load_str("ctx.yaml", ctx, &meshready_core::LoadOptions::default());
        let ctx = Context::new(loaded.objects);
        let pod = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web", "version": "v1"}},
            "spec": {"containers": [{"name": "app", "image": "web:1"}]}
        });
        let reviewed = review(&admission("CREATE", &pod), &ctx, &Config::default());
        let codes: Vec<&str> = reviewed.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["IST0103"], "{:?}", reviewed.findings);
        // The Deployment that makes such pods is still judged as Istio will inject it.
        let mut deployment = deployment(1000);
        deployment["metadata"]["namespace"] = json!("shop");
        let reviewed = review(&admission("CREATE", &deployment), &ctx, &Config::default());
        assert!(
            reviewed.findings.iter().any(|f| f.code == "MR0011"),
            "{:?}",
            reviewed.findings
        );
    }

    #[test]
    fn the_oldest_node_in_the_context_decides_native_sidecars() {
        let job = json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "batch", "namespace": "shop"},
            "spec": {"template": {
                "metadata": {"labels": {"app": "batch"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "batch:1"}]}
            }}
        });
        // The injected namespace, and Nodes (name, kubelet version).
        let context = |nodes: &[(&str, &str)]| {
            let mut text = String::from(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {istio-injection: enabled}}\n",
            );
            for (name, kubelet) in nodes {
                text += &format!(
                    "---\napiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\nstatus: {{nodeInfo: {{kubeletVersion: {kubelet}}}}}\n"
                );
            }
            Context::new(load_str("ctx.yaml", &text, &LoadOptions::default()).objects)
        };
        let never_exits = |context: &Context| {
            let response = answer(&review(
                &admission("CREATE", &job),
                context,
                &Config::default(),
            ));
            warnings_of(&response)
                .iter()
                .any(|w| w.starts_with("MR0044"))
        };
        // Without Nodes, the Kubernetes version decides (the newest: native sidecars).
        assert!(!never_exits(&context(&[])));
        assert!(!never_exits(&context(&[
            ("a", "v1.34.0"),
            ("b", "v1.33.1")
        ])));
        let mixed = context(&[("a", "v1.34.0"), ("b", "v1.32.5-eks-1"), ("c", "v1.35.0")]);
        assert!(never_exits(&mixed));
        // A review sees one Node whatever their number: the oldest.
        let seen: Vec<&str> = mixed
            .relevant("shop", ("Job", "batch"))
            .filter(|o| o.kind == "Node")
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(seen, ["b"]);
        // A Node whose version cannot be read counts as the oldest.
        let unreadable = context(&[("a", "v1.34.0"), ("z", "unknown")]);
        assert!(never_exits(&unreadable));
    }

    #[test]
    fn a_service_in_the_context_selects_the_workload() {
        let ctx = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80}]\n";
        let context = Context::new(load_str("ctx.yaml", ctx, &LoadOptions::default()).objects);
        let without = warnings_of(&answer(&review(
            &admission("CREATE", &deployment(1000)),
            &Context::default(),
            &Config::default(),
        )));
        assert!(
            without.iter().any(|w| w.starts_with("IST0117")),
            "{without:?}"
        );
        let with = warnings_of(&answer(&review(
            &admission("CREATE", &deployment(1000)),
            &context,
            &Config::default(),
        )));
        assert!(!with.iter().any(|w| w.starts_with("IST0117")), "{with:?}");
    }

    #[test]
    fn malformed_bodies_are_400_with_a_reason() {
        for (body, expected) in [
            (&b"{not json"[..], "not JSON"),
            (b"{\"kind\":\"Pod\",\"apiVersion\":\"v1\"}", "expected an AdmissionReview"),
            (b"{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\"}", "no `request`"),
            (b"{\"kind\":\"AdmissionReview\",\"apiVersion\":\"admission.k8s.io/v1\",\"request\":{}}", "no string `uid`"),
            (b"", "not JSON"),
        ] {
            let reviewed = review(body, &Context::default(), &Config::default());
            assert_eq!(reviewed.status, 400);
            assert_eq!(reviewed.verdict, Verdict::Invalid);
            let text = String::from_utf8(reviewed.body).unwrap();
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn unknown_kinds_and_deletes_are_allowed_silently() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}});
        let response1 = answer(&review(
            &admission("CREATE", &secret),
            &Context::default(),
            &Config::default(),
        ));
        assert_eq!(response1["allowed"], true);
        assert!(response1.get("warnings").is_none());
        let response2 = answer(&review(
            &admission("DELETE", &deployment(1337)),
            &Context::default(),
            &Config::default(),
        ));
        assert_eq!(response2["allowed"], true);
        assert!(response2.get("warnings").is_none());
    }

    #[test]
    fn unreadable_objects_of_handled_kinds_are_allowed_with_a_warning() {
        let mut body: Value = serde_json::from_slice(&admission("CREATE", &deployment(1))).unwrap();
        body["request"]["object"] = json!({"kind": "Deployment"});
        let response = answer(&review(
            &serde_json::to_vec(&body).unwrap(),
            &Context::default(),
            &Config::default(),
        ));
        assert_eq!(response["allowed"], true);
        let warnings = warnings_of(&response);
        assert!(
            warnings[0].starts_with("meshready: cannot check this Deployment"),
            "{warnings:?}"
        );
        body["request"]["object"] = Value::Null;
        let response = answer(&review(
            &serde_json::to_vec(&body).unwrap(),
            &Context::default(),
            &Config::default(),
        ));
        assert!(warnings_of(&response)[0].contains("carries no object"));
    }

    #[test]
    fn only_findings_on_the_reviewed_object_are_returned() {
        // The context's Deployment `api` has UID 1337 too; only `web`'s finding is reported.
        let ctx = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\nspec:\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: c, securityContext: {runAsUser: 1337}}]\n";
        let context = Context::new(load_str("ctx.yaml", ctx, &LoadOptions::default()).objects);
        let reviewed = review(
            &admission("CREATE", &deployment(1337)),
            &context,
            &Config::default(),
        );
        assert!(reviewed.findings.iter().all(|f| f.object.name == "web"));
        assert_eq!(
            reviewed
                .findings
                .iter()
                .filter(|f| f.code == "IST0144")
                .count(),
            1
        );
    }
}
