//! The human format, in the style of rustc and ruff: severity and code, message, location,
//! the source line with the field underlined, the object and a one-line fix. Also the closing
//! summary, the rules that fired most, and the per-rule table of `--statistics`.

use std::fmt::Write;

use super::{RuleCount, Style, rule_counts, visible};
use crate::finding::Severity;
use crate::source::{LineIndex, SourceFile};
use crate::{Report, Summary};

/// Renders findings and input errors, without colour.
#[must_use]
pub fn render(report: &Report, files: &[SourceFile], threshold: Severity) -> String {
    render_styled(report, files, threshold, Style::PLAIN)
}

/// Renders findings and input errors in a [`Style`].
#[must_use]
pub fn render_styled(
    report: &Report,
    files: &[SourceFile],
    threshold: Severity,
    style: Style,
) -> String {
    let mut out = String::new();
    let mut lines = Lines::new(files);
    for e in &report.errors {
        let _ = writeln!(
            out,
            "{}: {}",
            style.severity(Severity::Error, "error"),
            style.bold(&e.message)
        );
        snippet(&mut out, &mut lines, &e.file, e.line, e.column, None, style);
        out.push('\n');
    }
    for f in visible(&report.findings, threshold) {
        let _ = writeln!(
            out,
            "{}: {}",
            style.severity(f.severity, &format!("{}[{}]", f.severity, f.code)),
            style.bold(&f.text())
        );
        match &f.location {
            Some(l) => snippet(
                &mut out,
                &mut lines,
                &l.file,
                l.line,
                l.column,
                l.chart_file.as_deref(),
                style,
            ),
            None => {
                let _ = writeln!(out, "  {} (no source location)", style.gutter("-->"));
            }
        }
        let pad = " ".repeat(f.location.as_ref().map_or(1, |l| l.line.to_string().len()) + 1);
        let eq = style.gutter("=");
        let _ = writeln!(out, "{pad}{eq} object: {}", f.object);
        let _ = writeln!(out, "{pad}{eq} fix: {}", f.fix);
        let _ = writeln!(
            out,
            "{pad}{eq} rule: {} (meshready explain {})",
            f.name, f.code
        );
        out.push('\n');
    }
    out
}

/// The input files' lines by path, each file indexed when first quoted (one scan of a big file,
/// not one per finding).
struct Lines<'f> {
    files: &'f [SourceFile],
    /// The first file of each path.
    by_path: rustc_hash::FxHashMap<&'f str, usize>,
    index: Vec<Option<LineIndex<'f>>>,
}

impl<'f> Lines<'f> {
    fn new(files: &'f [SourceFile]) -> Self {
        let mut by_path = rustc_hash::FxHashMap::default();
        for (i, f) in files.iter().enumerate() {
            by_path.entry(f.path.as_str()).or_insert(i);
        }
        Self {
            files,
            by_path,
            index: vec![None; files.len()],
        }
    }

    fn line(&mut self, path: &str, line: u32) -> Option<&'f str> {
        let i = *self.by_path.get(path)?;
        let text = &self.files[i].text;
        self.index[i]
            .get_or_insert_with(|| LineIndex::new(text))
            .line(line)
    }
}

