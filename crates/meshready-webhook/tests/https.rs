//! End-to-end tests: the real server on 127.0.0.1 (port 0) with a certificate made by rcgen at
//! test time, real AdmissionReview JSON over HTTPS.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use meshready_core::Severity;
use meshready_core::source::Input;
use meshready_webhook::server::{ServeOptions, bind};
use meshready_webhook::{Config, Context, Running, SharedContext, install_crypto_provider, start};
use serde_json::{Value, json};

struct Cert {
    cert_pem: String,
    key_pem: String,
    der: rustls::pki_types::CertificateDer<'static>,
}

fn new_cert() -> Cert {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Cert {
        cert_pem: cert.pem(),
        key_pem: signing_key.serialize_pem(),
        der: cert.der().clone(),
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    cert_path: PathBuf,
    key_path: PathBuf,
    /// The certificate the server started with.
    cert: Cert,
    running: Running,
    client: reqwest::Client,
}

fn client_trusting(cert: &Cert, addr: SocketAddr) -> reqwest::Client {
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der.clone()).unwrap();
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn serve_with(
    config: Config,
    context: SharedContext,
    max_body_bytes: Option<usize>,
) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let cert = new_cert();
    let cert_path = dir.path().join("tls.crt");
    let key_path = dir.path().join("tls.key");
    std::fs::write(&cert_path, &cert.cert_pem).unwrap();
    std::fs::write(&key_path, &cert.key_pem).unwrap();
    let mut options = ServeOptions::new(cert_path.clone(), key_path.clone());
    options.reload_interval = Duration::from_millis(100);
    if let Some(max) = max_body_bytes {
        options.max_body_bytes = max;
    }
    let listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).unwrap();
    let running = start(listener, options, config, context).await.unwrap();
    let client = client_trusting(&cert, running.addr());
    Harness {
        _dir: dir,
        cert_path,
        key_path,
        cert,
        running,
        client,
    }
}

async fn serve(config: Config) -> Harness {
    serve_with(config, SharedContext::fixed(Context::default()), None).await
}

impl Harness {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.running.addr().port())
    }

    async fn post(&self, body: impl Into<reqwest::Body>) -> (u16, String) {
        let response = self
            .client
            .post(self.url("/validate"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Posts a review and returns its `response`.
    async fn review(&self, review: &Value) -> Value {
        let (status, body) = self.post(serde_json::to_vec(review).unwrap()).await;
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(answer["kind"], "AdmissionReview");
        assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(answer["response"]["uid"], review["request"]["uid"]);
        answer["response"].clone()
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn admission(operation: &str, object: &Value) -> Value {
    let kind = object["kind"].as_str().unwrap_or_default();
    let (group, version) = match object["apiVersion"]
        .as_str()
        .unwrap_or("v1")
        .split_once('/')
    {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap_or("v1").to_string(),
        ),
    };
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "8f2c0c4e-1b1a-4cf4-9a4d-0c1b5c7f4e11",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "name": object["metadata"]["name"],
            "namespace": namespace,
            "operation": operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
            "object": object,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    })
}

fn deployment(name: &str, run_as_user: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, "version": "v1"}},
                "spec": {"containers": [{
                    "name": "app",
                    "image": "registry.example/web:1.0",
                    "ports": [{"containerPort": 8080}],
                    "securityContext": {"runAsUser": run_as_user}
                }]}
            }
        }
    })
}

fn warnings(response: &Value) -> Vec<String> {
    response["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn warn_mode_allows_with_an_ist0144_warning() {
    let h = serve(Config::default()).await;
    let response = h
        .review(&admission("CREATE", &deployment("web", 1337)))
        .await;
    assert_eq!(response["allowed"], true);
    let warnings = warnings(&response);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("IST0144: ") && w.contains("`app`")),
        "{warnings:?}"
    );
    assert!(response.get("status").is_none());
}

