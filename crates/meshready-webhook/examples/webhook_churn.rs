//! The webhook's live context under churn, on loopback only: a Kubernetes API stand-in on
//! 127.0.0.1 serves 500 Namespaces and 10,000 Services (lists and watches) and keeps changing
//! Services; the webhook (`meshready_webhook::run_blocking`, as `meshready webhook` runs it, in a
//! child process of this example so its memory and CPU are its own) syncs its context from it;
//! a client sends AdmissionReviews over HTTPS at a fixed rate while the churn runs. Prints the
//! client-side latency percentiles, the server's own review-duration histogram, the context
//! rebuilds, the context size and the webhook's CPU time and peak RSS.
//!
//! `cargo run --release -p meshready-webhook --example webhook_churn -- --seconds 20 --churn 200 --rate 200`

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod common;
#[path = "../tests/support/standin.rs"]
mod standin;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use meshready_webhook::{Config, ContextSource, RunOptions, ServeOptions};
use serde_json::json;

use common::arg;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve") {
        serve(Path::new(&args[i + 1]));
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(bench());
    }
}

/// The child: the webhook exactly as the CLI runs it, with its live cluster context read
/// through the kubeconfig in `KUBECONFIG` (the stand-in). Prints the address on stdout.
fn serve(dir: &Path) {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
    let options = RunOptions {
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        serve: ServeOptions::new(dir.join("tls.crt"), dir.join("tls.key")),
        config: Config::default(),
        context: ContextSource::Cluster {
            istio_namespace: "istio-system".into(),
        },
    };
    let result = meshready_webhook::run_blocking(options, |addr| {
        println!("listening {addr}");
    });
    if let Err(error) = result {
        eprintln!("webhook failed: {error}");
        std::process::exit(2);
    }
}

/// One AdmissionReview body per namespace: a Deployment selected by one of the namespace's
/// Services, with UID 1337 (a finding), in rotation with a Pod and a Service.
fn review_body(i: usize, namespaces: usize) -> Vec<u8> {
    let ns = format!("ns-{:03}", i % namespaces.max(1));
    let app = format!("svc-{:05}", i % 10_000);
    let object = match i % 3 {
        0 => json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("web-{i}"), "namespace": ns},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app}}, "template": {
                "metadata": {"labels": {"app": app, "version": "v1"}},
                "spec": {"containers": [{"name": "app", "image": "registry.example/app:1",
                    "ports": [{"containerPort": 8080, "name": "http"}],
                    "securityContext": {"runAsUser": 1337},
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}
        }),
        1 => json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": "web-7d9f-", "namespace": ns, "labels": {"app": app, "version": "v2"}},
            "spec": {"containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 8080}]}]}
        }),
        _ => json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": format!("new-{i}"), "namespace": ns},
            "spec": {"selector": {"app": app}, "ports": [{"port": 5000}, {"name": "http", "port": 80}]}
        }),
    };
    serde_json::to_vec(&json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": format!("00000000-0000-0000-0000-{i:012}"),
            "kind": {"group": "", "version": "v1", "kind": object["kind"]},
            "resource": {"group": "", "version": "v1", "resource": "x"},
            "namespace": ns,
            "operation": "CREATE",
            "userInfo": {"username": "churn"},
            "object": object,
            "dryRun": false
        }
    }))
    .unwrap_or_default()
}

