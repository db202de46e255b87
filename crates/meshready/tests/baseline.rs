//! Baselines: `meshready baseline create` then `check --baseline`, with lines moved, findings
//! fixed and new ones added; SARIF's `baselineState`.

use std::path::Path;

use assert_cmd::Command;

fn app() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/app.yaml"
    ))
    .unwrap()
}

fn meshready(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .arg("--color=never")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A Deployment with one error (a port the sidecar binds) in another file.
const NEW_PROBLEM: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, version: v1}}
    spec:
      containers:
      - name: api
        image: shop/api:1
        ports:
        - containerPort: 15000
";

#[test]
fn inserting_lines_above_a_finding_does_not_make_it_new() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), app()).unwrap();
    let (code, stdout, stderr) = meshready(
        dir.path(),
        &["baseline", "create", "base.json", "--no-config", "app.yaml"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("base.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["format"], "meshready-baseline/v1");
    let entries = baseline["findings"].as_array().unwrap();
    assert!(entries.len() >= 3, "{baseline}");
    for entry in entries {
        // Identities only: no file, no line.
        let mut keys: Vec<&str> = entry
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["code", "fingerprint", "object", "path"]);
    }
    assert!(stderr.contains(&format!("wrote {} findings to base.json", entries.len())));

    // Without the baseline the file fails; with it, nothing is new.
    assert_eq!(
        meshready(dir.path(), &["check", "--no-config", "app.yaml"]).0,
        1
    );
    std::fs::write(
        dir.path().join("app.yaml"),
        format!("# moved\n# down\n# by\n# four lines\n{}", app()),
    )
    .unwrap();
    let (code, stdout, stderr) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "base.json",
            "app.yaml",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!(
            "the baseline base.json hid {} known findings",
            entries.len()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("0 errors, 0 warnings, 0 infos"), "{stderr}");
    assert!(!stderr.contains("no longer match"), "{stderr}");

    // A new finding in another file is shown, counted and fails the run.
    std::fs::write(dir.path().join("api.yaml"), NEW_PROBLEM).unwrap();
    let (code, stdout, stderr) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "base.json",
            "-o",
            "concise",
            "app.yaml",
            "api.yaml",
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.lines().all(|l| l.starts_with("api.yaml:")),
        "{stdout}"
    );
    assert!(stdout.contains("error[MR0002]"), "{stdout}");

    // SARIF: the new finding is `new`, the known ones `unchanged` and suppressed.
    let (_, stdout, _) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "base.json",
            "-o",
            "sarif",
            "app.yaml",
            "api.yaml",
        ],
    );
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let states = |state: &str| {
        results
            .iter()
            .filter(|r| r["baselineState"] == state)
            .collect::<Vec<_>>()
    };
    assert_eq!(states("unchanged").len(), entries.len());
    assert!(
        states("unchanged")
            .iter()
            .all(|r| r["suppressions"][0]["kind"] == "external")
    );
    let new = states("new");
    assert!(!new.is_empty());
    assert!(new.iter().all(|r| {
        r["suppressions"].is_null()
            && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .ends_with("api.yaml")
    }));
    assert_eq!(new.len() + states("unchanged").len(), results.len());
}

#[test]
fn fixed_findings_are_reported_as_stale_entries() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), app()).unwrap();
    std::fs::write(dir.path().join("api.yaml"), NEW_PROBLEM).unwrap();
    let (code, _, stderr) = meshready(
        dir.path(),
        &[
            "baseline",
            "create",
            "base.json",
            "--no-config",
            "app.yaml",
            "api.yaml",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    // Fix the API's port.
    std::fs::write(
        dir.path().join("api.yaml"),
        NEW_PROBLEM.replace("15000", "8080"),
    )
    .unwrap();
    let (code, _, stderr) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "base.json",
            "app.yaml",
            "api.yaml",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 baseline entry no longer match"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  MR0002 Deployment shop/api /spec/template/spec/containers/0/ports/0"),
        "{stderr}"
    );
}

#[test]
fn a_broken_baseline_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.yaml"), app()).unwrap();
    std::fs::write(
        dir.path().join("base.json"),
        "{\"format\": \"x\", \"findings\": []}",
    )
    .unwrap();
    let (code, _, stderr) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "base.json",
            "app.yaml",
        ],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown baseline format `x`"), "{stderr}");
    let (code, _, stderr) = meshready(
        dir.path(),
        &[
            "check",
            "--no-config",
            "--baseline",
            "missing.json",
            "app.yaml",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read the baseline missing.json"),
        "{stderr}"
    );
}
