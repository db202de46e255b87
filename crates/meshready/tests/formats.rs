//! Every output format over one fixture set (snapshots), SARIF against the SARIF 2.1.0 schema,
//! and exit codes that do not depend on the format.

use std::path::Path;

use assert_cmd::Command;

const FORMATS: [&str; 6] = ["text", "json", "sarif", "github", "junit", "concise"];
/// Formats whose output holds a timestamp: exit codes only (schema tests in reports.rs).
const REPORT_FORMATS: [&str; 2] = ["policyreport", "openreports"];

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats"
    ))
}

/// Runs `meshready check --no-config --project-root . -o FORMAT FILES...` in the fixture
/// directory.
fn run(format: &str, files: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args([
            "check",
            "--no-config",
            "--project-root",
            ".",
            "--output",
            format,
        ])
        .args(files)
        .output()
        .unwrap();
    let redact = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes).replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    };
    (
        output.status.code().unwrap_or(-1),
        redact(&output.stdout),
        redact(&output.stderr),
    )
}

/// Keeps the snapshots independent of how many rules exist (other tests check that every rule
/// is listed): SARIF's `rules` array becomes one pinned descriptor (MR0002) and `ruleIndex`
/// a placeholder; JUnit's passing `no findings` suites and its total test count go.
fn stable(format: &str, stdout: &str) -> String {
    match format {
        "sarif" => {
            let mut log: serde_json::Value = serde_json::from_str(stdout).unwrap();
            let driver = &mut log["runs"][0]["tool"]["driver"];
            let rules = driver["rules"].as_array().unwrap();
            let pinned = rules.iter().find(|r| r["id"] == "MR0002").unwrap().clone();
            driver["rules"] = serde_json::json!(["[every rule; MR0002 shown]", pinned]);
            for result in log["runs"][0]["results"].as_array_mut().unwrap() {
                result["ruleIndex"] = serde_json::json!("[index]");
            }
            let root = &mut log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"];
            assert!(
                root.as_str()
                    .is_some_and(|u| u.starts_with("file:///") && u.ends_with("/formats/")),
                "{root}"
            );
            *root = serde_json::json!("file:///[ROOT]/");
            serde_json::to_string_pretty(&log).unwrap()
        }
        "junit" => {
            let lines: Vec<&str> = stdout.lines().collect();
            let mut out = Vec::new();
            let mut i = 0;
            while i < lines.len() {
                if lines[i].trim_start().starts_with("<testsuite ")
                    && lines
                        .get(i + 1)
                        .is_some_and(|l| l.contains("<testcase name=\"no findings\""))
                {
                    i += 3;
                    continue;
                }
                if lines[i].starts_with("<testsuites ") {
                    let tail = lines[i].split_once(" skipped=").map_or("", |(_, t)| t);
                    out.push(format!(
                        "<testsuites name=\"meshready\" tests=\"[N]\" skipped={tail}"
                    ));
                } else {
                    out.push(lines[i].to_string());
                }
                i += 1;
            }
            out.join("\n")
        }
        _ => stdout.to_string(),
    }
}

#[test]
fn every_format_snapshot() {
    for format in FORMATS {
        let (code, stdout, _) = run(format, &["app.yaml", "broken.yaml"]);
        assert_eq!(code, 2, "{format}: a broken input exits with 2");
        insta::assert_snapshot!(format!("output_{format}"), stable(format, &stdout));
    }
}

#[test]
fn exit_codes_do_not_depend_on_the_format() {
    for format in FORMATS.into_iter().chain(REPORT_FORMATS) {
        assert_eq!(run(format, &["app.yaml"]).0, 1, "{format}: findings");
        assert_eq!(run(format, &["clean.yaml"]).0, 0, "{format}: clean");
        assert_eq!(run(format, &["broken.yaml"]).0, 2, "{format}: broken");
        assert_eq!(
            run(format, &["app.yaml", "broken.yaml"]).0,
            2,
            "{format}: broken wins"
        );
    }
}

