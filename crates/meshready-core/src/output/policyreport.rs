//! The PolicyReport format (`wgpolicyk8s.io/v1alpha2`), which Policy Reporter, Kyverno's
//! dashboards and other policy tools read: `meshready cluster -A -o policyreport | kubectl
//! apply -f -`.
//!
//! # Shape
//! A `v1` `List` whose items are one `PolicyReport` named `meshready` per namespace (every
//! namespace of the input's objects, so that re-applying clears fixed findings) and one
//! `ClusterPolicyReport` named `meshready` for cluster-scoped objects and inputs that could not
//! be read. Both carry the label `app.kubernetes.io/managed-by: meshready`.
//!
//! One result per finding at or above the output threshold:
//! - `source` `meshready`, `policy` the rule code, `rule` its name, `category`
//!   `Istio mesh readiness`;
//! - `result` `fail` at or above the failure threshold, `warn` below it;
//! - `severity` `high` (error), `medium` (warning) or `low` (info);
//! - `message` the message and the fix;
//! - `resources`: the object (`apiVersion`, `kind`, `namespace`, `name`, and `uid` when the
//!   input has one: live clusters, `--as-manifests` snapshots);
//! - `properties` (strings): `path` (JSON pointer of the field), `location` (`file:line:col`,
//!   when the object came from a file), `fix`, `documentation` (the rule's page);
//! - `timestamp` when the caller gives one.
//!
//! An input that could not be read is a result with `policy` `input`, `result` `error`.
//! `summary` counts the results by `result`.
//!
//! [`openreports`](super::openreports) writes the same results as `openreports.io/v1alpha1`
//! `Report`s and `ClusterReport`s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::sarif::help_uri;
use super::visible;
use crate::Report;
use crate::finding::{Finding, Severity};
use crate::source::Object;

/// The report's `source` and the name of every report object.
pub const SOURCE: &str = "meshready";
/// The results' `category`.
pub const CATEGORY: &str = "Istio mesh readiness";

/// Which report API to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport / ClusterPolicyReport.
    PolicyReport,
    /// `openreports.io/v1alpha1` Report / ClusterReport.
    OpenReports,
}

impl Flavor {
    fn api_version(self) -> &'static str {
        match self {
            Self::PolicyReport => "wgpolicyk8s.io/v1alpha2",
            Self::OpenReports => "openreports.io/v1alpha1",
        }
    }

    fn kinds(self) -> (&'static str, &'static str) {
        match self {
            Self::PolicyReport => ("PolicyReport", "ClusterPolicyReport"),
            Self::OpenReports => ("Report", "ClusterReport"),
        }
    }
}

/// What a report needs besides the findings.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions<'a> {
    /// The output threshold: lower findings are left out.
    pub threshold: Severity,
    /// Findings at or above it are `fail`, the others `warn` (`None`: all `warn`).
    pub failure: Option<Severity>,
    /// The input's objects, for `apiVersion`, `uid` and the list of namespaces.
    pub objects: &'a [Object],
    /// When the results were found (seconds since the Unix epoch), if known.
    pub timestamp: Option<i64>,
}

/// The PolicyReport's severity of a finding.
#[must_use]
pub fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "high",
        Severity::Warning => "medium",
        Severity::Info => "low",
    }
}

/// Renders the report as `wgpolicyk8s.io/v1alpha2` reports in a `List` (pretty JSON, which
/// `kubectl apply -f -` reads), with a trailing newline.
#[must_use]
pub fn render(report: &Report, options: &ReportOptions<'_>) -> String {
    render_flavor(report, options, Flavor::PolicyReport)
}

/// Renders the report as reports of one API.
#[must_use]
pub fn render_flavor(report: &Report, options: &ReportOptions<'_>, flavor: Flavor) -> String {
    let mut out = serde_json::to_string_pretty(&list(report, options, flavor))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}

