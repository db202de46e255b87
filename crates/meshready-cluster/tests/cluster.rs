//! `meshready cluster` against a mock API server: the same findings as `check --live` on the
//! same objects, pagination, forbidden and unserved kinds, what is never read, and the
//! `--as-manifests` round trip, owned pods reduced, and faults (500, 429 with `Retry-After`,
//! `410 Expired` mid-list, a dropped connection, a slow page) that change nothing in the
//! findings, the next page asked for before this one has arrived, and the client-side rate
//! limit. One `#[ignore]` test reads a real cluster.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use meshready_cluster::{Options, Rate, Retry, Scope, Snapshot, facts, manifests};
use meshready_core::source::{LoadOptions, Object, load_str};
use meshready_core::{CheckOptions, Finding, ObjectRef, Settings, Severity};
use serde_json::Value;
use support::{Fault, FaultRule, MockApi, Setup};

const FIXTURE: &str = include_str!("fixtures/cluster.yaml");

/// A finding without its location: (code, severity, message, object, path).
type Key = (String, Severity, String, ObjectRef, String);

fn key(f: &Finding) -> Key {
    (
        f.code.to_string(),
        f.severity,
        f.text().into_owned(),
        f.object.clone(),
        f.path.clone(),
    )
}

fn fixture_objects() -> Vec<Value> {
    let loaded = load_str("cluster.yaml", FIXTURE, &LoadOptions::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    loaded.objects.iter().map(|o| o.root.to_json()).collect()
}

fn setup() -> Setup {
    Setup {
        objects: fixture_objects(),
        forbidden: vec!["daemonsets"],
        not_served: vec!["policy/v1beta1", "security.openshift.io/v1"],
        faults: Vec::new(),
    }
}

struct Cluster {
    api: MockApi,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

fn start(setup: Setup) -> Cluster {
    let api = MockApi::start(setup);
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    Cluster {
        api,
        _dir: dir,
        kubeconfig,
    }
}

fn options(kubeconfig: &Path) -> Options {
    Options {
        kubeconfig: Some(kubeconfig.to_path_buf()),
        all_namespaces: true,
        page_size: 2,
        timeout: Duration::from_secs(20),
        // Small delays keep the fault tests fast.
        retry: Retry {
            attempts: 4,
            base: Duration::from_millis(1),
            max: Duration::from_millis(10),
            request_timeout: Duration::from_secs(10),
        },
        ..Options::default()
    }
}

async fn read(options: &Options) -> Snapshot {
    let client = meshready_cluster::client(options).await.expect("client");
    meshready_cluster::read(client, options, &|_| {})
        .await
        .expect("read")
}

/// The pods of a snapshot, each copy of an owned pod counted.
fn pod_count(snapshot: &Snapshot) -> usize {
    snapshot
        .objects
        .iter()
        .filter(|o| o.kind == "Pod")
        .map(Object::count)
        .sum()
}

fn live() -> CheckOptions {
    CheckOptions {
        settings: Settings {
            live: true,
            ..Settings::default()
        },
        ..CheckOptions::default()
    }
}

fn cluster_findings(snapshot: &Snapshot) -> BTreeSet<Key> {
    let loaded = meshready_cluster::loaded(snapshot);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let report = meshready_cluster::check(&loaded, &CheckOptions::default());
    assert!(report.findings.iter().all(|f| f.location.is_none()));
    report.findings.iter().map(key).collect()
}

/// `check --live` on the fixture file, keeping only the objects `keep` accepts.
fn check_findings(keep: impl Fn(&Object) -> bool) -> BTreeSet<Key> {
    let mut loaded = load_str("cluster.yaml", FIXTURE, &LoadOptions::default());
    loaded.objects.retain(|o| keep(o));
    let report = meshready_core::check(&loaded, &live());
    report.findings.iter().map(key).collect()
}

/// What an all-namespaces read may see: no Secret, only the injector ConfigMap, no DaemonSet
/// (forbidden).
fn readable(o: &Object) -> bool {
    match o.kind.as_str() {
        "Secret" | "DaemonSet" => false,
        "ConfigMap" => o.name.starts_with("istio-sidecar-injector"),
        _ => true,
    }
}

#[tokio::test]
async fn findings_match_check_on_the_same_objects() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let got = cluster_findings(&snapshot);
    let want = check_findings(readable);
    assert_eq!(got, want);
    // Reported once, at the top owner, with the pod count.
    let messages: Vec<String> = got
        .iter()
        .map(|k| format!("{} {}: {}", k.0, k.3, k.2))
        .collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("IST0103 Deployment shop/web: pods of `shop/web` are missing the Istio proxy (2 pods)"),
        "{messages:#?}"
    );
    assert!(has("IST0103 Pod shop/debug"), "{messages:#?}");
    assert!(
        has("IST0144 Deployment shop/web") && has("(3 pods)"),
        "{messages:#?}"
    );
    assert!(
        !messages
            .iter()
            .any(|m| m.contains("ReplicaSet") || m.contains("web-5d8f7-")),
        "owned objects reported: {messages:#?}"
    );
    // The DaemonSet was forbidden, so its pod stands alone.
    assert!(has("Pod shop/agent-q7x"), "{messages:#?}");
    assert!(!has("legacy/old: pods"), "{messages:#?}");
}

