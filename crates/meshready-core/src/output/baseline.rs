//! Baselines: the findings a repository already has, so that CI fails only on new ones.
//!
//! `meshready baseline create FILE PATH...` writes every finding's fingerprint; `meshready
//! check --baseline FILE` hides (and counts) the findings the file knows and reports the entries
//! that no longer match anything (fixed findings: stale entries to drop by re-creating the file).
//!
//! # File format (stable, JSON)
//! ```json
//! {"format": "meshready-baseline/v1",
//!  "findings": [{"fingerprint": "9f0c…", "code": "MR0002",
//!                "object": {"kind": "Deployment", "namespace": "shop", "name": "web"},
//!                "path": "/spec/template/spec/containers/0/ports/0/containerPort"}]}
//! ```
//! An entry is a finding's identity: its rule code, its object and the JSON pointer of the
//! field — never a file name or a line, so editing, moving or reformatting manifests does not
//! make old findings new. `fingerprint` is SARIF's `partialFingerprints["meshready/v1"]` of the
//! same three (for tools that key on it); matching uses the three fields. The same identity
//! listed n times matches at most n findings.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::fingerprint;
use crate::finding::{Finding, ObjectRef, Severity};
use crate::{Report, SeverityCounts};

/// The `format` of the files this version reads and writes.
pub const FORMAT: &str = "meshready-baseline/v1";

/// A baseline file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// Not JSON of the baseline's shape.
    #[error("not a meshready baseline: {0}")]
    Parse(#[from] serde_json::Error),
    /// A `format` this version does not know.
    #[error("unknown baseline format `{0}` (this meshready reads {FORMAT})")]
    Format(String),
}

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    /// The rule code.
    pub code: String,
    /// The object.
    pub object: ObjectRef,
    /// JSON pointer of the field in the object.
    pub path: String,
    /// SARIF's partial fingerprint of the three fields above (informative).
    #[serde(default)]
    pub fingerprint: String,
}

impl Entry {
    /// The entry of a finding.
    #[must_use]
    pub fn of(f: &Finding) -> Self {
        Self {
            code: f.code.to_string(),
            object: f.object.clone(),
            path: f.path.clone(),
            fingerprint: fingerprint(f),
        }
    }

    fn key(&self) -> Key {
        (
            self.code.to_string(),
            self.object.clone(),
            self.path.clone(),
        )
    }
}

/// What an entry matches: code, object, field.
type Key = (String, ObjectRef, String);

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always [`FORMAT`].
    pub format: String,
    /// Known findings, sorted.
    pub findings: Vec<Entry>,
}

/// What applying a baseline did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The findings the baseline knows, removed from the report.
    pub known: Vec<Finding>,
    /// Entries that matched no finding (fixed since the baseline was made).
    pub stale: Vec<Entry>,
}

impl Baseline {
    /// The baseline of a set of findings (every severity).
    #[must_use]
    pub fn from_findings(findings: &[Finding]) -> Self {
        let mut entries: Vec<Entry> = findings.iter().map(Entry::of).collect();
        entries.sort();
        Self {
            format: FORMAT.into(),
            findings: entries,
        }
    }

    /// Parses a baseline file.
    ///
    /// # Errors
    /// When the text is not a baseline of a known format.
    pub fn parse(text: &str) -> Result<Self, BaselineError> {
        let baseline: Self = serde_json::from_str(text)?;
        if baseline.format != FORMAT {
            return Err(BaselineError::Format(baseline.format));
        }
        Ok(baseline)
    }

    /// The file's text: pretty JSON with a trailing newline (one entry per finding, so that
    /// diffs of the file in review are readable).
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        out.push('\n');
        out
    }

    /// Removes the findings the baseline knows from the report (and from its severity counts)
    /// and returns them with the stale entries.
    pub fn apply(&self, report: &mut Report) -> Applied {
        let mut remaining: HashMap<Key, usize> = HashMap::new();
        for entry in &self.findings {
            *remaining.entry(entry.key()).or_default() += 1;
        }
        let mut known = Vec::new();
        let mut new = Vec::new();
        for f in std::mem::take(&mut report.findings) {
            match remaining.get_mut(&(f.code.to_string(), f.object.clone(), f.path.clone())) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    known.push(f);
                }
                _ => new.push(f),
            }
        }
        let mut stale = Vec::new();
        for entry in &self.findings {
            if let Some(n) = remaining.get_mut(&entry.key())
                && *n > 0
            {
                *n -= 1;
                stale.push(entry.clone());
            }
        }
        let mut counts = SeverityCounts::default();
        for f in &new {
            match f.severity {
                Severity::Error => counts.error += 1,
                Severity::Warning => counts.warning += 1,
                Severity::Info => counts.info += 1,
            }
        }
        report.findings = new;
        report.summary.findings = counts;
        Applied { known, stale }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Location;

    fn finding(name: &str, path: &str, line: u32) -> Finding {
        Finding {
            code: "MR0002",
            name: "reserved-sidecar-port",
            severity: Severity::Error,
            message: "m".into(),
            fix: "F.".into(),
            object: ObjectRef {
                kind: "Deployment".into(),
                namespace: "shop".into(),
                name: name.into(),
            },
            path: path.into(),
            location: Some(Location {
                file: "a.yaml".into(),
                line,
                column: 1,
                chart_file: None,
            }),
            pods: None,
        }
    }

    #[test]
    fn known_findings_are_hidden_whatever_their_line() {
        let baseline = Baseline::from_findings(&[finding("web", "/a", 3), finding("db", "/b", 9)]);
        let parsed = Baseline::parse(&baseline.to_json()).unwrap();
        assert_eq!(parsed, baseline);
        let mut report = Report {
            findings: vec![finding("web", "/a", 30), finding("api", "/a", 40)],
            ..Report::default()
        };
        let applied = parsed.apply(&mut report);
        assert_eq!(applied.known.len(), 1);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].object.name, "api");
        assert_eq!(report.summary.findings.error, 1);
        assert_eq!(applied.stale.len(), 1);
        assert_eq!(applied.stale[0].object.name, "db");
    }

    #[test]
    fn an_entry_matches_as_many_findings_as_it_is_listed() {
        let baseline = Baseline::from_findings(&[finding("web", "/a", 3)]);
        let mut report = Report {
            findings: vec![finding("web", "/a", 3), finding("web", "/a", 4)],
            ..Report::default()
        };
        let applied = baseline.apply(&mut report);
        assert_eq!((applied.known.len(), report.findings.len()), (1, 1));
        assert!(applied.stale.is_empty());
    }

    #[test]
    fn unknown_formats_are_refused() {
        assert!(matches!(
            Baseline::parse(r#"{"format": "other/v9", "findings": []}"#),
            Err(BaselineError::Format(_))
        ));
        assert!(matches!(
            Baseline::parse("[1, 2]"),
            Err(BaselineError::Parse(_))
        ));
    }
}
