//! Findings: what a rule reports, with the object and the exact place in the input.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely to cause trouble in the mesh.
    Warning,
    /// Will break in the mesh.
    Error,
}

impl Severity {
    /// Lowercase name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }

    /// Parses `info`, `warning` (or `warn`) and `error`, case-insensitively.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Self::Info),
            "warning" | "warn" => Some(Self::Warning),
            "error" => Some(Self::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `kind`.
    pub kind: String,
    /// Namespace (empty for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// A place in the input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The path as given on the command line (`-` for stdin).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// The Helm chart file that produced the document (from its `# Source:` comment).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub chart_file: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule code (`IST0144`, `MR0002`), from the rule registry.
    pub code: &'static str,
    /// Rule name (`application-uid-1337`), from the rule registry.
    pub name: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What is wrong (a lowercase fragment).
    pub message: String,
    /// How to fix it (a sentence).
    pub fix: String,
    /// The object.
    pub object: ObjectRef,
    /// The most specific field, as a JSON pointer into the object.
    pub path: String,
    /// Where that field is in the input (`null` for objects that do not come from a file).
    pub location: Option<Location>,
    /// On a live cluster, how many running pods the finding is about (the workload's, or those
    /// missing the proxy for IST0103); absent for manifests. Outputs show it after the message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods: Option<usize>,
}

/// The key findings are sorted by: location, code, object, path, message.
pub type SortKey<'a> = (
    Option<(&'a str, u32, u32)>,
    &'a str,
    &'a ObjectRef,
    &'a str,
    &'a str,
);

impl Finding {
    /// The message as shown: with the pod count (`… (3 pods)`) when there is one.
    #[must_use]
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self.pods {
            None => std::borrow::Cow::Borrowed(&self.message),
            Some(1) => std::borrow::Cow::Owned(format!("{} (1 pod)", self.message)),
            Some(n) => std::borrow::Cow::Owned(format!("{} ({n} pods)", self.message)),
        }
    }

    /// The order findings are reported in: by file, line, column, then code.
    #[must_use]
    pub fn sort_key(&self) -> SortKey<'_> {
        (
            self.location
                .as_ref()
                .map(|l| (l.file.as_str(), l.line, l.column)),
            self.code,
            &self.object,
            self.path.as_str(),
            self.message.as_str(),
        )
    }
}
