//! `.meshready.yaml`: severity overrides, disabled rules, per-object ignores with reasons,
//! errors with file:line:column, discovery, flags over the file, and unused suppressions.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/config"
    ))
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

/// Runs `meshready check -o json ARGS... app.yaml` in the fixture directory.
fn check(args: &[&str]) -> Run {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args(["check", "-o", "json"])
        .args(args)
        .arg("app.yaml")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn findings(run: &Run) -> Vec<(String, String, String)> {
    run.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(run: &Run, code: &str, severity: &str, name: &str) -> bool {
    findings(run).contains(&(code.into(), severity.into(), name.into()))
}

#[test]
fn without_config() {
    let run = check(&["--no-config"]);
    assert_eq!(run.code, 0);
    assert!(has(&run, "IST0118", "info", "web"));
    assert!(has(&run, "IST0144", "warning", "vendor-db"));
    // The annotation on web's pod template suppresses MR0002.
    assert!(findings(&run).iter().all(|f| f.0 != "MR0002"));
}

#[test]
fn severity_overrides_and_disabled_rules() {
    let run = check(&["--config", "overrides.meshready.yaml"]);
    assert_eq!(run.code, 1, "IST0118 raised to error fails the run");
    assert!(has(&run, "IST0118", "error", "web"));
    assert!(
        findings(&run).iter().all(|f| f.0 != "IST0144"),
        "application-uid-1337 is off"
    );
    assert_eq!(run.json["summary"]["findings"]["error"], 1);
}

#[test]
fn per_object_ignores_and_unused_ones() {
    let run = check(&["--config", "vendor-ignore.meshready.yaml"]);
    assert_eq!(run.code, 0);
    assert!(findings(&run).iter().all(|f| f.0 != "IST0144"));
    let unused: Vec<&Value> = run.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "MR0030")
        .collect();
    assert_eq!(unused.len(), 1, "{unused:#?}");
    let note = unused[0];
    assert_eq!(note["severity"], "info");
    assert_eq!(note["name"], "unused-suppression");
    assert_eq!(
        note["message"],
        "ignore[1] of vendor-ignore.meshready.yaml (reason: stale, the vendor fixed it) matched no finding"
    );
    assert_eq!(note["location"]["file"], "vendor-ignore.meshready.yaml");
    assert_eq!(note["location"]["line"], 8);
    assert_eq!(run.json["summary"]["suppressed"], 2);
}

#[test]
fn unused_suppress_patterns_and_annotations_are_reported() {
    let run = check(&[
        "--no-config",
        "--suppress",
        "IST0103=Pod *.testing",
        "--suppress",
        "IST0118=Service web.shop",
    ]);
    let messages: Vec<&str> = run.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "MR0030")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        ["`--suppress IST0103=Pod *.testing` matched no finding"]
    );

    // Once the port is fixed, the annotation is stale.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("app.yaml"))
        .unwrap()
        .replace("        - containerPort: 15090\n", "");
    std::fs::write(dir.path().join("app.yaml"), text).unwrap();
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(dir.path())
        .args(["check", "--no-config", "-o", "json", "app.yaml"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let stale: Vec<&Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "MR0030")
        .collect();
    assert_eq!(stale.len(), 1);
    assert_eq!(
        stale[0]["message"],
        "`meshready.io/ignore` lists `MR0002`, which reported nothing on this object"
    );
    assert_eq!(stale[0]["location"]["line"], 14);
}

#[test]
fn settings_and_flags_over_the_file() {
    let run = check(&["--config", "settings.meshready.yaml"]);
    assert_eq!(run.code, 0, "failure-threshold: never");
    // output-threshold: warning hides the info; annotations are disallowed, so MR0002 shows.
    assert!(findings(&run).iter().all(|f| f.1 != "info"));
    assert!(has(&run, "MR0002", "error", "web"));

    let run = check(&[
        "--config",
        "settings.meshready.yaml",
        "--failure-threshold",
        "error",
        "--output-threshold",
        "info",
    ]);
    assert_eq!(run.code, 1, "the flag overrides failure-threshold: never");
    assert!(has(&run, "IST0118", "info", "web"));
}

#[test]
fn istio_cni_and_pod_security_keys_act_like_the_flags() {
    let from_file = check(&["--config", "admission.meshready.yaml"]);
    let from_flags = check(&[
        "--no-config",
        "--istio-cni",
        "off",
        "--pod-security",
        "baseline",
    ]);
    assert_eq!(from_file.json["findings"], from_flags.json["findings"]);
    assert_eq!(
        from_file.json["summary"]["config"],
        "admission.meshready.yaml"
    );
    assert_eq!(from_flags.json["summary"]["config"], Value::Null);
    assert_eq!(from_file.code, 1);
    assert!(has(&from_file, "MR0011", "error", "web"));
    // The flag wins over the file.
    let with_cni = check(&["--config", "admission.meshready.yaml", "--istio-cni", "on"]);
    assert!(findings(&with_cni).iter().all(|f| f.0 != "MR0011"));
}