#[test]
fn clean_input_renders_an_empty_report() {
    let (_, github, _) = run("github", &["clean.yaml"]);
    assert_eq!(github, "");
    let (_, sarif, _) = run("sarif", &["clean.yaml"]);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap();
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        sarif["runs"][0]["invocations"][0]["executionSuccessful"],
        true
    );
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let mut schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    // The published schema's pattern for the `language` properties,
    // `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`, has a stray `]` that ECMA-262 regexes reject,
    // so the schema itself fails the draft-07 meta-schema. meshready never writes `language`;
    // drop that pattern in memory (the vendored file stays as published).
    let mut dropped = 0;
    for definition in schema["definitions"].as_object_mut().unwrap().values_mut() {
        if let Some(language) = definition["properties"]
            .get_mut("language")
            .and_then(serde_json::Value::as_object_mut)
            && language
                .get("pattern")
                .is_some_and(|p| p == "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$")
        {
            language.remove("pattern");
            dropped += 1;
        }
    }
    assert!(dropped > 0);
    let validator = jsonschema::validator_for(&schema).unwrap();
    for files in [&["app.yaml", "broken.yaml"][..], &["clean.yaml"], &["-"]] {
        let (_, stdout, _) = if files == ["-"] {
            let output = Command::cargo_bin("meshready")
                .unwrap()
                .current_dir(fixtures())
                .args(["check", "--no-config", "--output", "sarif", "-"])
                .write_stdin(std::fs::read(fixtures().join("app.yaml")).unwrap())
                .output()
                .unwrap();
            (0, String::from_utf8(output.stdout).unwrap(), String::new())
        } else {
            run("sarif", files)
        };
        let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&log)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{files:?}: {errors:#?}");
        // The validator does reject what the schema forbids.
        let mut broken = log.clone();
        broken["runs"][0]["tool"]["driver"]["rules"][0]["defaultConfiguration"]["level"] =
            serde_json::json!("fatal");
        assert!(!validator.is_valid(&broken));
    }
}

#[test]
fn sarif_has_what_github_code_scanning_needs() {
    let (_, stdout, _) = run("sarif", &["app.yaml", "broken.yaml"]);
    let log: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), meshready_rules_count());
    for result in run["results"].as_array().unwrap() {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        assert!(
            result["partialFingerprints"]["meshready/v1"]
                .as_str()
                .is_some_and(|p| !p.is_empty())
        );
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(uri, "app.yaml");
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
    }
    let notifications = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notifications.len(), 1);
    assert_eq!(run["invocations"][0]["executionSuccessful"], false);
}

#[test]
fn sarif_fingerprints_survive_moved_lines() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixtures().join("app.yaml")).unwrap();
    let prints = |text: &str| {
        std::fs::write(dir.path().join("app.yaml"), text).unwrap();
        let output = Command::cargo_bin("meshready")
            .unwrap()
            .current_dir(dir.path())
            .args(["check", "--no-config", "-o", "sarif", "app.yaml"])
            .output()
            .unwrap();
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["partialFingerprints"]["meshready/v1"].clone(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let before = prints(&text);
    let after = prints(&format!("# a comment\n# and another\n{text}"));
    assert_eq!(before.len(), after.len());
    for ((p1, l1), (p2, l2)) in before.iter().zip(&after) {
        assert_eq!(p1, p2);
        assert_ne!(l1, l2);
    }
}

#[test]
fn unused_suppress_patterns_are_configuration_notifications_in_sarif() {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args([
            "check",
            "--no-config",
            "-o",
            "sarif",
            "-S",
            "IST0103=Pod *.testing",
            "clean.yaml",
        ])
        .output()
        .unwrap();
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let run = &log["runs"][0];
    assert_eq!(run["results"], serde_json::json!([]));
    let notes = &run["invocations"][0]["toolConfigurationNotifications"];
    assert_eq!(notes[0]["associatedRule"]["id"], "MR0030");
    assert_eq!(notes[0]["level"], "note");
}

#[test]
fn github_commands_for_stdin_carry_no_file() {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["check", "--no-config", "-o", "github", "-"])
        .write_stdin(std::fs::read(fixtures().join("app.yaml")).unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.lines().count() > 0);
    assert!(
        stdout
            .lines()
            .all(|l| l.starts_with("::") && !l.contains("file=")),
        "{stdout}"
    );
}