#[tokio::test]
async fn deny_mode_lists_the_findings() {
    let h = serve(Config {
        deny_threshold: Some(Severity::Warning),
        ..Config::default()
    })
    .await;
    let response = h
        .review(&admission("UPDATE", &deployment("web", 1337)))
        .await;
    assert_eq!(response["allowed"], false);
    assert_eq!(response["status"]["code"], 403);
    let message = response["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("meshready: Deployment shop/web"),
        "{message}"
    );
    assert!(message.contains("IST0144: "), "{message}");
    // Warnings are still attached to the denial.
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.starts_with("IST0144: "))
    );
}

#[tokio::test]
async fn dry_run_reviews_are_answered_the_same_way() {
    let h = serve(Config::default()).await;
    let mut review = admission("CREATE", &deployment("web", 1337));
    let normal = h.review(&review).await;
    review["request"]["dryRun"] = json!(true);
    let dry = h.review(&review).await;
    assert_eq!(normal, dry);
}

#[tokio::test]
async fn malformed_bodies_get_400_with_a_reason() {
    let h = serve(Config::default()).await;
    let (status, body) = h.post("{\"apiVersion\": ").await;
    assert_eq!(status, 400);
    assert!(body.contains("not JSON"), "{body}");
    let (status, body) = h
        .post("{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\"}")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("admission.k8s.io/v1"), "{body}");
    let (status, _) = h.post(vec![0xff_u8, 0xfe, 0x00]).await;
    assert_eq!(status, 400);
    // The server is still fine.
    assert_eq!(h.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let h = serve_with(
        Config::default(),
        SharedContext::fixed(Context::default()),
        Some(64 * 1024),
    )
    .await;
    let mut review = admission("CREATE", &deployment("web", 1337));
    review["request"]["object"]["metadata"]["annotations"] = json!({"big": "x".repeat(200 * 1024)});
    let (status, _) = h.post(serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, 413);
    let small = h
        .review(&admission("CREATE", &deployment("web", 1337)))
        .await;
    assert_eq!(small["allowed"], true);
}

#[tokio::test]
async fn unknown_kinds_are_allowed_without_warnings() {
    let h = serve(Config {
        deny_threshold: Some(Severity::Info),
        ..Config::default()
    })
    .await;
    let object = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "shop"}});
    let response = h.review(&admission("CREATE", &object)).await;
    assert_eq!(response["allowed"], true);
    assert!(response.get("warnings").is_none(), "{response}");
}

#[tokio::test]
async fn namespace_and_service_reviews_report_their_own_findings() {
    let h = serve(Config::default()).await;
    let namespace = json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"istio-injection": "enabled", "istio.io/rev": "canary"}}
    });
    let response = h.review(&admission("CREATE", &namespace)).await;
    assert_eq!(response["allowed"], true);
    let ns_warnings = warnings(&response);
    assert!(
        ns_warnings.iter().any(|w| w.starts_with("IST0123: ")),
        "{ns_warnings:?}"
    );

    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 9080, "targetPort": 9080}]}
    });
    let response = h.review(&admission("CREATE", &service)).await;
    let svc_warnings = warnings(&response);
    assert!(
        svc_warnings
            .iter()
            .any(|w| w.starts_with("IST0118: ") && w.contains("9080")),
        "{svc_warnings:?}"
    );
}

#[tokio::test]
async fn the_offline_context_supplies_the_service() {
    let manifests = "\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
";
    let (context, errors) = Context::load(vec![Input {
        path: "context.yaml".into(),
        bytes: manifests.as_bytes().to_vec(),
    }]);
    assert!(errors.is_empty(), "{errors:?}");
    let without = serve(Config::default()).await;
    let response = without
        .review(&admission("CREATE", &deployment("web", 1000)))
        .await;
    assert!(
        warnings(&response)
            .iter()
            .any(|w| w.starts_with("IST0117: ")),
        "{response}"
    );
    let with = serve_with(Config::default(), SharedContext::fixed(context), None).await;
    let response = with
        .review(&admission("CREATE", &deployment("web", 1000)))
        .await;
    assert!(
        !warnings(&response).iter().any(|w| w.starts_with("IST0117")),
        "{response}"
    );
}

