//! The SARIF 2.1.0 format, for GitHub code scanning and other SARIF viewers.
//!
//! # Shape
//! - One run; `tool.driver` is `meshready` with its version, `informationUri`, and **every** rule
//!   of [`crate::rules::RULES`] (so that alerts of rules that stop firing get closed),
//!   each with `shortDescription` (the summary), `fullDescription` (the "What it checks"
//!   section), `help` (the rule's Markdown documentation), `helpUri` (its page under
//!   `docs/rules/`) and `defaultConfiguration.level`.
//! - One result per finding at or above the output threshold: `ruleId`, `ruleIndex`, `level`
//!   (`error`, `warning`, `note`), `message.text` (message and fix), a physical location (see
//!   "Paths" below; 1-based line and column in Unicode code points, see `columnKind`), a
//!   logical location naming the object (`Kind ns/name`), and
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
//! - With a baseline ([`SarifOptions::baseline`]), every result has a `baselineState`: `new`
//!   for findings the baseline does not know; the known ones are listed too, as `unchanged`
//!   with an `external` suppression (so viewers do not show them as open problems). Stale
//!   baseline entries are counted in the run's `properties.baselineStale`.
//!
//! # Paths
//! With a project root ([`SarifOptions::project_root`], the CLI's `--project-root`, by default
//! the git root), a file under it is a URI relative to it with `uriBaseId` `%SRCROOT%`, and
//! `run.originalUriBaseIds["%SRCROOT%"]` is the root as a `file://` URI: what GitHub code
//! scanning needs to map an alert to a file of the repository. A file outside the root is an
//! absolute `file://` URI. Paths are normalised lexically (`a/./b/../c` is `a/c`) and use
//! forward slashes. Stdin (`-`) is the URI `stdin`, without a base. Every file a result or
//! notification refers to is listed once in `run.artifacts` (`analysisTarget`).
//!
//! Built on the `serde-sarif` crate's generated types and builders.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use serde_sarif::sarif;

use super::{fingerprint, visible};
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

/// The base id of URIs relative to the project root.
pub const SRCROOT: &str = "%SRCROOT%";

/// How SARIF paths and baseline states are written.
#[derive(Debug, Clone, Copy, Default)]
pub struct SarifOptions<'a> {
    /// The absolute working directory that relative input paths are relative to.
    pub cwd: Option<&'a Path>,
    /// The absolute project root that URIs are made relative to (`%SRCROOT%`); `None` keeps
    /// the paths as given (normalised).
    pub project_root: Option<&'a Path>,
    /// The outcome of `--baseline`: findings known to it, stale entries.
    pub baseline: Option<&'a super::baseline::Applied>,
}

/// Removes `.` and resolves `..` lexically (a leading `..` of a relative path stays).
#[must_use]
pub fn normalize(path: &Path) -> PathBuf {
    let mut out: Vec<Component<'_>> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(component),
            },
            _ => out.push(component),
        }
    }
    out.iter().collect()
}

/// A path's URI: `uriBaseId` `%SRCROOT%` and a relative URI under the root, a `file://` URI
/// elsewhere, `stdin` for `-`.
fn located(path: &str, options: &SarifOptions<'_>) -> (String, Option<&'static str>) {
    if path == "-" {
        return ("stdin".into(), None);
    }
    let Some(root) = options.project_root else {
        return (artifact_uri(path), None);
    };
    let given = Path::new(path);
    let absolute = match options.cwd {
        Some(cwd) if given.is_relative() => cwd.join(given),
        _ => given.to_path_buf(),
    };
    let absolute = normalize(&absolute);
    match absolute.strip_prefix(normalize(root)) {
        Ok(relative) if absolute.is_absolute() => (
            percent_encode(&relative.to_string_lossy().replace('\\', "/")),
            Some(SRCROOT),
        ),
        _ if absolute.is_absolute() => (file_uri(&absolute), None),
        _ => (artifact_uri(path), None),
    }
}