#[test]
fn errors_name_file_line_and_column_and_exit_2() {
    for (file, expected) in [
        (
            "missing-reason.meshready.yaml",
            "missing-reason.meshready.yaml:2:3: this ignore entry needs a non-empty `reason`",
        ),
        (
            "bad-key.meshready.yaml",
            "bad-key.meshready.yaml:3:1: unknown key `failure_threshold`",
        ),
        (
            "bad-rule.meshready.yaml",
            "bad-rule.meshready.yaml:3:3: unknown rule `IST9999`",
        ),
        (
            "bad-value.meshready.yaml",
            "bad-value.meshready.yaml:1:7: expected one of auto, all, none, found `sometimes`",
        ),
    ] {
        let run = check(&["--config", file]);
        assert_eq!(run.code, 2, "{file}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "{file}: expected {expected:?} in {:?}",
            run.stderr
        );
        assert_eq!(run.json, Value::Null, "{file}: no report on a bad config");
    }
    let run = check(&["--config", "no-such-file.yaml"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot read config file no-such-file.yaml")
    );
}

#[test]
fn discovered_upward_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("app.yaml"), dir.path().join("app.yaml")).unwrap();
    std::fs::write(
        dir.path().join(".meshready.yaml"),
        "rules:\n  IST0118: {severity: error}\n",
    )
    .unwrap();
    let sub = dir.path().join("deploy/overlays");
    std::fs::create_dir_all(&sub).unwrap();
    let run_in = |cwd: &Path, extra: &[&str]| {
        Command::cargo_bin("meshready")
            .unwrap()
            .current_dir(cwd)
            .args(["check", "-o", "json"])
            .args(extra)
            .arg(dir.path().join("app.yaml"))
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run_in(&sub, &[]), Some(1), "found two levels up");
    assert_eq!(run_in(dir.path(), &[]), Some(1), "found in the directory");
    assert_eq!(run_in(&sub, &["--no-config"]), Some(0));

    // Errors in a discovered file are shown relative to the working directory.
    std::fs::write(dir.path().join(".meshready.yaml"), "colour: blue\n").unwrap();
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(&sub)
        .args(["check", "app.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("../../.meshready.yaml:1:1: unknown key `colour`")
    );
}

#[test]
fn config_and_no_config_conflict() {
    let run = check(&["--config", "overrides.meshready.yaml", "--no-config"]);
    assert_eq!(run.code, 2);
}

/// The config file is found upward from the checked path, not from the working directory (as
/// ruff and clippy do), and the report says which one was used.
#[test]
fn discovered_from_the_checked_path_and_named_in_the_summary() {
    let repo = tempfile::tempdir().unwrap();
    let app = repo.path().join("k8s/apps");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::copy(fixtures().join("app.yaml"), app.join("app.yaml")).unwrap();
    std::fs::write(
        repo.path().join("k8s/.meshready.yaml"),
        "rules:\n  IST0118: {severity: error}\n",
    )
    .unwrap();
    // The working directory has a config of its own that must not be used.
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(
        elsewhere.path().join(".meshready.yaml"),
        "failure-threshold: never\n",
    )
    .unwrap();
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(elsewhere.path())
        .args(["check", "-o", "json"])
        .arg(app.join("app.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "the checked path's config raised IST0118"
    );
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    let shown = json["summary"]["config"].as_str().unwrap();
    assert!(shown.ends_with("k8s/.meshready.yaml"), "{shown}");

    // From the repository root, the path is shown relative to it; the text summary says it too.
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(repo.path())
        .args(["check", "k8s/apps"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("; config k8s/.meshready.yaml"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Flags and the config accept the same codes and refuse unknown ones in the same words.
#[test]
fn unknown_codes_fail_alike_in_flags_and_config() {
    let run = check(&["--no-config", "-S", "FOO9=Deployment web.shop"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("unknown rule `FOO9`; `meshready rules` lists the codes and names"),
        "{}",
        run.stderr
    );
    let config = check(&["--config", "bad-rule.meshready.yaml"]);
    assert!(
        config
            .stderr
            .contains("unknown rule `IST9999`; `meshready rules` lists the codes and names")
    );
    // Names and globs that match a rule are accepted.
    assert_eq!(
        check(&["--no-config", "-S", "port-protocol-unknown=Service *"]).code,
        0
    );
    assert_eq!(check(&["--no-config", "-S", "IST01*=Service *"]).code, 0);
}