#[test]
fn stdin_is_named_stdin_in_sarif() {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["check", "--no-config", "-o", "sarif", "-"])
        .write_stdin(std::fs::read(fixtures().join("app.yaml")).unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let location =
        &log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(location["uri"], "stdin");
    assert!(location.get("uriBaseId").is_none(), "{location}");
    let artifacts = log["runs"][0]["artifacts"].as_array().unwrap();
    assert_eq!(artifacts.len(), 1);
    assert_eq!(artifacts[0]["location"]["uri"], "stdin");
    assert_eq!(artifacts[0]["description"]["text"], "standard input");
}

/// SARIF URIs from a subdirectory, through `..` and from an absolute path all name the file
/// relative to the project root (the git root by default).
#[test]
fn sarif_uris_are_relative_to_the_project_root() {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path().canonicalize().unwrap();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("k8s/base")).unwrap();
    std::fs::create_dir_all(root.join("tools")).unwrap();
    std::fs::copy(fixtures().join("app.yaml"), root.join("k8s/base/app.yaml")).unwrap();
    let sarif_uris = |cwd: &Path, args: &[&str]| {
        let output = Command::cargo_bin("meshready")
            .unwrap()
            .current_dir(cwd)
            .args(["check", "--no-config", "-o", "sarif"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let log: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let run = &log["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert!(!results.is_empty());
        let mut uris: Vec<(String, String)> = results
            .iter()
            .map(|r| {
                let a = &r["locations"][0]["physicalLocation"]["artifactLocation"];
                (
                    a["uriBaseId"].as_str().unwrap_or("").to_string(),
                    a["uri"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        uris.dedup();
        (uris, run["originalUriBaseIds"]["%SRCROOT%"]["uri"].clone())
    };
    let expected = vec![("%SRCROOT%".to_string(), "k8s/base/app.yaml".to_string())];
    let root_uri = serde_json::json!(format!("file://{}/", root.display()));
    let outside = tempfile::tempdir().unwrap();
    for (cwd, arg) in [
        (root.clone(), "k8s/base/app.yaml".to_string()),
        (root.clone(), "./k8s/../k8s/base/./app.yaml".to_string()),
        (root.join("tools"), "../k8s/base/app.yaml".to_string()),
        (root.join("k8s"), "base/app.yaml".to_string()),
        (
            outside.path().to_path_buf(),
            root.join("k8s/base/app.yaml").display().to_string(),
        ),
    ] {
        let project_root = root.display().to_string();
        let args: Vec<&str> = if cwd.starts_with(&root) {
            vec![arg.as_str()]
        } else {
            vec!["--project-root", project_root.as_str(), arg.as_str()]
        };
        let (uris, base) = sarif_uris(&cwd, &args);
        assert_eq!(uris, expected, "{} {arg}", cwd.display());
        assert_eq!(base, root_uri);
    }
    // `--project-root` moves the base.
    let (uris, base) = sarif_uris(&root, &["--project-root", "k8s", "k8s/base/app.yaml"]);
    assert_eq!(uris, vec![("%SRCROOT%".into(), "base/app.yaml".into())]);
    assert_eq!(
        base,
        serde_json::json!(format!("file://{}/k8s/", root.display()))
    );
    // Outside the root: an absolute file URI without a base.
    let (uris, _) = sarif_uris(&root, &["--project-root", "tools", "k8s/base/app.yaml"]);
    assert_eq!(
        uris,
        vec![(
            String::new(),
            format!("file://{}/k8s/base/app.yaml", root.display())
        )]
    );
}

#[test]
fn rules_json_lists_code_name_severity_and_summary() {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["rules", "--output", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(rules.len(), meshready_rules_count());
    for rule in &rules {
        for key in ["code", "name", "severity", "summary"] {
            assert!(
                rule[key].as_str().is_some_and(|v| !v.is_empty()),
                "{key} in {rule}"
            );
        }
        assert!(matches!(
            rule["severity"].as_str(),
            Some("info" | "warning" | "error")
        ));
    }
    assert!(rules.iter().any(|r| r["code"] == "MR0030"));
}

fn meshready_rules_count() -> usize {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["rules"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).lines().count()
}