/// An absolute path as a `file://` URI (a directory's ends with `/` when `dir`).
fn file_uri(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    let text = if text.starts_with('/') {
        text
    } else {
        format!("/{text}")
    };
    format!("file://{}", percent_encode(&text))
}

/// A path as a SARIF URI reference: forward slashes, normalised (`./` and `a/..` dropped), `-`
/// (stdin) as `stdin`, and characters that may not appear in a URI percent-encoded.
#[must_use]
pub fn artifact_uri(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    let slashed = path.replace('\\', "/");
    let normal = normalize(Path::new(&slashed));
    percent_encode(&normal.to_string_lossy())
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
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

fn artifact_location(file: &str, options: &SarifOptions<'_>) -> sarif::ArtifactLocation {
    let (uri, base) = located(file, options);
    let mut location = sarif::ArtifactLocation::builder().uri(uri).build();
    location.uri_base_id = base.map(String::from);
    location
}

fn physical(
    file: &str,
    line: u32,
    column: u32,
    options: &SarifOptions<'_>,
) -> sarif::PhysicalLocation {
    sarif::PhysicalLocation::builder()
        .artifact_location(artifact_location(file, options))
        .region(
            sarif::Region::builder()
                .start_line(i64::from(line.max(1)))
                .start_column(i64::from(column.max(1)))
                .build(),
        )
        .build()
}

fn result(
    f: &Finding,
    rule_index: Option<usize>,
    fingerprint: String,
    options: &SarifOptions<'_>,
) -> sarif::Result {
    let logical = sarif::LogicalLocation::builder()
        .name(f.object.name.clone())
        .fully_qualified_name(f.object.to_string())
        .kind("resource")
        .build();
    let location = match &f.location {
        Some(l) => sarif::Location::builder()
            .physical_location(physical(&l.file, l.line, l.column, options))
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
                .text(format!("{}. {}", f.text(), f.fix))
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

fn notification(e: &LoadError, options: &SarifOptions<'_>) -> sarif::Notification {
    sarif::Notification::builder()
        .level(serde_json::Value::from("error"))
        .message(sarif::Message::builder().text(e.message.clone()).build())
        .locations(vec![
            sarif::Location::builder()
                .physical_location(physical(&e.file, e.line, e.column, options))
                .build(),
        ])
        .build()
}

/// Renders the report as a pretty-printed SARIF 2.1.0 log, with a trailing newline, with the
/// paths as given. `version` is meshready's version (`tool.driver.version`).
#[must_use]
pub fn render(report: &Report, threshold: Severity, version: &str) -> String {
    render_with(report, threshold, version, &SarifOptions::default())
}

/// Renders the report as [`render`] does, with project-relative paths and baseline states.
#[must_use]
#[expect(
    clippy::too_many_lines,
    reason = "one SARIF run assembled in order; the parts are helpers"
)]
pub fn render_with(
    report: &Report,
    threshold: Severity,
    version: &str,
    options: &SarifOptions<'_>,
) -> String {
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
    let known: Vec<&Finding> = options
        .baseline
        .map(|b| visible(&b.known, threshold).collect())
        .unwrap_or_default();
    let mut results: Vec<sarif::Result> = Vec::new();
    for (f, is_known) in findings
        .into_iter()
        .map(|f| (f, false))
        .chain(known.into_iter().map(|f| (f, true)))
    {
        // Two findings on the same field of the same object get distinct fingerprints, in
        // report order.
        let base = fingerprint(f);
        let n = seen.entry(base.clone()).or_default();
        *n += 1;
        let print = if *n == 1 { base } else { format!("{base}:{n}") };
        let mut r = result(f, index.get(f.code).copied(), print, options);
        if options.baseline.is_some() {
            r.baseline_state = Some(serde_json::Value::from(if is_known {
                "unchanged"
            } else {
                "new"
            }));
        }
        if is_known {
            let mut suppression = sarif::Suppression::builder()
                .kind(serde_json::Value::from("external"))
                .build();
            suppression.justification = Some("known finding, listed in the baseline".into());
            suppression.status = Some(serde_json::Value::from("accepted"));
            r.suppressions = Some(vec![suppression]);
        }
        results.push(r);
    }
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
                        .text(format!("{}. {}", f.text(), f.fix))
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
        invocation.tool_execution_notifications = Some(
            report
                .errors
                .iter()
                .map(|e| notification(e, options))
                .collect(),
        );
    }
    if !config_notifications.is_empty() {
        invocation.tool_configuration_notifications = Some(config_notifications);
    }
    let artifacts = artifacts(report, &results, options);
    let mut run = sarif::Run::builder()
        .tool(sarif::Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .column_kind(serde_json::Value::from("unicodeCodePoints"))
        .results(results)
        .build();
    if !artifacts.is_empty() {
        run.artifacts = Some(artifacts);
    }
    if let Some(root) = options.project_root {
        let mut uri = file_uri(&normalize(root));
        if !uri.ends_with('/') {
            uri.push('/');
        }
        run.original_uri_base_ids = Some(BTreeMap::from([(
            SRCROOT.to_string(),
            sarif::ArtifactLocation::builder().uri(uri).build(),
        )]));
    }
    if let Some(baseline) = options.baseline {
        run.properties = Some(
            sarif::PropertyBag::builder()
                .additional_properties(BTreeMap::from([(
                    "baselineStale".to_string(),
                    serde_json::Value::from(baseline.stale.len()),
                )]))
                .build(),
        );
    }
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

/// One `analysisTarget` artifact per file that a result or notification names.
fn artifacts(
    report: &Report,
    results: &[sarif::Result],
    options: &SarifOptions<'_>,
) -> Vec<sarif::Artifact> {
    let mut named: BTreeSet<(Option<String>, String)> = BTreeSet::new();
    let mut push = |location: &sarif::ArtifactLocation| {
        if let Some(uri) = &location.uri {
            named.insert((location.uri_base_id.clone(), uri.clone()));
        }
    };
    for r in results {
        for l in r.locations.iter().flatten() {
            if let Some(a) = l
                .physical_location
                .as_ref()
                .and_then(|p| p.artifact_location.as_ref())
            {
                push(a);
            }
        }
    }
    for e in &report.errors {
        push(&artifact_location(&e.file, options));
    }
    named
        .into_iter()
        .map(|(base, uri)| {
            let stdin = base.is_none() && uri == "stdin";
            let mut location = sarif::ArtifactLocation::builder().uri(uri).build();
            location.uri_base_id = base;
            let mut artifact = sarif::Artifact::builder()
                .location(location)
                .roles(vec![serde_json::Value::from("analysisTarget")])
                .build();
            if stdin {
                artifact.description =
                    Some(sarif::Message::builder().text("standard input").build());
            }
            artifact
        })
        .collect()
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
        assert_eq!(artifact_uri("a/../b/./c.yaml"), "b/c.yaml");
        assert_eq!(artifact_uri("../b.yaml"), "../b.yaml");
    }

    #[test]
    fn uris_are_relative_to_the_project_root() {
        let options = SarifOptions {
            cwd: Some(Path::new("/repo/sub")),
            project_root: Some(Path::new("/repo")),
            baseline: None,
        };
        assert_eq!(
            located("k8s/../app.yaml", &options),
            ("sub/app.yaml".into(), Some(SRCROOT))
        );
        assert_eq!(
            located("/repo/k8s/a b.yaml", &options),
            ("k8s/a%20b.yaml".into(), Some(SRCROOT))
        );
        assert_eq!(
            located("../../etc/x.yaml", &options),
            ("file:///etc/x.yaml".into(), None)
        );
        assert_eq!(located("-", &options), ("stdin".into(), None));
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
            pods: None,
        };
        assert_eq!(fingerprint(&f(3)), fingerprint(&f(30)));
        assert_eq!(fingerprint(&f(3)).len(), 16);
    }
}
