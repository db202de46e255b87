//! The JSON format: `{"findings": [...], "errors": [...], "summary": {...}}`.
//!
//! # Wire format (stable)
//! - `findings[]`: `code`, `name`, `severity` (`info`|`warning`|`error`), `message`, `fix`,
//!   `object` {`kind`, `namespace`, `name`}, `path` (JSON pointer of the field in the object),
//!   `location` {`file`, `line`, `column`, `chart_file`?} or `null`, and on a live cluster
//!   `pods` (how many running pods the finding is about; the other formats append `(N pods)`
//!   to the message). Only findings at or above `--output-threshold` are listed.
//! - `errors[]`: `file`, `line`, `column`, `message` for every input that could not be analysed.
//! - `summary`: `files`, `skipped_files`, `skipped_files_by_reason` (`helm-chart`,
//!   `helm-values`, `helm-template`, `kustomization`, `kustomize-input`, `ci-config`,
//!   `tool-config`, `not-kubernetes`), `documents`, `lists`, `objects`, `analysed`, `skipped`,
//!   `skipped_kinds`, `workloads`, `in_mesh`, `invalid`, `findings` {`error`, `warning`,
//!   `info`} (all findings, whatever the output threshold), `suppressed`, `notes` (when
//!   there are any), `config` (the config file used, or `null`), `istio_version` (`1.N`) and
//!   `istio_version_source` (why: `--istio-version`, the istiod image or injector ConfigMap in
//!   the input, or the newest release), `kubernetes_version`, `native_sidecars`.
//!
//! With `--baseline`, the findings the baseline knows are left out of `findings` and of
//!   `summary.findings`.

use serde::Serialize;

use super::visible;
use crate::finding::{Finding, Severity};
use crate::source::LoadError;
use crate::{Report, Summary};

#[derive(Serialize)]
struct Document<'a> {
    findings: Vec<&'a Finding>,
    errors: &'a [LoadError],
    summary: &'a Summary,
}

/// Renders the report as pretty-printed JSON, with a trailing newline.
#[must_use]
pub fn render(report: &Report, threshold: Severity) -> String {
    let doc = Document {
        findings: visible(&report.findings, threshold).collect(),
        errors: &report.errors,
        summary: &report.summary,
    };
    let mut out =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
