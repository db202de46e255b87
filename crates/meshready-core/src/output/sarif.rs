//! The SARIF 2.1.0 format, for GitHub code scanning and other SARIF viewers.
//!
//! # Shape
//! - One run; `tool.driver` is `meshready` with its version, `informationUri`, and **every** rule
//!   of [`crate::rules::RULES`] (so that alerts of rules that stop firing get closed),
//!   each with `shortDescription` (the summary), `fullDescription` (the "What it checks"
//!   section), `help` (the rule's Markdown documentation), `helpUri` (its page under
//!   `docs/rules/`) and `defaultConfiguration.level`.
//! - One result per finding at or above the output threshold: `ruleId`, `ruleIndex`, `level`
//!   (`error`, `warning`, `note`), `message.text` (message and fix), a physical location (the
//!   path as given, with forward slashes, `stdin` for `-`; 1-based line and column in Unicode
//!   code points, see `columnKind`), a logical location naming the object (`Kind ns/name`), and
//!   `partialFingerprints["meshready/v1"]`: a hash of the code, the object's kind, namespace and
//!   name and the JSON pointer of the field — never line numbers — so a finding keeps its
//!   identity when lines move.
//! - Inputs that could not be read go into `invocations[0].toolExecutionNotifications` with
//!   their location; `invocations[0].executionSuccessful` is false when there are any.
//! - Unused `--suppress` patterns (MR0030 findings without a file location) go into
//!   `invocations[0].toolConfigurationNotifications`: GitHub code scanning wants a file location
//!   on every result. Other findings without a file location (live-cluster objects) stay results
//!   with only the logical location; use `--output json` for cluster scans.
//!
//! Built on the `serde-sarif` crate's generated types and builders.

use std::collections::{BTreeMap, HashMap};

use serde_sarif::sarif;

use super::visible;
use crate::Report;
use crate::finding::{Finding, Severity};
use crate::rule::RuleMeta;
use crate::rules::RULES;
use crate::source::LoadError;

/// The schema URI written into `$schema`.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The project's home page (`tool.driver.informationUri`).
pub const INFORMATION_URI: &str = "https://github.com/meshready/meshready";
/// The key of meshready's partial fingerprint.
pub const FINGERPRINT_KEY: &str = "meshready/v1";

/// The documentation page of a rule.
#[must_use]
pub fn help_uri(code: &str) -> String {
    format!("{INFORMATION_URI}/blob/main/docs/rules/{code}.md")
}

/// SARIF's level for a severity.
#[must_use]
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn result_level(severity: Severity) -> sarif::ResultLevel {
    match severity {
        Severity::Error => sarif::ResultLevel::Error,
        Severity::Warning => sarif::ResultLevel::Warning,
        Severity::Info => sarif::ResultLevel::Note,
    }
}

/// A path as a SARIF URI reference: forward slashes, `./` dropped, `-` (stdin) as `stdin`, and
/// characters that may not appear in a URI percent-encoded.
#[must_use]
pub fn artifact_uri(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    let slashed = path.replace('\\', "/");
    let mut trimmed = slashed.as_str();
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    let mut out = String::with_capacity(trimmed.len());
    for byte in trimmed.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A stable 64-bit FNV-1a hash, as 16 hex digits (std's hashers may change between releases).
fn fnv1a(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0xff]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The partial fingerprint of a finding: code, object and field, never the line.
#[must_use]
pub fn fingerprint(f: &Finding) -> String {
    fnv1a(&[
        f.code,
        &f.object.kind,
        &f.object.namespace,
        &f.object.name,
        &f.path,
    ])
}

/// The "What it checks" section of a rule's documentation, as plain text.
fn what_it_checks(meta: &RuleMeta) -> String {
    let docs = meta.explanation();
    let section = docs
        .split("## ")
        .find_map(|s| s.strip_prefix("What it checks"))
        .map_or(meta.summary, str::trim);
    if section.is_empty() {
        meta.summary.to_string()
    } else {
        section.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn rule_descriptor(meta: &RuleMeta) -> sarif::ReportingDescriptor {
    let docs = meta.explanation();
    sarif::ReportingDescriptor::builder()
        .id(meta.code)
        .name(meta.name)
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(meta.summary)
                .build(),
        )
        .full_description(
            sarif::MultiformatMessageString::builder()
                .text(what_it_checks(meta))
                .build(),
        )
        .help(
            sarif::MultiformatMessageString::builder()
                .text(docs.clone())
                .markdown(docs)
                .build(),
        )
        .help_uri(help_uri(meta.code))
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(serde_json::Value::from(level(meta.severity)))
                .build(),
        )
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(BTreeMap::from([(
                    "istioVersions".to_string(),
                    serde_json::Value::from(meta.istio_versions),
                )]))
                .build(),
        )
        .build()
}

fn physical(file: &str, line: u32, column: u32) -> sarif::PhysicalLocation {
    sarif::PhysicalLocation::builder()
        .artifact_location(
            sarif::ArtifactLocation::builder()
                .uri(artifact_uri(file))
                .build(),
        )
        .region(
            sarif::Region::builder()
                .start_line(i64::from(line.max(1)))
                .start_column(i64::from(column.max(1)))
                .build(),
        )
        .build()
}

fn result(f: &Finding, rule_index: Option<usize>, fingerprint: String) -> sarif::Result {
    let logical = sarif::LogicalLocation::builder()
        .name(f.object.name.clone())
        .fully_qualified_name(f.object.to_string())
        .kind("resource")
        .build();
    let location = match &f.location {
        Some(l) => sarif::Location::builder()
            .physical_location(physical(&l.file, l.line, l.column))
            .logical_locations(vec![logical])
            .build(),
        None => sarif::Location::builder()
            .logical_locations(vec![logical])
            .build(),
    };
    let mut properties = BTreeMap::from([
        ("object".to_string(), serde_json::json!(f.object)),
        ("path".to_string(), serde_json::Value::from(f.path.clone())),
    ]);
    if let Some(chart) = f.location.as_ref().and_then(|l| l.chart_file.clone()) {
        properties.insert("chartFile".into(), serde_json::Value::from(chart));
    }
    let builder = sarif::Result::builder()
        .rule_id(f.code)
        .level(result_level(f.severity))
        .message(
            sarif::Message::builder()
                .text(format!("{}. {}", f.message, f.fix))
                .build(),
        )
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT_KEY.to_string(), fingerprint)]))
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    match rule_index.and_then(|i| i64::try_from(i).ok()) {
        Some(i) => builder.rule_index(i).build(),
        None => builder.build(),
    }
}