#[tokio::test]
async fn lists_follow_continue_tokens() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let requests = cluster.api.requests();
    let pod_pages: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?"))
        .collect();
    // 6 pods, 2 per page.
    assert_eq!(pod_pages.len(), 3, "{pod_pages:#?}");
    assert!(pod_pages.iter().all(|r| r.contains("limit=2")));
    assert!(pod_pages[1].contains("continue=page-2"), "{pod_pages:#?}");
    assert!(pod_pages[2].contains("continue=page-4"), "{pod_pages:#?}");
    let pods = pod_count(&snapshot);
    assert_eq!(pods, 6);
}

#[tokio::test]
async fn requests_wait_for_the_client_side_rate_limit() {
    let cluster = start(setup());
    let unlimited = read(&options(&cluster.kubeconfig)).await;
    let cluster = start(setup());
    let options = Options {
        rate: Rate {
            qps: 40.0,
            burst: 2,
        },
        ..options(&cluster.kubeconfig)
    };
    let limited = read(&options).await;
    assert_eq!(cluster_findings(&limited), cluster_findings(&unlimited));
    // Every request but `/version` (kube-rs's own) waits on the bucket: after the burst of 2,
    // one request every 25 ms at most.
    let times: Vec<Instant> = cluster
        .api
        .timed_requests()
        .into_iter()
        .filter(|(_, r)| r != "/version")
        .map(|(t, _)| t)
        .collect();
    assert!(times.len() > 10, "{} requests", times.len());
    let spread = times[times.len() - 1] - times[0];
    let least = Duration::from_millis(25) * u32::try_from(times.len() - 3).unwrap();
    assert!(
        spread >= least.mul_f64(0.95),
        "{} requests within {spread:?}, the limit allows no fewer than {least:?}",
        times.len()
    );
}

#[tokio::test]
async fn a_forbidden_kind_is_one_warning_and_the_rest_is_analysed() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    assert_eq!(snapshot.forbidden.len(), 1, "{:?}", snapshot.forbidden);
    let warning = snapshot.forbidden[0].to_string();
    assert!(
        warning.starts_with("cannot read DaemonSet (forbidden); skipped: every workload check"),
        "{warning}"
    );
    assert!(snapshot.objects.iter().all(|o| o.kind != "DaemonSet"));
    for kind in [
        "Deployment",
        "StatefulSet",
        "CronJob",
        "Pod",
        "Service",
        "Namespace",
    ] {
        assert!(
            snapshot.objects.iter().any(|o| o.kind == kind),
            "{kind} missing"
        );
    }
}

