//! A bounded loopback load test: starts the webhook on 127.0.0.1 (port 0, a certificate made at
//! start-up), sends a fixed number of AdmissionReviews over a fixed number of HTTPS connections,
//! and prints reviews/s, latency percentiles and the error count.
//!
//! `cargo run --release -p meshready-webhook --example webhook_load -- --requests 20000 --concurrency 16`

#![allow(clippy::print_stdout)]

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use meshready_core::source::Input;
use meshready_webhook::server::{ServeOptions, bind};
use meshready_webhook::{Config, Context, SharedContext, install_crypto_provider, start};
use serde_json::{Value, json};

use common::arg;

/// A context like a small cluster: 20 namespaces with 10 Services each.
fn context() -> Context {
    let mut text = String::new();
    for n in 0..20 {
        text.push_str(&format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: ns{n}, labels: {{istio-injection: enabled}}}}\n---\n"
        ));
        for s in 0..10 {
            text.push_str(&format!(
                "apiVersion: v1\nkind: Service\nmetadata: {{name: svc{s}, namespace: ns{n}}}\nspec:\n  selector: {{app: app{s}}}\n  ports: [{{name: http, port: 80, targetPort: 8080}}, {{name: grpc-metrics, port: 9090}}]\n---\n"
            ));
        }
    }
    let (context, errors) = Context::load(vec![Input {
        path: "context.yaml".into(),
        bytes: text.into_bytes(),
    }]);
    assert!(errors.is_empty(), "{errors:?}");
    context
}

/// The bodies sent, in rotation: a Deployment with findings, a clean one, a Pod, a Service.
fn bodies() -> Vec<Vec<u8>> {
    let deployment = |name: &str, app: &str, uid: i64| {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns3"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app}}, "template": {
                "metadata": {"labels": {"app": app, "version": "v1"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "securityContext": {"runAsUser": uid},
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}
        })
    };
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "app2-7d9f-", "namespace": "ns5", "labels": {"app": "app2", "version": "v2"}},
        "spec": {"containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 15001}]}]}
    });
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "svc-new", "namespace": "ns7"},
        "spec": {"selector": {"app": "app1"}, "ports": [{"port": 5000}, {"name": "http", "port": 80}]}
    });
    [
        deployment("web", "app0", 1337),
        deployment("api", "app1", 1000),
        pod,
        service,
    ]
    .iter()
    .enumerate()
    .map(|(i, object)| review(i, object))
    .collect()
}

fn review(i: usize, object: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "kind": {"group": "", "version": "v1", "kind": object["kind"]},
            "resource": {"group": "", "version": "v1", "resource": "x"},
            "namespace": object["metadata"]["namespace"],
            "operation": "CREATE",
            "userInfo": {"username": "load"},
            "object": object,
            "dryRun": false
        }
    }))
    .unwrap_or_default()
}

#[tokio::main]
async fn main() {
    let requests = arg::<usize>("--requests", 20_000);
    let concurrency = arg::<usize>("--concurrency", 16).max(1);
    install_crypto_provider();
    let dir = tempfile::tempdir().expect("temporary directory");
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, signing_key.serialize_pem()).expect("write key");
    let listener = bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).expect("bind");
    let running = start(
        listener,
        ServeOptions::new(cert_path, key_path),
        Config::default(),
        SharedContext::fixed(context()),
    )
    .await
    .expect("server");
    let addr = running.addr();
    let url = format!("https://localhost:{}/validate", addr.port());
    let bodies = bodies();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();

    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let share = requests / concurrency + usize::from(t < requests % concurrency);
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls.clone())
            .resolve("localhost", addr)
            .pool_max_idle_per_host(1)
            .http1_only()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let (url, bodies) = (url.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            let mut errors = 0usize;
            for i in 0..share {
                let body = bodies[(t + i) % bodies.len()].clone();
                let (latency, ok) = common::review(&client, &url, body).await;
                latencies.push(latency);
                errors += usize::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let (mut latencies, errors) = common::gather(tasks, requests).await;
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "requests {} concurrency {} elapsed {:.2}s reviews/s {:.0} p50 {:.2}ms p99 {:.2}ms max {:.2}ms errors {}",
        latencies.len(),
        concurrency,
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        common::percentile(&latencies, 0.50),
        common::percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        errors
    );
    running.shutdown(Duration::from_secs(1));
    let _ = running.wait().await;
}
