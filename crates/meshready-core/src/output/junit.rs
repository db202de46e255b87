//! The JUnit XML format, for CI systems that show test reports (GitLab, Jenkins, Azure).
//!
//! # Shape: one testsuite per rule
//! - `<testsuites name="meshready">` holds one `<testsuite>` per rule of
//!   [`crate::rules::RULES`], named `CODE name`, in registry order, so every rule shows up
//!   in the CI's test list whether or not it fired.
//! - In a rule's suite, one `<testcase>` per (object, rule) pair that produced findings at or
//!   above the output threshold: named after the object (`Kind ns/name`), with classname
//!   `CODE name`, and one `<failure>` whose `message` is the first finding's message (and how
//!   many more there are), `type` its severity, and whose text lists every finding of the pair
//!   as `file:line:column: severity: message. fix`.
//! - A rule that reported nothing has one passing testcase, `no findings`: meshready does not
//!   track which objects each rule looked at, so passing (object, rule) pairs are not listed.
//! - Inputs that could not be read are `<error>` testcases of a final `meshready` suite, named
//!   `file:line:column`.
//!
//! The XML is written (and escaped) by the `quick-junit` crate; no timestamps or durations, so
//! the output is reproducible.

use std::collections::BTreeMap;
use std::fmt::Write;

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::visible;
use crate::Report;
use crate::finding::{Finding, ObjectRef, Severity};
use crate::rules::RULES;

fn line(f: &Finding) -> String {
    let place = f.location.as_ref().map_or_else(
        || "(no source location)".to_string(),
        |l| format!("{}:{}:{}", l.file, l.line, l.column),
    );
    format!("{place}: {}: {}. {}", f.severity, f.text(), f.fix)
}

/// Renders the report as JUnit XML, with a trailing newline.
#[must_use]
pub fn render(report: &Report, threshold: Severity) -> String {
    let mut by_rule: BTreeMap<&str, Vec<(&ObjectRef, Vec<&Finding>)>> = BTreeMap::new();
    for f in visible(&report.findings, threshold) {
        let pairs = by_rule.entry(f.code).or_default();
        match pairs.iter_mut().find(|(o, _)| **o == f.object) {
            Some((_, findings)) => findings.push(f),
            None => pairs.push((&f.object, vec![f])),
        }
    }
    let mut junit = JunitReport::new("meshready");
    for rule in RULES {
        let meta = rule.meta();
        let suite_name = format!("{} {}", meta.code, meta.name);
        let mut suite = TestSuite::new(suite_name.clone());
        match by_rule.get(meta.code) {
            Some(pairs) => {
                for (object, findings) in pairs {
                    let first = findings[0];
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    let message = if findings.len() == 1 {
                        first.text().into_owned()
                    } else {
                        format!("{} (and {} more)", first.text(), findings.len() - 1)
                    };
                    let mut text = String::new();
                    for f in findings {
                        let _ = writeln!(text, "{}", line(f));
                    }
                    status
                        .set_message(message)
                        .set_type(first.severity.as_str())
                        .set_description(text);
                    let mut case = TestCase::new(object.to_string(), status);
                    case.set_classname(suite_name.clone());
                    suite.add_test_case(case);
                }
            }
            None => {
                let mut case = TestCase::new("no findings", TestCaseStatus::success());
                case.set_classname(suite_name.clone());
                suite.add_test_case(case);
            }
        }
        junit.add_test_suite(suite);
    }
    if !report.errors.is_empty() {
        let mut suite = TestSuite::new("meshready");
        for e in &report.errors {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(e.message.clone())
                .set_type("input-error")
                .set_description(format!("{}:{}:{}: {}", e.file, e.line, e.column, e.message));
            let mut case = TestCase::new(format!("{}:{}:{}", e.file, e.line, e.column), status);
            case.set_classname("meshready");
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    let mut out = junit
        .to_string()
        .unwrap_or_else(|e| format!("<!-- cannot write JUnit XML: {e} -->"));
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}