#[tokio::test]
async fn unserved_kinds_are_skipped_silently() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    assert_eq!(
        snapshot.not_served,
        ["PodSecurityPolicy", "SecurityContextConstraints"]
    );
    assert!(
        snapshot
            .forbidden
            .iter()
            .all(|f| f.kind != "PodSecurityPolicy")
    );
    let requests = cluster.api.requests();
    assert!(
        requests.iter().any(|r| r == "/apis/policy/v1beta1"),
        "discovery asked: {requests:#?}"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("podsecuritypolicies") || r.contains("securitycontextconstraints"))
    );
    // Without pod security policies, RBAC objects and ServiceAccounts are not needed.
    assert!(
        !requests
            .iter()
            .any(|r| r.contains("rolebindings") || r.contains("serviceaccounts")),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn never_reads_secrets_or_lists_configmaps() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let requests = cluster.api.requests();
    assert!(
        !requests.iter().any(|r| r.contains("secrets")),
        "{requests:#?}"
    );
    let configmaps: Vec<&String> = requests
        .iter()
        .filter(|r| r.contains("/configmaps"))
        .collect();
    assert_eq!(
        configmaps,
        ["/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector"]
    );
    assert!(
        snapshot
            .objects
            .iter()
            .filter(|o| o.kind == "ConfigMap")
            .all(|o| o.name == "istio-sidecar-injector")
    );
    // Every request is a read of a known resource, discovery, or the server's version.
    assert!(
        requests
            .iter()
            .all(|r| r.starts_with("/api") || r == "/version"),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn default_scope_is_the_context_namespace() {
    let cluster = start(setup());
    let options = Options {
        all_namespaces: false,
        ..options(&cluster.kubeconfig)
    };
    let snapshot = read(&options).await;
    assert_eq!(snapshot.scope, Some(Scope::Namespaces(vec!["shop".into()])));
    let requests = cluster.api.requests();
    assert!(requests.contains(&"/api/v1/namespaces/shop".to_string()));
    assert!(
        requests
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces/shop/pods?"))
    );
    // Namespaced kinds are listed in `shop` only; cluster-wide lists only for cluster kinds.
    assert!(!requests.iter().any(|r| r.starts_with("/api/v1/pods")));
    assert!(
        !requests
            .iter()
            .any(|r| r.starts_with("/api/v1/namespaces?"))
    );
    assert_eq!(snapshot.forbidden[0].namespaces, ["shop"]);
    assert!(snapshot.missing_namespaces.is_empty());
    let got = cluster_findings(&snapshot);
    let want = check_findings(|o| {
        readable(o)
            && (o.namespace == "shop"
                || (o.kind == "Namespace" && o.name == "shop")
                || o.kind == "MutatingWebhookConfiguration"
                || o.kind == "ConfigMap")
    });
    assert_eq!(got, want);
}

#[tokio::test]
async fn a_missing_namespace_is_reported() {
    let cluster = start(setup());
    let options = Options {
        all_namespaces: false,
        namespaces: vec!["shop".into(), "typo".into()],
        ..options(&cluster.kubeconfig)
    };
    let snapshot = read(&options).await;
    assert_eq!(snapshot.missing_namespaces, ["typo"]);
    assert!(snapshot.forbidden.iter().all(|f| f.kind != "Namespace"));
}

#[tokio::test]
async fn as_manifests_round_trip() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let mut out = Vec::new();
    manifests::write(&mut out, &snapshot.objects, "meshready cluster test").expect("write");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(!text.contains("managedFields"));
    let loaded = load_str("dump.yaml", &text, &LoadOptions::default());
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    // One document per object, each copy of an owned pod under its own name.
    let count: usize = snapshot.objects.iter().map(Object::count).sum();
    assert!(count > snapshot.objects.len(), "the fixture groups pods");
    assert_eq!(loaded.objects.len(), count);
    let report = meshready_core::check(&loaded, &live());
    let again: BTreeSet<Key> = report.findings.iter().map(key).collect();
    assert_eq!(again, cluster_findings(&snapshot));
    assert!(report.findings.iter().all(|f| f.location.is_some()));
}

#[tokio::test]
async fn injected_pods_reveal_cni() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let loaded = meshready_cluster::loaded(&snapshot);
    assert_eq!(
        facts::detect_cni(&loaded.objects),
        facts::Cni {
            enabled: true,
            configured: false,
            validation_pods: 1,
            init_pods: 0
        }
    );
}

#[tokio::test]
async fn a_slow_server_hits_the_timeout() {
    let cluster = start(setup());
    let options = Options {
        timeout: Duration::from_millis(1),
        ..options(&cluster.kubeconfig)
    };
    let client = meshready_cluster::client(&options).await.expect("client");
    let error = meshready_cluster::read(client, &options, &|_| {})
        .await
        .expect_err("timeout");
    assert!(
        matches!(error, meshready_cluster::Error::Timeout(_)),
        "{error}"
    );
}

#[tokio::test]
async fn owned_pods_and_replicasets_are_reduced() {
    let cluster = start(setup());
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let object = |kind: &str, name: &str| {
        snapshot
            .objects
            .iter()
            .find(|o| o.kind == kind && o.name == name)
            .unwrap_or_else(|| panic!("{kind} {name} missing"))
            .root
            .to_json()
    };
    // Owned by a ReplicaSet that was read: owner, Istio containers, the phase only if finished
    // (kind, apiVersion, name and namespace are the object's fields only).
    assert_eq!(
        object("Pod", "web-5d8f7-a"),
        serde_json::json!({
            "metadata": {"ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f7", "controller": true}]},
            "spec": {"initContainers": [{"name": "istio-validation"}], "containers": [{"name": "istio-proxy"}]}})
    );
    assert_eq!(
        object("Pod", "report-2911-x")["status"]["phase"],
        "Succeeded"
    );
    // Its controller (the DaemonSet) was forbidden: the pod is kept whole (less its status).
    // Pods are listed while their controllers are read, so it was grouped first, then read
    // again by name once its controller turned out to be missing; no other pod was.
    let pod_gets: Vec<String> = cluster
        .api
        .requests()
        .into_iter()
        .filter(|r| r.contains("/pods/"))
        .collect();
    assert_eq!(pod_gets, ["/api/v1/namespaces/shop/pods/agent-q7x"]);
    let agent = object("Pod", "agent-q7x");
    assert_eq!(
        agent["spec"]["containers"][0]["securityContext"]["runAsUser"],
        1337
    );
    assert_eq!(agent["status"]["phase"], "Running");
    // The ReplicaSet of a Deployment that was read: its owner and an empty template.
    assert_eq!(
        object("ReplicaSet", "web-5d8f7")["spec"],
        serde_json::json!({"template": {"spec": {}}})
    );
}