#[tokio::test]
async fn warnings_stay_within_the_api_server_limits() {
    let h = serve(Config::default()).await;
    let containers: Vec<Value> = (0..60)
        .map(|i| {
            json!({
                "name": format!("c{i:02}-{}", "n".repeat(60)),
                "image": "x",
                "securityContext": {"runAsUser": 1337, "runAsGroup": 1337}
            })
        })
        .collect();
    let mut object = deployment("wide", 0);
    object["spec"]["template"]["spec"]["containers"] = json!(containers);
    let response = h.review(&admission("CREATE", &object)).await;
    let warnings = warnings(&response);
    assert!(warnings.len() > 3, "{warnings:?}");
    assert!(
        warnings.iter().all(|w| w.chars().count() <= 256),
        "{warnings:?}"
    );
    let total: usize = warnings.iter().map(String::len).sum();
    assert!(total <= 4096, "{total}");
    let last = warnings.last().unwrap();
    assert!(
        last.starts_with("… ") && last.ends_with(" more findings"),
        "{last}"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let context = SharedContext::pending();
    let h = serve_with(Config::default(), context.clone(), None).await;
    assert_eq!(h.get("/healthz").await, (200, "ok\n".to_string()));
    assert_eq!(h.get("/readyz").await.0, 503);
    context.set_ready();
    assert_eq!(h.get("/readyz").await.0, 200);
    h.review(&admission("CREATE", &deployment("web", 1337)))
        .await;
    h.post("nope").await;
    let (status, text) = h.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        text.contains("meshready_reviews_total{kind=\"Deployment\",verdict=\"allowed\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("meshready_reviews_total{kind=\"other\",verdict=\"invalid\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("meshready_findings_total{code=\"IST0144\"} 1\n"),
        "{text}"
    );
    assert!(
        text.contains("meshready_review_duration_seconds_count 2\n"),
        "{text}"
    );
    assert_eq!(h.get("/nowhere").await.0, 404);
}

#[tokio::test]
async fn a_rewritten_certificate_is_served_to_new_connections() {
    let h = serve(Config::default()).await;
    let addr = h.running.addr();
    let next = new_cert();
    write_pair(&h.cert_path, &h.key_path, &next);
    let fresh = client_trusting(&next, addr);
    let mut served = false;
    for _ in 0..100 {
        if fresh.get(h.url("/healthz")).send().await.is_ok() {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "the new certificate was never served");
    // A client that trusts only the old certificate cannot open a new connection any more.
    let old_only = client_trusting(&h.cert, addr);
    assert!(old_only.get(h.url("/healthz")).send().await.is_err());
}

fn write_pair(cert: &Path, key: &Path, pair: &Cert) {
    // Write both files to temporary names and rename them, as a Secret volume update would.
    let tmp_cert = cert.with_extension("tmp-crt");
    let tmp_key = key.with_extension("tmp-key");
    std::fs::write(&tmp_cert, &pair.cert_pem).unwrap();
    std::fs::write(&tmp_key, &pair.key_pem).unwrap();
    std::fs::rename(&tmp_key, key).unwrap();
    std::fs::rename(&tmp_cert, cert).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reviews_all_succeed() {
    let h = Arc::new(serve(Config::default()).await);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let h = Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for i in 0..25 {
                let review = admission("CREATE", &deployment(&format!("w{t}-{i}"), 1337));
                let response = h.review(&review).await;
                assert_eq!(response["allowed"], true);
                assert!(warnings(&response).iter().any(|w| w.starts_with("IST0144")));
                ok += 1;
            }
            ok
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, 200);
}
