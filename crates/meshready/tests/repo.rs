//! `meshready check` on repositories as they are (issue 14): a fixture tree with a Helm chart,
//! a Kustomize base and overlay with a patch, CI workflows, hidden and `.gitignore`d paths and
//! other tools' files exits 0 or 1 (never 2) with the right skip counts; `--exclude`,
//! `--scope`, MR0050 and the pods of operators.

#![expect(
    clippy::print_stderr,
    reason = "tests print why a kubectl-dependent part did not run"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// Runs `meshready ARGS` in `dir`; returns the exit code, stdout and stderr.
fn run_in(dir: &Path, args: &[&str], path_env: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("meshready").unwrap();
    cmd.current_dir(dir).args(args);
    if let Some(path) = path_env {
        cmd.env("PATH", path);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `check --no-config -o json ARGS` in the fixtures directory: (exit code, JSON report).
fn json(args: &[&str]) -> (i32, Value) {
    json_in(&fixtures(), args, None)
}

fn json_in(dir: &Path, args: &[&str], path_env: Option<&str>) -> (i32, Value) {
    let mut all = vec!["check", "--no-config", "-o", "json"];
    all.extend(args);
    let (code, stdout, stderr) = run_in(dir, &all, path_env);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?}, stderr {stderr:?}"));
    (code, report)
}

fn kubectl_available() -> bool {
    std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn reasons(report: &Value) -> BTreeMap<String, u64> {
    report["summary"]["skipped_files_by_reason"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect()
}

fn expected_reasons() -> BTreeMap<String, u64> {
    [
        ("helm-chart", 1),
        ("helm-template", 2),
        ("helm-values", 3),
        ("kustomization", 2),
        ("kustomize-input", 3),
        ("not-kubernetes", 1),
        ("tool-config", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn finding_files(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["location"]["file"].as_str().map(String::from))
        .collect()
}

fn codes(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_repository_tree_is_checked_without_errors_and_skips_are_counted() {
    let (code, report) = json(&["repo"]);
    assert!(code == 0 || code == 1, "exit {code}: {report:#}");
    assert_eq!(report["errors"], serde_json::json!([]), "{report:#}");
    let summary = &report["summary"];
    assert_eq!(reasons(&report), expected_reasons());
    assert_eq!(summary["skipped_files"], 13);
    // Read: manifests/web.yaml, the chart's CRD, and the overlay built by kubectl.
    let notes: Vec<&str> = summary["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("repo/charts/web is a Helm chart") && n.contains("helm template")),
        "{notes:?}"
    );
    // A patch is never checked as an object: no finding points into the Kustomize sources.
    assert!(
        finding_files(&report)
            .iter()
            .all(|f| !f.contains("replicas-patch") && !f.contains("kustomize/base")),
        "{report:#}"
    );
    if kubectl_available() {
        assert_eq!(summary["files"], 3);
        assert_eq!(summary["objects"], 5);
        assert_eq!(summary["workloads"], 2);
        assert!(
            notes
                .iter()
                .any(|n| n.contains("built the Kustomize directory"))
        );
    } else {
        eprintln!("kubectl is not on the PATH: the Kustomize build was not checked");
        assert_eq!(summary["files"], 2);
    }
}

#[test]
fn without_kubectl_a_kustomize_directory_is_skipped_with_a_note() {
    let (code, report) = json_in(&fixtures(), &["repo"], Some(""));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(reasons(&report), expected_reasons());
    assert_eq!(report["summary"]["files"], 2);
    assert_eq!(report["summary"]["objects"], 3);
    let notes = report["summary"]["notes"].to_string();
    assert!(
        notes.contains("kubectl is not on the PATH")
            && notes.contains("kubectl kustomize repo/kustomize/overlays/prod | meshready check -"),
        "{notes}"
    );
}

#[test]
fn check_with_no_path_checks_the_working_directory() {
    let dir = fixtures().join("repo");
    let (code, report) = json_in(&dir, &[], None);
    assert!(code == 0 || code == 1, "exit {code}");
    assert_eq!(reasons(&report), expected_reasons());
    let files = finding_files(&report);
    assert!(files.iter().all(|f| !f.starts_with("./")), "{files:?}");
    let (code, _, stderr) = run_in(&dir, &["check", "--no-config"], Some(""));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("13 files skipped as not Kubernetes manifests (1 helm-chart, 2 helm-template, 3 helm-values, 2 kustomization, 3 kustomize-input, 1 not-kubernetes, 1 tool-config)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "note: charts/web is a Helm chart: 2 templates were not checked; check the rendered chart with `helm template charts/web | meshready check -`"
        ),
        "{stderr}"
    );
}

#[test]
fn exclude_flags_and_config_leave_paths_out() {
    let (_, report) = json(&["repo", "--exclude", "charts/", "--exclude", "manifests"]);
    let skipped = reasons(&report);
    assert!(!skipped.contains_key("helm-values"), "{skipped:?}");
    assert!(!skipped.contains_key("not-kubernetes"), "{skipped:?}");
    assert!(report["summary"]["notes"].to_string().contains("Kustomize") || !kubectl_available());
    assert!(
        !report["summary"]["notes"]
            .to_string()
            .contains("Helm chart")
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "exclude: [charts/, manifests]\n").unwrap();
    let repo = fixtures().join("repo");
    let (code, stdout, stderr) = run_in(
        &fixtures(),
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "-o",
            "json",
            repo.to_str().unwrap(),
        ],
        None,
    );
    assert!(code == 0 || code == 1, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert!(!reasons(&report).contains_key("helm-chart"));

    let (code, _, stderr) = run_in(
        &fixtures(),
        &["check", "--no-config", "repo", "--exclude", "a/{"],
        None,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("invalid --exclude glob"), "{stderr}");
}

#[test]
fn hidden_and_ignored_files_are_read_when_named() {
    let (code, _, stderr) = run_in(
        &fixtures(),
        &["check", "--no-config", "repo/.hidden/broken.yaml"],
        None,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
}

#[test]
fn stdin_still_works() {
    let manifest = std::fs::read(fixtures().join("repo/manifests/web.yaml")).unwrap();
    let out = Command::cargo_bin("meshready")
        .unwrap()
        .args(["check", "--no-config", "-o", "json", "-"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["summary"]["objects"], 2);
    assert_eq!(report["summary"]["skipped_files"], 0);
}

#[test]
fn a_kustomization_that_does_not_build_is_an_error() {
    if !kubectl_available() {
        eprintln!("SKIP: kubectl is not on the PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources:\n- missing.yaml\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["check", "--no-config"], None);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stdout.contains("error: `kubectl kustomize .` failed: accumulating resources")
            && stdout.contains("--> kustomization.yaml:1:1"),
        "{stdout}"
    );
}

#[test]
fn scope_keeps_unrelated_directories_apart() {
    // One cluster: the archived PSP denies the app's sidecar, and the variants conflict.
    // PodSecurityPolicy exists up to Kubernetes 1.24 only.
    let (code, report) = json(&["scope", "--kubernetes-version", "1.24"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(codes(&report), ["MR0010", "MR0050"]);
    let message = report["findings"][1]["message"].as_str().unwrap();
    assert!(
        message.contains("defined 3 times")
            && message.contains("scope/apps/web/web.yaml:4")
            && message.contains("scope/variants/dev/web.yaml:5")
            && message.contains("scope/variants/prod/web.yaml:5")
            && message.contains("--scope directory"),
        "{message}"
    );
    for scope in ["directory", "file"] {
        let (code, apart) = json(&["scope", "--scope", scope, "--kubernetes-version", "1.24"]);
        assert_eq!(code, 0, "{scope}: {apart:#}");
        assert_eq!(codes(&apart), Vec::<String>::new(), "{scope}");
        assert_eq!(apart["summary"]["objects"], report["summary"]["objects"]);
        assert_eq!(
            apart["summary"]["workloads"],
            report["summary"]["workloads"]
        );
    }
    // The config file's `scope:`, and the flag over it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(&config, "scope: directory\nkubernetes-version: \"1.24\"\n").unwrap();
    let config = config.to_str().unwrap();
    let (code, _, _) = run_in(&fixtures(), &["check", "--config", config, "scope"], None);
    assert_eq!(code, 0);
    let (code, _, _) = run_in(
        &fixtures(),
        &["check", "--config", config, "--scope", "cluster", "scope"],
        None,
    );
    assert_eq!(code, 1);
}

#[test]
fn identical_copies_are_not_conflicts() {
    let (_, report) = json(&[
        "scope/apps/web/web.yaml",
        "repo/manifests/web.yaml",
        "scope/apps/web/web.yaml",
    ]);
    // The same file twice is identical; the repo's web differs (a targetPort).
    let conflicts: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "MR0050")
        .collect();
    assert_eq!(conflicts.len(), 2, "{report:#}");
    assert!(
        conflicts
            .iter()
            .all(|f| f["message"].as_str().unwrap().contains("defined 3 times"))
    );
}

#[test]
fn operator_pods_are_checked_and_config_adds_kinds() {
    let (code, report) = json(&["operators"]);
    assert_eq!(code, 1, "{report:#}");
    let found: Vec<(String, String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["object"]["kind"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        (
            "IST0144",
            "RayCluster",
            "/spec/workerGroupSpecs/0/template/spec/containers/0/securityContext/runAsUser",
        ),
        (
            "MR0002",
            "LeaderWorkerSet",
            "/spec/leaderWorkerTemplate/workerTemplate/spec/containers/0/ports/0/containerPort",
        ),
        (
            "MR0006",
            "Service",
            "/spec/template/spec/containers/0/securityContext/runAsGroup",
        ),
    ]
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()));
    assert_eq!(found, expected);
    assert_eq!(report["summary"]["skipped_kinds"]["TrainingRun"], 1);

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.yaml");
    std::fs::write(
        &config,
        "pod-templates:\n- kind: TrainingRun\n  apiVersion: example.com/v1\n  path: spec.workers[*].podTemplate\n",
    )
    .unwrap();
    let (_, stdout, stderr) = run_in(
        &fixtures(),
        &[
            "check",
            "--config",
            config.to_str().unwrap(),
            "-o",
            "json",
            "operators",
        ],
        None,
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    let run: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"]["kind"] == "TrainingRun")
        .map(|f| (f["code"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        run,
        [
            ("IST0117", "/spec/workers/0/podTemplate/metadata/labels"),
            (
                "IST0144",
                "/spec/workers/0/podTemplate/spec/containers/0/securityContext/runAsUser"
            )
        ]
    );
    assert_eq!(report["summary"]["skipped"], 0);
}

#[test]
fn templates_outside_a_recognised_chart_are_skipped_by_content() {
    let (code, _, stderr) = run_in(
        &fixtures(),
        &["check", "--no-config", "repo/charts/web/templates"],
        None,
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 files skipped as not Kubernetes manifests (2 helm-template)")
            && stderr.contains("note: 2 files with `{{ }}` template actions did not parse"),
        "{stderr}"
    );
}
