//! `meshready cluster` end to end against the mock API server of the cluster crate: output,
//! exit code, one warning for a forbidden kind, and `--as-manifests` read back by
//! `meshready check --live` with the same findings.

#[path = "../../meshready-cluster/tests/support/mod.rs"]
mod support;

use std::process::Command;

use meshready_core::source::{LoadOptions, load_str};
use serde_json::Value;
use support::{Fault, FaultRule, MockApi, Setup};

const FIXTURE: &str = include_str!("../../meshready-cluster/tests/fixtures/cluster.yaml");

fn meshready(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_meshready"))
        .args(args)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run meshready");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

/// Findings without their location, sorted.
fn findings(json: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(json).expect("json output");
    let mut findings: Vec<Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let mut f = f.clone();
            f.as_object_mut().expect("object").remove("location");
            f
        })
        .collect();
    findings.sort_by_key(ToString::to_string);
    findings
}

#[test]
fn cluster_reports_like_check_and_round_trips() {
    let objects = load_str("cluster.yaml", FIXTURE, &LoadOptions::default())
        .objects
        .iter()
        .map(|o| o.root.to_json())
        .collect();
    let api = MockApi::start(Setup {
        objects,
        forbidden: vec!["daemonsets"],
        not_served: vec!["policy/v1beta1", "security.openshift.io/v1"],
        faults: Vec::new(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    let dump = dir.path().join("dump.yaml");
    let kubeconfig = kubeconfig.to_str().expect("path");
    let dump = dump.to_str().expect("path");

    let (code, stdout, stderr) = meshready(&[
        "cluster",
        "--kubeconfig",
        kubeconfig,
        "-A",
        "--request-limit",
        "2",
        "-o",
        "json",
        "--as-manifests",
        dump,
    ]);
    // MR0002 (reserved sidecar port on the StatefulSet) is an error.
    assert_eq!(code, 1, "stderr: {stderr}");
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].contains("DaemonSet"), "{stderr}");
    assert!(!stderr.contains("PodSecurityPolicy"), "{stderr}");
    let live = findings(&stdout);
    assert!(
        live.iter()
            .all(|f| f.get("location").is_none() && f["path"].is_string())
    );
    assert!(
        live.iter().any(|f| f["code"] == "IST0103"
            && f["object"]["kind"] == "Deployment"
            && f["message"] == "pods of `shop/web` are missing the Istio proxy"
            && f["pods"] == 2),
        "{stdout}"
    );

    let (code, stdout, stderr) = meshready(&["check", "--live", "--no-config", "-o", "json", dump]);
    assert_eq!(code, 1, "stderr: {stderr}");
    assert_eq!(findings(&stdout), live);

    // Text output: the same exit code, the CNI fact on stderr.
    let (code, stdout, stderr) = meshready(&[
        "cluster",
        "--kubeconfig",
        kubeconfig,
        "-n",
        "shop",
        "--failure-threshold",
        "never",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("IST0103"), "{stdout}");
    assert!(stderr.contains("Istio CNI is on"), "{stderr}");
}

#[test]
fn a_kind_that_cannot_be_read_is_one_error_in_kubectl_words() {
    let objects = load_str("cluster.yaml", FIXTURE, &LoadOptions::default())
        .objects
        .iter()
        .map(|o| o.root.to_json())
        .collect();
    // `Retry-After: 0` on every attempt: the retry budget is spent at once.
    let api = MockApi::start(Setup {
        objects,
        faults: vec![FaultRule::always(
            "/apis/apps/v1/deployments?",
            Fault::TooManyRequests(0),
        )],
        ..Setup::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    let (code, stdout, stderr) = meshready(&[
        "cluster",
        "--kubeconfig",
        kubeconfig.to_str().expect("path"),
        "-A",
        "-o",
        "json",
    ]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert!(stdout.is_empty(), "no report on a partial read: {stdout}");
    assert_eq!(
        stderr.trim_end(),
        "meshready: error: cannot list deployments in all namespaces (needed for every workload check (service association, ports, UIDs, labels, pod security) on these workloads): Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later"
    );
    let attempts = api
        .requests()
        .iter()
        .filter(|r| r.starts_with("/apis/apps/v1/deployments?"))
        .count();
    assert_eq!(attempts, 6, "the default retry budget");
}

#[test]
fn an_unreachable_cluster_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let (code, _, stderr) =
        meshready(&["cluster", "--kubeconfig", missing.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read kubeconfig"), "{stderr}");
}

/// `cluster` reads the same config keys as `check` (issue 11: it ignored `mesh`,
/// `output-threshold` and `failure-threshold`, and its CNI note ignored `--istio-cni`).
#[test]
fn cluster_takes_mesh_thresholds_and_cni_from_the_config() {
    let objects = load_str("cluster.yaml", FIXTURE, &LoadOptions::default())
        .objects
        .iter()
        .map(|o| o.root.to_json())
        .collect();
    let api = MockApi::start(Setup {
        objects,
        forbidden: vec![],
        not_served: vec!["policy/v1beta1", "security.openshift.io/v1"],
        faults: Vec::new(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    let run = |config: &str, extra: &[&str]| {
        std::fs::write(dir.path().join(".meshready.yaml"), config).expect("config");
        let out = Command::new(env!("CARGO_BIN_EXE_meshready"))
            .current_dir(dir.path())
            .args(["cluster", "-A", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(extra)
            .env_remove("KUBECONFIG")
            .output()
            .expect("run meshready");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).expect("utf-8"),
            String::from_utf8(out.stderr).expect("utf-8"),
        )
    };
    let (code, stdout, stderr) = run("failure-threshold: never\n", &["-o", "json"]);
    assert_eq!(code, 0, "failure-threshold: never; stderr: {stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["summary"]["config"], ".meshready.yaml");
    assert!(
        doc["findings"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["severity"] == "info"))
    );

    let (_, stdout, _) = run("output-threshold: warning\n", &["-o", "json"]);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert!(
        doc["findings"]
            .as_array()
            .is_some_and(|f| !f.is_empty() && f.iter().all(|f| f["severity"] != "info")),
        "{stdout}"
    );

    let (code, stdout, _) = run("mesh: none\n", &["-o", "json"]);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["summary"]["in_mesh"], 0, "{stdout}");
    assert_eq!(code, 0, "no sidecar, no MR0002: {stdout}");

    let (_, _, stderr) = run("istio-cni: off\n", &[]);
    assert!(
        stderr.contains("Istio CNI is off (set by --istio-cni or the config file)"),
        "{stderr}"
    );
    let (_, _, stderr) = run("istio-cni: off\n", &["--istio-cni", "on"]);
    assert!(stderr.contains("Istio CNI is on (set by"), "{stderr}");
}

/// Live, the Kubernetes version is the API server's (unless a flag or the config names one),
/// and the Nodes' kubelets decide `--native-sidecars auto` (issue 12).
#[test]
fn the_api_servers_version_and_the_nodes_decide() {
    let mut objects: Vec<Value> = load_str("cluster.yaml", FIXTURE, &LoadOptions::default())
        .objects
        .iter()
        .map(|o| o.root.to_json())
        .collect();
    objects.push(serde_json::json!({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
        "status": {"nodeInfo": {"kubeletVersion": "v1.32.4"}}
    }));
    let api = MockApi::start(Setup {
        objects,
        forbidden: vec![],
        not_served: vec!["policy/v1beta1", "security.openshift.io/v1"],
        faults: Vec::new(),
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    let kubeconfig = kubeconfig.to_str().expect("path");
    let summary = |extra: &[&str]| {
        let mut args = vec![
            "cluster",
            "--no-config",
            "-A",
            "-o",
            "json",
            "--kubeconfig",
            kubeconfig,
        ];
        args.extend_from_slice(extra);
        let (_, stdout, stderr) = meshready(&args);
        let doc: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stderr}"));
        doc["summary"].clone()
    };
    let live = summary(&[]);
    assert_eq!(live["kubernetes_version"], "1.32", "{live:#}");
    // A kubelet older than 1.33: no native sidecars under `auto`.
    assert_eq!(live["native_sidecars"], false, "{live:#}");
    let flagged = summary(&["--kubernetes-version", "1.34"]);
    assert_eq!(flagged["kubernetes_version"], "1.34");
}
