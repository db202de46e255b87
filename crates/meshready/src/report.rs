//! Writes a report in the chosen format (and the text summary on stderr), applies a baseline,
//! and picks the exit code; shared by `check` and `cluster`.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;

use anyhow::{Context, Result};
use meshready_core::output::baseline::{Applied, Baseline};
use meshready_core::output::policyreport::ReportOptions;
use meshready_core::output::sarif::SarifOptions;
use meshready_core::output::{
    concise, github, json, junit, openreports, policyreport, rule_counts, sarif, text, visible,
};
use meshready_core::{Loaded, Report, Severity};

use crate::args::{OutputFormat, Threshold};
use crate::output_args::OutputArgs;

/// How many rules the closing lines of the text summary name.
const TOP_RULES: usize = 3;

/// Prints a report in the chosen format and returns the exit code.
pub fn emit(
    report: &Report,
    loaded: &Loaded,
    output: OutputFormat,
    output_threshold: Threshold,
    failure_threshold: Threshold,
    out: &OutputArgs,
) -> Result<u8> {
    if let Some(path) = &out.write_baseline {
        return write_baseline(report, path);
    }
    let (report, applied) = match &out.baseline {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the baseline {}", path.display()))?;
            let baseline = Baseline::parse(&text)
                .with_context(|| format!("cannot use the baseline {}", path.display()))?;
            let mut report = report.clone();
            let applied = baseline.apply(&mut report);
            (Cow::Owned(report), Some(applied))
        }
        None => (Cow::Borrowed(report), None),
    };
    let report = report.as_ref();
    let threshold = if out.quiet {
        Severity::Error
    } else {
        output_threshold.severity().unwrap_or(Severity::Error)
    };
    let style = out.stdout_style();
    let rendered = if out.statistics {
        let counts = rule_counts(visible(&report.findings, threshold));
        if output == OutputFormat::Json {
            let mut json = serde_json::to_string_pretty(&counts)?;
            json.push('\n');
            json
        } else {
            text::statistics(&counts, style)
        }
    } else {
        render(
            report,
            loaded,
            output,
            threshold,
            failure_threshold,
            out,
            applied.as_ref(),
        )?
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    if !out.quiet {
        let mut notes = String::new();
        if let (Some(applied), Some(path)) = (&applied, &out.baseline) {
            baseline_notes(&mut notes, applied, &path.display().to_string());
        }
        if matches!(output, OutputFormat::Text | OutputFormat::Concise) {
            let err_style = out.stderr_style();
            let _ = writeln!(
                notes,
                "{}",
                text::summary_line(&report.summary, report.errors.len())
            );
            if !out.statistics {
                notes.push_str(&text::top_rules(report, threshold, TOP_RULES, err_style));
            }
        }
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(notes.as_bytes())?;
    }
    Ok(report.exit_status(failure_threshold.severity()) as u8)
}

fn render(
    report: &Report,
    loaded: &Loaded,
    output: OutputFormat,
    threshold: Severity,
    failure_threshold: Threshold,
    out: &OutputArgs,
    applied: Option<&Applied>,
) -> Result<String> {
    let style = out.stdout_style();
    let policy = || ReportOptions {
        threshold,
        failure: failure_threshold.severity(),
        objects: &loaded.objects,
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_secs()).ok()),
    };
    Ok(match output {
        OutputFormat::Text => text::render_styled(report, &loaded.files, threshold, style),
        OutputFormat::Concise => concise::render(report, threshold, style),
        OutputFormat::Json => json::render(report, threshold),
        OutputFormat::Sarif => {
            let (cwd, root) = out.roots()?;
            let options = SarifOptions {
                cwd: Some(&cwd),
                project_root: Some(&root),
                baseline: applied,
            };
            sarif::render_with(report, threshold, env!("CARGO_PKG_VERSION"), &options)
        }
        OutputFormat::Github => github::render(report, threshold),
        OutputFormat::Junit => junit::render(report, threshold),
        OutputFormat::Policyreport => policyreport::render(report, &policy()),
        OutputFormat::Openreports => openreports::render(report, &policy()),
    })
}

/// What the baseline hid, and its stale entries (at most ten named).
fn baseline_notes(notes: &mut String, applied: &Applied, path: &str) {
    let _ = writeln!(
        notes,
        "meshready: note: the baseline {path} hid {} known finding{}",
        applied.known.len(),
        if applied.known.len() == 1 { "" } else { "s" }
    );
    if applied.stale.is_empty() {
        return;
    }
    let _ = writeln!(
        notes,
        "meshready: note: {} baseline entr{} no longer match a finding (fixed); re-create the \
         baseline with `meshready baseline create {path} ...` to drop them:",
        applied.stale.len(),
        if applied.stale.len() == 1 { "y" } else { "ies" }
    );
    for entry in applied.stale.iter().take(10) {
        let _ = writeln!(notes, "  {} {} {}", entry.code, entry.object, entry.path);
    }
    if applied.stale.len() > 10 {
        let _ = writeln!(notes, "  ... and {} more", applied.stale.len() - 10);
    }
}

/// `meshready baseline create`: every finding (all severities), whatever the thresholds.
fn write_baseline(report: &Report, path: &std::path::Path) -> Result<u8> {
    let baseline = Baseline::from_findings(&report.findings);
    std::fs::write(path, baseline.to_json())
        .with_context(|| format!("cannot write {}", path.display()))?;
    let mut stderr = std::io::stderr().lock();
    writeln!(
        stderr,
        "meshready: wrote {} finding{} to {}",
        baseline.findings.len(),
        if baseline.findings.len() == 1 {
            ""
        } else {
            "s"
        },
        path.display()
    )?;
    if report.errors.is_empty() {
        Ok(0)
    } else {
        writeln!(
            stderr,
            "meshready: error: {} input{} could not be read; the baseline does not cover them",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" }
        )?;
        Ok(2)
    }
}
