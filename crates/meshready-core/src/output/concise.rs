//! The concise format: one line per finding, as rustc's and ruff's short formats print them,
//! for `grep`, editors' quickfix lists and large trees.
//!
//! ```text
//! deploy/web.yaml:12:9: error[MR0002] container `app` uses port 15090, which the sidecar binds
//! deploy/web.yaml:3:1: error: a mapping cannot be a mapping key
//! Deployment shop/web: warning[IST0103] 2 pods run without the sidecar
//! ```
//!
//! Inputs that could not be read come first (`error:` without a code), then the findings at or
//! above the output threshold. Stdin is `<stdin>`; a finding without a file location (live
//! cluster objects) is placed at its object (`Kind namespace/name`).

use std::fmt::Write;

use super::{Style, visible};
use crate::Report;
use crate::finding::Severity;

fn place(file: &str, line: u32, column: u32) -> String {
    let file = if file == "-" { "<stdin>" } else { file };
    format!("{file}:{line}:{column}")
}

/// Renders input errors and findings, one line each.
#[must_use]
pub fn render(report: &Report, threshold: Severity, style: Style) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let _ = writeln!(
            out,
            "{}: {}: {}",
            style.bold(&place(&e.file, e.line, e.column)),
            style.severity(Severity::Error, "error"),
            e.message
        );
    }
    for f in visible(&report.findings, threshold) {
        let at = f.location.as_ref().map_or_else(
            || f.object.to_string(),
            |l| place(&l.file, l.line, l.column),
        );
        let _ = writeln!(
            out,
            "{}: {} {}",
            style.bold(&at),
            style.severity(f.severity, &format!("{}[{}]", f.severity, f.code)),
            f.text()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, LoadError, Location, ObjectRef};

    #[test]
    fn one_line_each() {
        let finding = |location| Finding {
            code: "MR0002",
            name: "reserved-sidecar-port",
            severity: Severity::Error,
            message: "container `app` uses port 15090".into(),
            fix: "Move it.".into(),
            object: ObjectRef {
                kind: "Deployment".into(),
                namespace: "shop".into(),
                name: "web".into(),
            },
            path: "/spec".into(),
            location,
            pods: None,
        };
        let report = Report {
            findings: vec![
                finding(Some(Location {
                    file: "-".into(),
                    line: 12,
                    column: 9,
                    chart_file: None,
                })),
                finding(None),
            ],
            errors: vec![LoadError {
                file: "a.yaml".into(),
                line: 3,
                column: 1,
                message: "bad".into(),
            }],
            summary: crate::Summary::default(),
        };
        assert_eq!(
            render(&report, Severity::Info, Style::PLAIN),
            "a.yaml:3:1: error: bad\n\
             <stdin>:12:9: error[MR0002] container `app` uses port 15090\n\
             Deployment shop/web: error[MR0002] container `app` uses port 15090\n"
        );
        assert_eq!(
            render(&report, Severity::Info, Style::COLOR)
                .lines()
                .count(),
            3
        );
    }
}