/// (VmRSS, VmHWM) of a process, in kB.
fn memory_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU seconds of a process.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted from after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// A metric's samples: (labels, value) for every line of `name` (exact name).
fn samples<'a>(text: &'a str, name: &str) -> Vec<(&'a str, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (metric, labels) = key.split_once('{').unwrap_or((key, ""));
            (metric == name).then(|| (labels, value.parse().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// The smallest bucket bound of histogram `name` holding quantile `q` (an upper bound).
fn histogram_quantile(text: &str, name: &str, q: f64) -> Option<String> {
    let buckets = samples(text, &format!("{name}_bucket"));
    let total = buckets.last()?.1;
    if total == 0.0 {
        return None;
    }
    buckets
        .iter()
        .find(|(_, n)| *n >= q * total)
        .map(|(labels, _)| {
            labels
                .trim_start_matches("le=\"")
                .trim_end_matches("\"}")
                .to_string()
        })
}

async fn bench() {
    let seconds = arg::<u64>("--seconds", 20);
    let churn = arg::<u64>("--churn", 200);
    let rate = arg::<u64>("--rate", 200).max(1);
    let connections = arg::<u64>("--connections", 4).max(1);
    let namespaces = arg::<u64>("--namespaces", 500).max(1) as usize;
    let services = arg::<u64>("--services", 10_000) as usize;

    let standin = Arc::new(standin::StandIn::start().await);
    standin.populate(namespaces, services);
    let dir = tempfile::tempdir().expect("temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    standin.write_kubeconfig(&kubeconfig);
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("certificate");
    std::fs::write(dir.path().join("tls.crt"), cert.pem()).expect("write cert");
    std::fs::write(dir.path().join("tls.key"), signing_key.serialize_pem()).expect("write key");

    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().expect("own path"))
        .arg("--serve")
        .arg(dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .stdout(Stdio::piped())
        .stderr(if std::env::var_os("CHURN_LOG").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("start the webhook");
    let pid = child.id();
    let stdout = child.stdout.take().expect("child stdout");
    let addr: SocketAddr = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        line.trim()
            .trim_start_matches("listening ")
            .parse()
            .expect("address")
    })
    .await
    .expect("address task");

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let tls = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = |keep: usize| {
        reqwest::Client::builder()
            .use_preconfigured_tls(tls.clone())
            .resolve("localhost", addr)
            .pool_max_idle_per_host(keep)
            .http1_only()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    };
    let base = format!("https://localhost:{}", addr.port());
    let probe = client(1);
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let ready = probe
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let synced = started.elapsed();
    let (rss_synced, _) = memory_kb(pid);
    let cpu_synced = cpu_seconds(pid);

    let stop = Arc::new(AtomicBool::new(false));
    if churn > 0 {
        standin.churn(churn, namespaces, Arc::clone(&stop));
    }
    let changes_before = standin.served().changes;
    let total = (rate * seconds) as usize;
    let window = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..connections as usize {
        let client = client(1);
        let url = format!("{base}/validate");
        let period = Duration::from_secs_f64(connections as f64 / rate as f64);
        let share = total / connections as usize + usize::from(t < total % connections as usize);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut latencies = Vec::with_capacity(share);
            let mut errors = 0usize;
            for i in 0..share {
                tick.tick().await;
                let body = review_body(i * connections as usize + t, namespaces);
                let (latency, ok) = common::review(&client, &url, body).await;
                latencies.push(latency);
                errors += usize::from(!ok);
            }
            (latencies, errors)
        }));
    }
    let sampler = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(memory_kb(pid).0);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    };
    let (mut latencies, errors) = common::gather(tasks, total).await;
    let elapsed = window.elapsed();
    let changes = standin.served().changes - changes_before;
    let cpu = cpu_seconds(pid) - cpu_synced;
    // Let the last debounced rebuild finish before reading the metrics.
    stop.store(true, Ordering::Relaxed);
    let peak_sampled = sampler.await.unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let metrics = probe
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .unwrap_or_default();
    let (rss_end, hwm) = memory_kb(pid);
    let _ = child.kill();
    let _ = child.wait();

    latencies.sort();
    println!(
        "cluster: {namespaces} namespaces, {services} services; synced and ready after {:.2}s (RSS {:.0} MB)",
        synced.as_secs_f64(),
        rss_synced as f64 / 1024.0
    );
    println!(
        "churn: {changes} Service changes in {:.1}s ({:.0}/s); webhook CPU {:.2}s ({:.0}% of one core)",
        elapsed.as_secs_f64(),
        changes as f64 / elapsed.as_secs_f64(),
        cpu,
        100.0 * cpu / elapsed.as_secs_f64()
    );
    println!(
        "client: {} reviews at {rate}/s over {connections} connections: p50 {:.2}ms p99 {:.2}ms max {:.2}ms errors {errors}",
        latencies.len(),
        common::percentile(&latencies, 0.50),
        common::percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    let reviews = samples(&metrics, "meshready_review_duration_seconds_count")
        .first()
        .map_or(0.0, |s| s.1);
    let sum = samples(&metrics, "meshready_review_duration_seconds_sum")
        .first()
        .map_or(0.0, |s| s.1);
    println!(
        "server: {reviews} reviews, mean {:.3}ms, p50 <= {}s, p99 <= {}s (histogram bucket bounds)",
        if reviews > 0.0 {
            sum / reviews * 1e3
        } else {
            0.0
        },
        histogram_quantile(&metrics, "meshready_review_duration_seconds", 0.50)
            .unwrap_or_else(|| "?".into()),
        histogram_quantile(&metrics, "meshready_review_duration_seconds", 0.99)
            .unwrap_or_else(|| "?".into()),
    );
    let gauge = |name: &str| samples(&metrics, name).first().map(|s| s.1);
    match gauge("meshready_context_rebuilds_total") {
        Some(rebuilds) => {
            let sum = gauge("meshready_context_rebuild_duration_seconds_sum").unwrap_or(0.0);
            let max = gauge("meshready_context_rebuild_max_seconds").unwrap_or(0.0);
            println!(
                "context: {rebuilds} rebuilds (the first one full), max {:.2}ms (the first), mean of the others {:.2}ms, p50 <= {}s; {} objects, ~{:.1} MB (estimate); {} objects converted",
                max * 1e3,
                if rebuilds > 1.0 {
                    (sum - max) / (rebuilds - 1.0) * 1e3
                } else {
                    0.0
                },
                histogram_quantile(&metrics, "meshready_context_rebuild_duration_seconds", 0.50)
                    .unwrap_or_else(|| "?".into()),
                gauge("meshready_context_objects").unwrap_or(0.0),
                gauge("meshready_context_bytes").unwrap_or(0.0) / 1e6,
                gauge("meshready_context_converted_objects_total").unwrap_or(0.0),
            );
        }
        None => println!("context: no rebuild metrics (this webhook does not export them)"),
    }
    println!(
        "webhook memory: RSS {:.0} MB at the end, peak {:.0} MB (VmHWM; sampled peak during churn {:.0} MB)",
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0,
        peak_sampled as f64 / 1024.0
    );
    let served = standin.served();
    println!(
        "stand-in: {} lists, {} watches served",
        served.lists, served.watches
    );
}
