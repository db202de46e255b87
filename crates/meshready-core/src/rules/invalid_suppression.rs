//! MR0031: a `meshready.io/ignore` annotation that does not follow its grammar.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::rules::find;
use crate::suppress::IGNORE_ANNOTATION;

declare_rule! {
    /// ## What it checks
    /// The value of every `meshready.io/ignore` annotation, on an object and on its pod template,
    /// against the annotation's grammar: `CODE[,CODE...][=reason]`, where each code is a rule
    /// code, a rule name or `*`, and everything after the first `=` is the reason. Two mistakes
    /// are reported:
    /// - a code that names no rule (a typo suppresses nothing), and
    /// - a code written after the reason (`"IST0117=batch, MR0004"`): it would be read as reason
    ///   text and suppress nothing, while the author meant to suppress it.
    ///
    /// Istio's `galley.istio.io/analyze-suppress` annotation is left alone: it also lists codes
    /// of `istioctl analyze` that meshready does not know.
    ///
    /// ## Why it matters in the mesh
    /// A suppression that silently does not apply is worse than none: the author believes the
    /// finding is accepted, CI keeps failing (or, the other way round, a later reader believes
    /// a code is suppressed that is not). Flags and the config file refuse unknown codes; the
    /// annotation gets the same strictness as an error finding on the object, with its line.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   annotations:
    ///     meshready.io/ignore: "IST0117=batch job, MR0004"
    /// ```
    ///
    /// ## Fix
    /// Write every code before the `=`: `meshready.io/ignore: "IST0117,MR0004=batch job"`, and
    /// take the codes from `meshready rules`.
    ///
    /// ## References
    /// - SPEC §5 (suppression) and `crates/meshready-core/src/suppress.rs` (the grammar)
    pub struct InvalidSuppression {
        code: "MR0031",
        name: "invalid-suppression",
        severity: Error,
        summary: "a meshready.io/ignore annotation lists an unknown code or a code after its reason",
        istio_versions: "all (about meshready's own annotation)",
    }
}

impl Rule for InvalidSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, entries) in cx.model.annotated().iter() {
            let object = &cx.model.objects[i];
            for entry in entries {
                if entry.annotation != IGNORE_ANNOTATION {
                    continue;
                }
                for code in entry
                    .codes
                    .iter()
                    .filter(|c| *c != "*" && find(c).is_none())
                {
                    out.push(cx.finding(
                        &Self::META,
                        object,
                        &entry.pointer,
                        format!(
                            "`{IGNORE_ANNOTATION}` lists `{code}`, which is not a meshready rule"
                        ),
                        "Use a code or name that `meshready rules` lists, or remove it.".into(),
                    ));
                }
                for code in entry.after_reason.iter().filter(|w| find(w).is_some()) {
                    out.push(cx.finding(
                        &Self::META,
                        object,
                        &entry.pointer,
                        format!(
                            "`{IGNORE_ANNOTATION}` lists `{code}` after its reason, where it is reason text and suppresses nothing"
                        ),
                        format!(
                            "Write every code before the `=`, for example `{}`.",
                            example(&entry.codes, code)
                        ),
                    ));
                }
            }
        }
    }
}

/// The annotation rewritten with `code` among the codes.
fn example(codes: &[String], code: &str) -> String {
    let mut all: Vec<&str> = codes.iter().map(String::as_str).collect();
    all.push(code);
    format!("{IGNORE_ANNOTATION}: \"{}=<reason>\"", all.join(","))
}
