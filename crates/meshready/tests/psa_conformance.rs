//! Pod Security Admission conformance: upstream's fixture pods must be rejected (MR0012) exactly when upstream says so.
//!
//! Every `<level>/<version>/<pass|fail>/*.yaml` under `shared/conformance/psa` (the
//! kubernetes/pod-security-admission test data) is checked with `--mesh none` and
//! `--pod-security <level>:<version>`: each pod in `fail/` must get at least one MR0012 finding,
//! each pod in `pass/` none.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use meshready_core::psa::Policy;
use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, MeshMode, check};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/psa")
}

fn sorted_dir(path: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Checks one `pass` or `fail` directory; returns (files, files with the wrong outcome, fail
/// files that fail for another check than the one they are named after).
fn check_dir(dir: &Path, policy: Policy, expect_fail: bool) -> (usize, Vec<String>, Vec<String>) {
    let files: Vec<PathBuf> = sorted_dir(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    let inputs: Vec<Input> = files
        .iter()
        .map(|p| Input {
            path: p.display().to_string(),
            bytes: std::fs::read(p).expect("fixture is readable"),
        })
        .collect();
    let loaded = load(inputs, &LoadOptions::default());
    let mut options = CheckOptions::default();
    options.settings.mesh = MeshMode::None;
    options.settings.admission.pod_security = Some(policy);
    let report = check(&loaded, &options);
    let mut mismatches: Vec<String> = loaded
        .errors
        .iter()
        .map(|e| format!("{}:{}: load error: {}", e.file, e.line, e.message))
        .collect();
    let rejected: HashSet<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "MR0012")
        .map(|f| f.object.name.as_str())
        .collect();
    let wrong = if expect_fail {
        wrong_check(&loaded, policy)
    } else {
        Vec::new()
    };
    for file in &files {
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let got_fail = rejected.contains(name);
        if got_fail != expect_fail {
            let messages: Vec<&str> = report
                .findings
                .iter()
                .filter(|f| f.code == "MR0012" && f.object.name == name)
                .map(|f| f.message.as_str())
                .collect();
            mismatches.push(format!(
                "{}: expected {}, got {} {messages:?}",
                file.display(),
                if expect_fail { "fail" } else { "pass" },
                if got_fail { "fail" } else { "pass" },
            ));
        }
    }
    (files.len(), mismatches, wrong)
}

/// A `fail` fixture must fail for the check it is named after (`<checkid><n>.yaml`, lowercased),
/// or for the restricted check that overrides it at that version.
fn wrong_check(loaded: &meshready_core::Loaded, policy: Policy) -> Vec<String> {
    let mut out = Vec::new();
    for object in &loaded.objects {
        let family = object.name.trim_end_matches(|c: char| c.is_ascii_digit());
        let meta = object
            .root
            .get("metadata")
            .unwrap_or(&meshready_core::source::node::NULL);
        let spec = object
            .root
            .get("spec")
            .unwrap_or(&meshready_core::source::node::NULL);
        let checks: Vec<String> = policy
            .evaluate(meta, spec)
            .iter()
            .map(|v| v.check.id().to_ascii_lowercase())
            .collect();
        let overriding = match family {
            "capabilities_baseline" => "capabilities_restricted",
            "procmount" => "procmount_restricted",
            "seccompprofile_baseline" => "seccompprofile_restricted",
            "hostpathvolumes" => "restrictedvolumes",
            other => other,
        };
        if !checks.iter().any(|c| c == family || c == overriding) {
            out.push(format!(
                "{policy} {}: fails for {checks:?}, not for {family}",
                object.name
            ));
        }
    }
    out
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn upstream_psa_fixtures() {
    let root = root();
    let mut total = 0;
    let mut mismatches = Vec::new();
    let mut wrong = Vec::new();
    for level_dir in sorted_dir(&root) {
        let Some(level) = level_dir
            .file_name()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        for version_dir in sorted_dir(&level_dir) {
            let Some(version) = version_dir.file_name().and_then(|s| s.to_str()) else {
                continue;
            };
            let policy = Policy::parse(&format!("{level}:{version}"))
                .unwrap_or_else(|e| panic!("{}: {e}", version_dir.display()));
            for (outcome, expect_fail) in [("pass", false), ("fail", true)] {
                let dir = version_dir.join(outcome);
                if dir.is_dir() {
                    let (n, m, w) = check_dir(&dir, policy, expect_fail);
                    total += n;
                    mismatches.extend(m);
                    wrong.extend(w);
                }
            }
        }
    }
    println!(
        "psa conformance: {} of {total} fixture pods match upstream ({} mismatches)",
        total - mismatches.len(),
        mismatches.len()
    );
    for m in &mismatches {
        println!("  MISMATCH {m}");
    }
    println!(
        "psa conformance: {} fail fixtures rejected for another check than their own",
        wrong.len()
    );
    for w in &wrong {
        println!("  WRONG CHECK {w}");
    }
    assert!(total > 0, "no fixtures found under {}", root.display());
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    assert!(
        wrong.is_empty(),
        "{} rejected for another check",
        wrong.len()
    );
}

/// The Istio-shaped pods of `psa-notes/istio-synthetic` (not upstream), with the outcomes and
/// failing checks that `psa-notes/README.md` documents for `baseline` and `restricted` latest.
#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn istio_synthetic_pods() {
    let dir = root().join("../psa-notes/istio-synthetic");
    let cases: &[(&str, &[&str], &[&str])] = &[
        (
            "istio-init-no-cni",
            &["capabilities_baseline"],
            &["capabilities_restricted", "runAsNonRoot", "runAsUser"],
        ),
        ("istio-cni", &[], &[]),
        (
            "istio-cni-app-unhardened",
            &[],
            &[
                "allowPrivilegeEscalation",
                "capabilities_restricted",
                "runAsNonRoot",
                "seccompProfile_restricted",
            ],
        ),
        (
            "istio-cni-tproxy",
            &["capabilities_baseline"],
            &["capabilities_restricted", "runAsNonRoot", "runAsUser"],
        ),
        ("istio-cni-capnetbind", &[], &["runAsNonRoot", "runAsUser"]),
    ];
    for (name, baseline, restricted) in cases {
        let path = dir.join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&path).expect("synthetic pod is readable");
        let loaded = meshready_core::source::load_str(name, &text, &LoadOptions::default());
        let object = &loaded.objects[0];
        let meta = object.root.get("metadata").expect("metadata");
        let spec = object.root.get("spec").expect("spec");
        for (policy, want) in [("baseline", baseline), ("restricted", restricted)] {
            let mut got: Vec<&str> = Policy::parse(policy)
                .expect("valid policy")
                .evaluate(meta, spec)
                .iter()
                .map(|v| v.check.id())
                .collect();
            got.dedup();
            assert_eq!(&got, want, "{name} at {policy}");
        }
    }
}
