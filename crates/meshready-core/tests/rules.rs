//! Per-rule fixtures: objects named `fire-*` must get the rule's finding, `dont-fire-*` must not,
//! and the rendered findings are pinned by snapshots.

use std::path::Path;

use meshready_core::output::text;
use meshready_core::settings::Settings;
use meshready_core::source::{LoadOptions, load_str};
use meshready_core::{CheckOptions, Severity, check, rules::RULES};

fn fixture_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rules"))
}

fn run_fixture(code: &str) {
    let name = format!("{code}.yaml");
    let text = std::fs::read_to_string(fixture_dir().join(&name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    let loaded = load_str(&name, &text, &LoadOptions::default());
    assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
    let options = CheckOptions {
        settings: Settings {
            live: code == "IST0103",
            // PodSecurityPolicy exists up to Kubernetes 1.24 only.
            inject: meshready_core::settings::InjectSettings {
                kubernetes_version: (code == "MR0010").then_some(24),
                ..Default::default()
            },
            ..Settings::default()
        },
        ..CheckOptions::default()
    };
    let mut report = check(&loaded, &options);
    // What the loader drops for the rules (`rules::PRUNE`) changes no finding.
    let pruned = load_str(
        &name,
        &text,
        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
    );
    assert!(
        check(&pruned, &options).findings == report.findings,
        "{code}: pruning changed the findings"
    );
    report.findings.retain(|f| f.code == code);
    assert!(
        !report.findings.is_empty(),
        "{code}: the fixture produced no finding"
    );
    for f in &report.findings {
        assert!(
            f.object.name.starts_with("fire"),
            "{code} fired on {}: {}",
            f.object,
            f.message
        );
        assert!(f.location.is_some(), "{code}: finding without location");
        assert!(
            !f.message.ends_with('.')
                && f.message.chars().next().is_some_and(|c| !c.is_uppercase()),
            "{code}: message style: {}",
            f.message
        );
        assert!(
            f.fix.ends_with('.') && f.fix.chars().next().is_some_and(char::is_uppercase),
            "{code}: fix style: {}",
            f.fix
        );
    }
    for object in &loaded.objects {
        if object.name.starts_with("fire") {
            assert!(
                report.findings.iter().any(|f| f.object.name == object.name),
                "{code} did not fire on {}",
                object.display_name()
            );
        }
    }
    insta::assert_snapshot!(code, text::render(&report, &loaded.files, Severity::Info));
}

/// Every rule of the registry has a fixture, fires on its `fire-*` objects only, and matches
/// its snapshot. The list of rules is the registry itself: a new rule without a fixture fails
/// here, and every failing rule is named (not only the first).
#[test]
fn every_rule_fires_on_its_fixture_and_matches_its_snapshot() {
    let mut failures = Vec::new();
    for rule in RULES {
        let code = rule.meta().code;
        if !fixture_dir().join(format!("{code}.yaml")).exists() {
            failures.push(format!(
                "{code}: no fixture tests/fixtures/rules/{code}.yaml"
            ));
            continue;
        }
        if let Err(panic) = std::panic::catch_unwind(|| run_fixture(code)) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(ToString::to_string))
                .unwrap_or_default();
            failures.push(format!("{code}: {message}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every fixture and every snapshot belongs to a rule of the registry: a renamed or removed
/// rule leaves none behind.
#[test]
fn no_orphaned_fixtures_or_snapshots() {
    let codes: Vec<&str> = RULES.iter().map(|r| r.meta().code).collect();
    let snapshots = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
    let mut orphans = Vec::new();
    for (dir, prefix, suffix) in [
        (fixture_dir(), "", ".yaml"),
        (snapshots, "rules__", ".snap"),
    ] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if let Some(code) = name
                .strip_prefix(prefix)
                .and_then(|n| n.strip_suffix(suffix))
                && !codes.contains(&code)
            {
                orphans.push(name);
            }
        }
    }
    orphans.sort();
    assert!(orphans.is_empty(), "files of no rule: {orphans:?}");
}
