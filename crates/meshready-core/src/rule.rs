//! The rule interface: metadata (with documentation from the rule's doc comment) and a check.

use crate::finding::{Finding, Location, ObjectRef, Severity};
use crate::model::Model;
use crate::source::{Object, SourceFile};

/// A rule's identity and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMeta {
    /// Stable code (`IST0144`, `MR0002`); never reused.
    pub code: &'static str,
    /// kebab-case name (`application-uid-1337`).
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One-line summary.
    pub summary: &'static str,
    /// The Istio versions the rule matters for.
    pub istio_versions: &'static str,
    /// How the rule's behaviour depends on `--istio-version` / `--kubernetes-version`
    /// (`None`: it does not).
    pub version_dependence: Option<&'static str>,
    /// The rule's doc comment (Markdown).
    pub docs: &'static str,
}

impl RuleMeta {
    /// The documentation with the doc-comment indentation removed.
    #[must_use]
    pub fn explanation(&self) -> String {
        self.docs
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }
}

/// What a rule sees: the model and the sources, and a way to build findings.
#[derive(Debug)]
pub struct Ctx<'m, 'a> {
    /// The model.
    pub model: &'m Model<'a>,
    /// The files, to resolve locations.
    pub files: &'m [SourceFile],
}

impl Ctx<'_, '_> {
    /// Builds a finding about `object` at the field `pointer`.
    #[must_use]
    pub fn finding(
        &self,
        meta: &RuleMeta,
        object: &Object,
        pointer: &str,
        message: String,
        fix: String,
    ) -> Finding {
        finding(self.files, meta, object, pointer, message, fix)
    }
}

/// Builds a finding about `object` at the field `pointer`, located in `files`.
#[must_use]
pub fn finding(
    files: &[SourceFile],
    meta: &RuleMeta,
    object: &Object,
    pointer: &str,
    message: String,
    fix: String,
) -> Finding {
    let pos = object.root.locate(pointer);
    let location = files
        .get(object.origin.file)
        .filter(|_| pos.line > 0)
        .map(|f| Location {
            file: f.path.clone(),
            line: pos.line,
            column: pos.col,
            chart_file: object.origin.helm_source.clone(),
        });
    Finding {
        code: meta.code,
        name: meta.name,
        severity: meta.severity,
        message,
        fix,
        object: ObjectRef {
            kind: object.kind.clone(),
            namespace: object.namespace.clone(),
            name: object.name.clone(),
        },
        path: pointer.to_string(),
        location,
        pods: None,
    }
}

/// A rule.
pub trait Rule: Sync + std::fmt::Debug {
    /// The rule's metadata.
    fn meta(&self) -> &'static RuleMeta;
    /// Reports every problem the rule finds.
    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>);
}

/// The first of zero or one strings (for the macro's optional fields).
#[doc(hidden)]
#[must_use]
pub const fn optional(values: &[&'static str]) -> Option<&'static str> {
    match values {
        [v, ..] => Some(*v),
        [] => None,
    }
}

/// Declares a rule struct whose doc comment becomes its documentation.
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $name:ident {
            code: $code:literal,
            name: $rule_name:literal,
            severity: $severity:ident,
            summary: $summary:literal,
            istio_versions: $istio:literal
            $(, version_dependence: $depends:literal)? $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug)]
        $vis struct $name;

        impl $name {
            /// This rule's metadata.
            pub const META: $crate::rule::RuleMeta = $crate::rule::RuleMeta {
                code: $code,
                name: $rule_name,
                severity: $crate::finding::Severity::$severity,
                summary: $summary,
                istio_versions: $istio,
                version_dependence: $crate::rule::optional(&[$($depends)?]),
                docs: concat!($($doc, "\n"),*),
            };
        }
    };
}
pub(crate) use declare_rule;
