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

/// Rules that need inputs other than manifests (suppressions) are tested where those live.
const TESTED_ELSEWHERE: &[(&str, &str)] = &[("MR0030", "crates/meshready/tests/config.rs")];

#[test]
fn every_rule_has_a_fixture() {
    for rule in RULES {
        let code = rule.meta().code;
        if TESTED_ELSEWHERE.iter().any(|(c, _)| *c == code) {
            continue;
        }
        assert!(
            fixture_dir().join(format!("{code}.yaml")).exists(),
            "no fixture for {code}"
        );
    }
}

macro_rules! fixture_tests {
    ($($name:ident => $code:literal),* $(,)?) => {
        $(#[test] fn $name() { run_fixture($code); })*
    };
}

fixture_tests! {
    ist0102 => "IST0102",
    ist0103 => "IST0103",
    ist0116 => "IST0116",
    ist0117 => "IST0117",
    ist0118 => "IST0118",
    ist0123 => "IST0123",
    ist0137 => "IST0137",
    ist0144 => "IST0144",
    ist0150 => "IST0150",
    mr0001 => "MR0001",
    mr0002 => "MR0002",
    mr0003 => "MR0003",
    mr0004 => "MR0004",
    mr0005 => "MR0005",
    mr0006 => "MR0006",
    mr0010 => "MR0010",
    mr0011 => "MR0011",
    mr0012 => "MR0012",
    mr0013 => "MR0013",
    mr0020 => "MR0020",
    mr0021 => "MR0021",
    mr0022 => "MR0022",
    mr0023 => "MR0023",
    mr0030 => "MR0030",
    mr0044 => "MR0044",
    mr0045 => "MR0045",
}