fn notification(e: &LoadError) -> sarif::Notification {
    sarif::Notification::builder()
        .level(serde_json::Value::from("error"))
        .message(sarif::Message::builder().text(e.message.clone()).build())
        .locations(vec![
            sarif::Location::builder()
                .physical_location(physical(&e.file, e.line, e.column))
                .build(),
        ])
        .build()
}

/// Renders the report as a pretty-printed SARIF 2.1.0 log, with a trailing newline. `version`
/// is meshready's version (`tool.driver.version`).
#[must_use]
pub fn render(report: &Report, threshold: Severity, version: &str) -> String {
    let index: HashMap<&str, usize> = RULES
        .iter()
        .enumerate()
        .map(|(i, r)| (r.meta().code, i))
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let unused_code = crate::rules::UnusedSuppression::META.code;
    let (config_notes, findings): (Vec<&Finding>, Vec<&Finding>) =
        visible(&report.findings, threshold)
            .partition(|f| f.code == unused_code && f.location.is_none());
    let results: Vec<sarif::Result> = findings
        .into_iter()
        .map(|f| {
            // Two findings on the same field of the same object get distinct fingerprints, in
            // report order.
            let base = fingerprint(f);
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let print = if *n == 1 { base } else { format!("{base}:{n}") };
            result(f, index.get(f.code).copied(), print)
        })
        .collect();
    let driver = sarif::ToolComponent::builder()
        .name("meshready")
        .version(version)
        .semantic_version(version)
        .information_uri(INFORMATION_URI)
        .rules(
            RULES
                .iter()
                .map(|r| rule_descriptor(r.meta()))
                .collect::<Vec<_>>(),
        )
        .build();
    let config_notifications: Vec<sarif::Notification> = config_notes
        .iter()
        .map(|f| {
            sarif::Notification::builder()
                .level(serde_json::Value::from(level(f.severity)))
                .message(
                    sarif::Message::builder()
                        .text(format!("{}. {}", f.message, f.fix))
                        .build(),
                )
                .associated_rule(match index.get(f.code) {
                    Some(&i) => sarif::ReportingDescriptorReference::builder()
                        .id(f.code)
                        .index(i64::try_from(i).unwrap_or(-1))
                        .build(),
                    None => sarif::ReportingDescriptorReference::builder()
                        .id(f.code)
                        .build(),
                })
                .build()
        })
        .collect();
    let mut invocation = sarif::Invocation::builder()
        .execution_successful(report.errors.is_empty())
        .build();
    if !report.errors.is_empty() {
        invocation.tool_execution_notifications =
            Some(report.errors.iter().map(notification).collect());
    }
    if !config_notifications.is_empty() {
        invocation.tool_configuration_notifications = Some(config_notifications);
    }
    let run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    let log = sarif::Sarif::builder()
        .schema(SCHEMA_URI)
        .version(serde_json::Value::from("2.1.0"))
        .runs(vec![run])
        .build();
    let mut out =
        serde_json::to_string_pretty(&log).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_with_forward_slashes() {
        assert_eq!(artifact_uri("-"), "stdin");
        assert_eq!(
            artifact_uri("./deploy/web app.yaml"),
            "deploy/web%20app.yaml"
        );
        assert_eq!(artifact_uri("deploy\\web.yaml"), "deploy/web.yaml");
    }

    #[test]
    fn fingerprints_ignore_lines() {
        let f = |line| Finding {
            code: "IST0118",
            name: "port-protocol-unknown",
            severity: Severity::Info,
            message: "m".into(),
            fix: "F.".into(),
            object: crate::ObjectRef {
                kind: "Service".into(),
                namespace: "default".into(),
                name: "web".into(),
            },
            path: "/spec/ports/0".into(),
            location: Some(crate::Location {
                file: "a.yaml".into(),
                line,
                column: 3,
                chart_file: None,
            }),
        };
        assert_eq!(fingerprint(&f(3)), fingerprint(&f(30)));
        assert_eq!(fingerprint(&f(3)).len(), 16);
    }
}
