//! Output formats. Each renders a [`Report`](crate::Report) to a string; the CLI writes it.

pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod text;

use crate::finding::{Finding, Severity};

/// Findings at or above the output threshold.
pub fn visible(findings: &[Finding], threshold: Severity) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(move |f| f.severity >= threshold)
}
