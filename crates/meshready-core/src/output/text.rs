//! The human format, in the style of rustc and ruff: severity and code, message, location,
//! the source line with the field underlined, the object and a one-line fix.

use std::fmt::Write;

use super::visible;
use crate::finding::Severity;
use crate::source::SourceFile;
use crate::{Report, Summary};

/// Renders findings and input errors.
#[must_use]
pub fn render(report: &Report, files: &[SourceFile], threshold: Severity) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let _ = writeln!(out, "error: {}", e.message);
        snippet(&mut out, files, &e.file, e.line, e.column, None);
        out.push('\n');
    }
    for f in visible(&report.findings, threshold) {
        let _ = writeln!(out, "{}[{}]: {}", f.severity, f.code, f.message);
        match &f.location {
            Some(l) => snippet(
                &mut out,
                files,
                &l.file,
                l.line,
                l.column,
                l.chart_file.as_deref(),
            ),
            None => out.push_str("  --> (no source location)\n"),
        }
        let pad = " ".repeat(f.location.as_ref().map_or(1, |l| l.line.to_string().len()) + 1);
        let _ = writeln!(out, "{pad}= object: {}", f.object);
        let _ = writeln!(out, "{pad}= fix: {}", f.fix);
        let _ = writeln!(
            out,
            "{pad}= rule: {} (meshready explain {})",
            f.name, f.code
        );
        out.push('\n');
    }
    out
}

fn snippet(
    out: &mut String,
    files: &[SourceFile],
    file: &str,
    line: u32,
    column: u32,
    chart: Option<&str>,
) {
    let shown = if file == "-" { "<stdin>" } else { file };
    let _ = write!(out, "  --> {shown}:{line}:{column}");
    if let Some(chart) = chart {
        let _ = write!(out, " (rendered from {chart})");
    }
    out.push('\n');
    let Some(text) = files
        .iter()
        .find(|f| f.path == file)
        .and_then(|f| f.line(line))
    else {
        return;
    };
    let gutter = line.to_string().len();
    let col = usize::try_from(column.max(1) - 1).unwrap_or(0);
    let tail: String = text.chars().skip(col).collect();
    let width = tail
        .chars()
        .take_while(|c| !matches!(c, ':' | ',' | '}' | ']' | '#') && !c.is_whitespace())
        .count()
        .max(1);
    let pad: String = text
        .chars()
        .take(col)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(out, "{:gutter$} |", "");
    let _ = writeln!(out, "{line:>gutter$} | {text}");
    let _ = writeln!(out, "{:gutter$} | {pad}{}", "", "^".repeat(width));
}

/// The closing summary line.
#[must_use]
pub fn summary_line(summary: &Summary, errors: usize) -> String {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "checked {}, {}, {} ({} analysed, {} skipped); {} ({} in the mesh): {}, {}, {}",
        plural(summary.files, "file", "files"),
        plural(summary.documents, "document", "documents"),
        plural(summary.objects, "object", "objects"),
        summary.analysed,
        summary.skipped,
        plural(summary.workloads, "workload", "workloads"),
        summary.in_mesh,
        plural(summary.findings.error, "error", "errors"),
        plural(summary.findings.warning, "warning", "warnings"),
        plural(summary.findings.info, "info", "infos"),
    );
    if errors > 0 {
        let _ = write!(
            line,
            "; {} could not be read",
            plural(errors, "input", "inputs")
        );
    }
    if summary.suppressed > 0 {
        let _ = write!(line, "; {} suppressed", summary.suppressed);
    }
    if !summary.istio_version.is_empty() {
        let _ = write!(
            line,
            "; Istio {} assumed ({})",
            summary.istio_version, summary.istio_version_source
        );
    }
    line
}