fn snippet(
    out: &mut String,
    lines: &mut Lines<'_>,
    file: &str,
    line: u32,
    column: u32,
    chart: Option<&str>,
    style: Style,
) {
    let shown = if file == "-" { "<stdin>" } else { file };
    let _ = write!(out, "  {} {shown}:{line}:{column}", style.gutter("-->"));
    if let Some(chart) = chart {
        let _ = write!(out, " (rendered from {chart})");
    }
    out.push('\n');
    let Some(text) = lines.line(file, line) else {
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
    let bar = style.gutter("|");
    let number = style.gutter(&format!("{line:>gutter$}"));
    let _ = writeln!(out, "{:gutter$} {bar}", "");
    let _ = writeln!(out, "{number} {bar} {text}");
    let _ = writeln!(
        out,
        "{:gutter$} {bar} {pad}{}",
        "",
        style.gutter(&"^".repeat(width))
    );
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
    if let Some(config) = &summary.config {
        let _ = write!(line, "; config {config}");
    }
    if summary.skipped_files > 0 {
        let reasons: Vec<String> = summary
            .skipped_files_by_reason
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        let _ = write!(
            line,
            "; {} skipped as not Kubernetes manifests ({})",
            plural(summary.skipped_files, "file", "files"),
            reasons.join(", ")
        );
    }
    for note in &summary.notes {
        let _ = write!(line, "\nnote: {note}");
    }
    line
}

/// The rules that fired most (at most `n`, over the findings at or above the output
/// threshold), then how to explain and how to silence the first: the closing lines after the
/// summary. Empty when nothing is shown.
#[must_use]
pub fn top_rules(report: &Report, threshold: Severity, n: usize, style: Style) -> String {
    let counts = rule_counts(visible(&report.findings, threshold));
    if counts.is_empty() || n == 0 {
        return String::new();
    }
    let shown: Vec<&RuleCount> = counts.iter().take(n).collect();
    let width = shown
        .iter()
        .map(|c| c.count.to_string().len())
        .max()
        .unwrap_or(1);
    let code_width = shown.iter().map(|c| c.code.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.bold(if counts.len() > shown.len() {
            "most frequent rules:"
        } else {
            "rules that fired:"
        })
    );
    for c in &shown {
        let pad = " ".repeat(code_width - c.code.len());
        let _ = writeln!(
            out,
            "  {:>width$}  {}{pad}  {}",
            c.count,
            style.severity(c.severity, &c.code),
            c.name,
        );
    }
    let first = &shown[0].code;
    let _ = writeln!(
        out,
        "  explain: meshready explain {first}; count every rule: --statistics"
    );
    let _ = writeln!(
        out,
        "  silence: `rules: {{{first}: {{severity: off}}}}` in .meshready.yaml, the annotation \
         `meshready.io/ignore: \"{first}=<reason>\"` on one object, or --output-threshold warning"
    );
    out
}

/// The `--statistics` table: one line per rule, most frequent first:
/// `count  CODE  severity  name`.
#[must_use]
pub fn statistics(counts: &[RuleCount], style: Style) -> String {
    let width = counts
        .iter()
        .map(|c| c.count.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for c in counts {
        let _ = writeln!(
            out,
            "{:>width$}\t{}\t{}\t{}",
            c.count,
            style.bold(&c.code),
            style.severity(c.severity, c.severity.as_str()),
            c.name
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, ObjectRef};

    fn finding(code: &'static str, severity: Severity) -> Finding {
        Finding {
            code,
            name: format!("{code}-name").leak(),
            severity,
            message: "m".into(),
            fix: "F.".into(),
            object: ObjectRef {
                kind: "Service".into(),
                namespace: "default".into(),
                name: "web".into(),
            },
            path: "/spec".into(),
            location: None,
            pods: None,
        }
    }

    #[test]
    fn top_rules_lists_the_most_frequent_three() {
        let mut report = Report::default();
        for (code, n) in [("A1", 1), ("B2", 4), ("C3", 2), ("D4", 3)] {
            for _ in 0..n {
                report.findings.push(finding(code, Severity::Warning));
            }
        }
        let text = top_rules(&report, Severity::Info, 3, Style::PLAIN);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "most frequent rules:");
        assert_eq!(lines[1], "  4  B2  B2-name", "{text}");
        assert!(lines[2].contains("D4") && lines[3].contains("C3"), "{text}");
        assert!(!text.contains("A1"));
        assert!(text.contains("meshready explain B2"));
        assert!(text.contains("B2: {severity: off}"));
        assert_eq!(
            top_rules(&Report::default(), Severity::Info, 3, Style::PLAIN),
            ""
        );
        // Only what is shown counts.
        report.findings.push(finding("E5", Severity::Error));
        let errors = top_rules(&report, Severity::Error, 3, Style::PLAIN);
        assert_eq!(errors.lines().nth(1), Some("  1  E5  E5-name"), "{errors}");
        assert!(errors.starts_with("rules that fired:\n"));
    }

    #[test]
    fn colour_only_when_asked() {
        let mut report = Report::default();
        report.findings.push(finding("A1", Severity::Error));
        let plain = render_styled(&report, &[], Severity::Info, Style::PLAIN);
        let color = render_styled(&report, &[], Severity::Info, Style::COLOR);
        assert!(!plain.contains('\x1b'));
        assert!(color.contains("\x1b[1;31merror[A1]\x1b[0m"), "{color}");
        assert_eq!(plain, render(&report, &[], Severity::Info));
    }

    #[test]
    fn statistics_counts_per_rule() {
        let findings = [
            finding("A1", Severity::Info),
            finding("A1", Severity::Warning),
            finding("B2", Severity::Error),
        ];
        let table = statistics(&rule_counts(&findings), Style::PLAIN);
        assert_eq!(table, "2\tA1\twarning\tA1-name\n1\tB2\terror\tB2-name\n");
    }
}