#[tokio::test]
async fn many_orphans_are_read_by_listing_the_pods_again() {
    let cluster = start(setup());
    let one_by_one = read(&options(&cluster.kubeconfig)).await;
    let cluster = start(setup());
    let relisted = read(&Options {
        orphan_gets: 0,
        ..options(&cluster.kubeconfig)
    })
    .await;
    assert_eq!(cluster_findings(&relisted), cluster_findings(&one_by_one));
    assert_eq!(pod_count(&relisted), pod_count(&one_by_one));
    let pods = |s: &Snapshot| {
        let mut pods: Vec<(String, Vec<String>, serde_json::Value)> = s
            .objects
            .iter()
            .filter(|o| o.kind == "Pod")
            .map(|o| (o.name.clone(), o.copies.clone(), o.root.to_json()))
            .collect();
        pods.sort_by(|a, b| a.0.cmp(&b.0));
        pods
    };
    assert_eq!(pods(&relisted), pods(&one_by_one));
    let requests = cluster.api.requests();
    assert!(
        !requests.iter().any(|r| r.contains("/pods/")),
        "{requests:#?}"
    );
    let pod_lists = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?") && !r.contains("continue"))
        .count();
    assert_eq!(pod_lists, 2, "{requests:#?}");
}

/// Reads `setup` with `faults` and asserts the same snapshot findings as without faults.
async fn same_findings_despite(
    faults: Vec<FaultRule>,
    options: impl Fn(&Path) -> Options,
) -> Vec<String> {
    let cluster = start(Setup { faults, ..setup() });
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    let got = cluster_findings(&snapshot);
    assert_eq!(got, check_findings(readable));
    let pods = pod_count(&snapshot);
    assert_eq!(pods, 6, "no pod twice, none missing");
    cluster.api.requests()
}

#[tokio::test]
async fn a_500_once_is_retried() {
    let requests = same_findings_despite(
        vec![FaultRule::once("/api/v1/pods?", Fault::Status(500))],
        options,
    )
    .await;
    let first_pages = requests
        .iter()
        .filter(|r| *r == "/api/v1/pods?limit=2")
        .count();
    assert_eq!(first_pages, 2, "{requests:#?}");
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    let start = std::time::Instant::now();
    let requests = same_findings_despite(
        vec![FaultRule::once(
            "/apis/apps/v1/deployments?",
            Fault::TooManyRequests(1),
        )],
        options,
    )
    .await;
    // The server asked for a second; the backoff alone would have waited milliseconds.
    assert!(start.elapsed() >= Duration::from_millis(950));
    let deployments = requests
        .iter()
        .filter(|r| *r == "/apis/apps/v1/deployments?limit=2")
        .count();
    assert_eq!(deployments, 2, "{requests:#?}");
}

#[tokio::test]
async fn an_expired_continue_token_restarts_the_list() {
    let requests = same_findings_despite(
        vec![FaultRule::once(
            "/api/v1/pods?limit=2&continue=page-4",
            Fault::Status(410),
        )],
        options,
    )
    .await;
    let pod_pages: Vec<&String> = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?"))
        .collect();
    assert_eq!(
        pod_pages,
        [
            "/api/v1/pods?limit=2",
            "/api/v1/pods?limit=2&continue=page-2",
            "/api/v1/pods?limit=2&continue=page-4",
            "/api/v1/pods?limit=2",
            "/api/v1/pods?limit=2&continue=page-2",
            "/api/v1/pods?limit=2&continue=page-4",
        ]
    );
}

