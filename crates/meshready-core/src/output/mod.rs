//! Output formats. Each renders a [`Report`](crate::Report) to a string; the CLI writes it.

pub mod baseline;
pub mod concise;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod openreports;
pub mod policyreport;
pub mod sarif;
pub mod text;

use std::collections::HashMap;

use serde::Serialize;

use crate::finding::{Finding, Severity};

/// Findings at or above the output threshold.
pub fn visible(findings: &[Finding], threshold: Severity) -> impl Iterator<Item = &Finding> {
    findings.iter().filter(move |f| f.severity >= threshold)
}

/// How a human format is drawn: plain, or with ANSI colours for a terminal. The CLI decides
/// (`--color`, `NO_COLOR`, whether the stream is a terminal); the core only paints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// Whether to write ANSI colour sequences.
    pub color: bool,
}

impl Style {
    /// No colour.
    pub const PLAIN: Self = Self { color: false };
    /// ANSI colours.
    pub const COLOR: Self = Self { color: true };

    fn paint(self, sgr: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// `text` in the colour of a severity (bold red, bold yellow, bold cyan).
    #[must_use]
    pub fn severity(self, severity: Severity, text: &str) -> String {
        let sgr = match severity {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.paint(sgr, text)
    }

    /// Bold text (messages, codes).
    #[must_use]
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// The gutter and arrows of a snippet (bold blue, as rustc draws them).
    #[must_use]
    pub fn gutter(self, text: &str) -> String {
        self.paint("1;34", text)
    }

    /// Secondary text (locations in one-line formats).
    #[must_use]
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// How often one rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleCount {
    /// Rule code.
    pub code: String,
    /// Rule name.
    pub name: String,
    /// The highest severity among its findings.
    pub severity: Severity,
    /// Number of findings.
    pub count: usize,
}

/// Findings per rule, most frequent first (ties by code), over the given findings.
#[must_use]
pub fn rule_counts<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Vec<RuleCount> {
    let mut by_code: HashMap<&str, RuleCount> = HashMap::new();
    for f in findings {
        let entry = by_code.entry(f.code).or_insert_with(|| RuleCount {
            code: f.code.to_string(),
            name: f.name.to_string(),
            severity: f.severity,
            count: 0,
        });
        entry.count += 1;
        entry.severity = entry.severity.max(f.severity);
    }
    let mut counts: Vec<RuleCount> = by_code.into_values().collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.code.cmp(&b.code)));
    counts
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