/// The `List` of reports as a JSON value.
#[must_use]
pub fn list(report: &Report, options: &ReportOptions<'_>, flavor: Flavor) -> Value {
    let identity: HashMap<(&str, &str, &str), (&str, Option<&str>)> = options
        .objects
        .iter()
        .map(|o| {
            (
                (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
                (
                    o.api_version.as_str(),
                    o.root.at(&["metadata", "uid"]).and_then(|n| n.as_str()),
                ),
            )
        })
        .collect();
    let mut by_namespace: BTreeMap<&str, Vec<Value>> = options
        .objects
        .iter()
        .map(|o| o.namespace.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|ns| (ns, Vec::new()))
        .collect();
    by_namespace.entry("").or_default();
    for f in visible(&report.findings, options.threshold) {
        let result = finding_result(f, &identity, options);
        by_namespace
            .entry(f.object.namespace.as_str())
            .or_default()
            .push(result);
    }
    for e in &report.errors {
        let mut result = json!({
            "source": SOURCE,
            "policy": "input",
            "rule": "readable-input",
            "category": CATEGORY,
            "result": "error",
            "message": e.message,
            "properties": {"location": format!("{}:{}:{}", e.file, e.line, e.column)},
        });
        timestamp(&mut result, options);
        by_namespace.entry("").or_default().push(result);
    }
    let (kind, cluster_kind) = flavor.kinds();
    let items: Vec<Value> = by_namespace
        .into_iter()
        .map(|(namespace, results)| {
            let mut summary = BTreeMap::from([
                ("pass", 0),
                ("fail", 0),
                ("warn", 0),
                ("error", 0),
                ("skip", 0),
            ]);
            for r in &results {
                if let Some(n) = r["result"].as_str().and_then(|k| summary.get_mut(k)) {
                    *n += 1;
                }
            }
            let mut metadata = json!({
                "name": SOURCE,
                "labels": {"app.kubernetes.io/managed-by": SOURCE},
            });
            if !namespace.is_empty() {
                metadata["namespace"] = json!(namespace);
            }
            let mut item = json!({
                "apiVersion": flavor.api_version(),
                "kind": if namespace.is_empty() { cluster_kind } else { kind },
                "metadata": metadata,
                "summary": summary,
                "results": results,
            });
            if flavor == Flavor::OpenReports {
                item["source"] = json!(SOURCE);
            }
            item
        })
        .collect();
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

fn finding_result(
    f: &Finding,
    identity: &HashMap<(&str, &str, &str), (&str, Option<&str>)>,
    options: &ReportOptions<'_>,
) -> Value {
    let outcome = if options.failure.is_some_and(|t| f.severity >= t) {
        "fail"
    } else {
        "warn"
    };
    let mut resource = json!({"kind": f.object.kind, "name": f.object.name});
    if !f.object.namespace.is_empty() {
        resource["namespace"] = json!(f.object.namespace);
    }
    if let Some((api_version, uid)) = identity.get(&(
        f.object.kind.as_str(),
        f.object.namespace.as_str(),
        f.object.name.as_str(),
    )) {
        resource["apiVersion"] = json!(api_version);
        if let Some(uid) = uid {
            resource["uid"] = json!(uid);
        }
    }
    let mut properties = json!({
        "path": f.path,
        "fix": f.fix,
        "documentation": help_uri(f.code),
    });
    if let Some(l) = &f.location {
        properties["location"] = json!(format!("{}:{}:{}", l.file, l.line, l.column));
    }
    let mut result = json!({
        "source": SOURCE,
        "policy": f.code,
        "rule": f.name,
        "category": CATEGORY,
        "result": outcome,
        "severity": severity(f.severity),
        "scored": true,
        "message": format!("{}. {}", f.text(), f.fix),
        "resources": [resource],
        "properties": properties,
    });
    timestamp(&mut result, options);
    result
}

fn timestamp(result: &mut Value, options: &ReportOptions<'_>) {
    if let Some(seconds) = options.timestamp {
        result["timestamp"] = json!({"seconds": seconds, "nanos": 0});
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};
    use crate::{Finding, ObjectRef};

    fn finding(severity: Severity) -> Finding {
        Finding {
            code: "MR0002",
            name: "reserved-sidecar-port",
            severity,
            message: "m".into(),
            fix: "F.".into(),
            object: ObjectRef {
                kind: "Deployment".into(),
                namespace: "shop".into(),
                name: "web".into(),
            },
            path: "/spec".into(),
            location: None,
            pods: None,
        }
    }

    #[test]
    fn one_report_per_namespace_and_one_for_the_cluster() {
        let loaded = load_str(
            "a.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, uid: u1}\n\
             ---\napiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: data}\n",
            &LoadOptions::default(),
        );
        let report = Report {
            findings: vec![
                finding(Severity::Error),
                finding(Severity::Warning),
                finding(Severity::Info),
            ],
            ..Report::default()
        };
        let options = ReportOptions {
            threshold: Severity::Warning,
            failure: Some(Severity::Error),
            objects: &loaded.objects,
            timestamp: None,
        };
        let list = list(&report, &options, Flavor::PolicyReport);
        let items = list["items"].as_array().unwrap();
        let names: Vec<(&str, &str)> = items
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap(),
                    i["metadata"]["namespace"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("ClusterPolicyReport", ""),
                ("PolicyReport", "data"),
                ("PolicyReport", "shop")
            ]
        );
        assert_eq!(items[1]["results"], json!([]));
        let shop = &items[2];
        assert_eq!(shop["summary"]["fail"], 1);
        assert_eq!(
            shop["summary"]["warn"], 1,
            "the info is below the threshold"
        );
        let results = shop["results"].as_array().unwrap();
        assert_eq!(results[0]["severity"], "high");
        assert_eq!(results[1]["severity"], "medium");
        assert_eq!(results[0]["resources"][0]["uid"], "u1");
        assert_eq!(results[0]["resources"][0]["apiVersion"], "apps/v1");
        assert!(results[0].get("timestamp").is_none());
        let open = super::list(&report, &options, Flavor::OpenReports);
        assert_eq!(open["items"][2]["kind"], "Report");
        assert_eq!(open["items"][0]["kind"], "ClusterReport");
        assert_eq!(open["items"][2]["source"], "meshready");
    }
}