/// Reads the fixture with the first page of Pods answered in two parts (`fault`), checks that
/// the findings and the pods are those of a plain read, and returns how long after the first
/// page the second was asked for, and how many pages of Pods were asked for.
async fn second_page_asked_after(fault: Fault) -> (Duration, usize) {
    let cluster = start(Setup {
        faults: vec![FaultRule::once("/api/v1/pods?limit=2", fault)],
        ..setup()
    });
    let snapshot = read(&options(&cluster.kubeconfig)).await;
    assert_eq!(cluster_findings(&snapshot), check_findings(readable));
    assert_eq!(pod_count(&snapshot), 6, "no pod twice, none missing");
    let requests = cluster.api.timed_requests();
    let at = |target: &str| {
        requests
            .iter()
            .find(|(_, r)| r == target)
            .map(|(at, _)| *at)
            .expect(target)
    };
    let second = at("/api/v1/pods?limit=2&continue=page-2") - at("/api/v1/pods?limit=2");
    let pages = requests
        .iter()
        .filter(|(_, r)| r.starts_with("/api/v1/pods?"))
        .count();
    (second, pages)
}

#[tokio::test]
async fn the_next_page_is_asked_for_before_this_one_has_arrived() {
    let delay = Duration::from_millis(600);
    let (second, pages) = second_page_asked_after(Fault::Trickle(delay)).await;
    // The first page's items came `delay` after its metadata, which names the second page:
    // that page was asked for in between.
    assert!(second < delay / 2, "asked for after {second:?}");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_page_whose_first_part_does_not_tell_its_token_is_read_whole_first() {
    let delay = Duration::from_millis(400);
    let (second, pages) = second_page_asked_after(Fault::TrickleMetadataLast(delay)).await;
    // The continue token came last, `delay` after the items: the second page could only be
    // asked for once the whole first page had arrived.
    assert!(second >= delay, "asked for after {second:?}");
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let requests = same_findings_despite(
        vec![FaultRule::once(
            "/api/v1/pods?limit=2&continue=page-2",
            Fault::Drop,
        )],
        options,
    )
    .await;
    let dropped = requests
        .iter()
        .filter(|r| *r == "/api/v1/pods?limit=2&continue=page-2")
        .count();
    assert_eq!(dropped, 2, "{requests:#?}");
}

#[tokio::test]
async fn a_slow_page_times_out_and_is_retried() {
    let requests = same_findings_despite(
        vec![FaultRule::once(
            "/api/v1/services?",
            Fault::Slow(Duration::from_secs(3)),
        )],
        |kubeconfig| Options {
            retry: Retry {
                request_timeout: Duration::from_secs(1),
                ..options(kubeconfig).retry
            },
            ..options(kubeconfig)
        },
    )
    .await;
    let services = requests
        .iter()
        .filter(|r| r.starts_with("/api/v1/services?"))
        .count();
    assert_eq!(services, 2, "{requests:#?}");
}

#[tokio::test]
async fn a_kind_that_keeps_failing_ends_the_read() {
    let cluster = start(Setup {
        faults: vec![FaultRule::always("/api/v1/pods?", Fault::Status(500))],
        ..setup()
    });
    let options = options(&cluster.kubeconfig);
    let client = meshready_cluster::client(&options).await.expect("client");
    let error = meshready_cluster::read(client, &options, &|_| {})
        .await
        .expect_err("a persistent 500 is an error");
    let message = error.to_string();
    assert_eq!(
        message,
        "cannot list pods in all namespaces (needed for IST0103 pod-missing-proxy, Istio CNI detection, and checks on Pods without an owner): Error from server (InternalError): Internal error occurred: etcdserver: request timed out"
    );
    assert!(std::error::Error::source(&error).is_none());
    let attempts = cluster
        .api
        .requests()
        .iter()
        .filter(|r| r.starts_with("/api/v1/pods?"))
        .count();
    assert_eq!(attempts, 4, "every attempt of the retry budget, no more");
}

/// Reads the cluster of the current kubeconfig context (`KUBECONFIG` or `~/.kube/config`):
/// `cargo test -p meshready-cluster -- --ignored`. Needs only the RBAC in docs/cluster.md.
#[tokio::test]
#[ignore = "needs a real cluster in the current kubeconfig context"]
async fn real_cluster() {
    let options = Options {
        all_namespaces: true,
        ..Options::default()
    };
    let client = meshready_cluster::client(&options).await.expect("client");
    let snapshot = meshready_cluster::read(client, &options, &|_| {})
        .await
        .expect("read");
    assert!(snapshot.objects.iter().any(|o| o.kind == "Namespace"));
    assert!(snapshot.objects.iter().all(|o| o.kind != "Secret"));
    let loaded = meshready_cluster::loaded(&snapshot);
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    let report = meshready_cluster::check(&loaded, &CheckOptions::default());
    assert_eq!(report.summary.objects, snapshot.objects.len());
}
