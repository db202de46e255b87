//! MR0022: a line indented in a way only libyaml-based readers accept.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::kinds::is_known_object;
use crate::source::yaml::Quirk;

declare_rule! {
    /// ## What it checks
    /// Lines that a YAML 1.2 parser rejects for their indentation — typically the closing `]` of
    /// a multi-line flow list, or a continuation line of a multi-line quoted string, placed at or
    /// left of the surrounding block's indentation — but that libyaml-based readers such as
    /// kubectl and the API server accept. meshready reads the document as kubectl does and
    /// reports the line.
    ///
    /// ## Why it matters in the mesh
    /// The manifest applies today, but every YAML 1.2 tool in the pipeline (linters, policy
    /// engines, editors, newer parsers) may reject or misread it, so the checks those tools run
    /// on it silently do not happen.
    ///
    /// ## Example
    /// ```yaml
    /// args: [
    ///     "--socket", "/run/agent.sock",
    /// ]
    /// ```
    ///
    /// ## Fix
    /// Indent the line further than the key it belongs to, or write the list in block style.
    ///
    /// ## References
    /// - https://yaml.org/spec/1.2.2/#chapter-7-flow-style-productions
    pub struct LenientIndentation {
        code: "MR0022",
        name: "lenient-indentation",
        severity: Info,
        summary: "a line's indentation is accepted by kubectl but rejected by YAML 1.2 parsers",
        istio_versions: "all (a YAML portability rule)",
    }
}

impl Rule for LenientIndentation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for object in cx.model.objects.iter().filter(|o| is_known_object(o)) {
            for quirk in &object.quirks {
                let Quirk::LenientIndentation { pos, message } = quirk else {
                    continue;
                };
                let mut finding = cx.finding(
                    &Self::META,
                    object,
                    "",
                    format!("{message}: YAML 1.2 parsers reject this line; kubectl accepts it"),
                    "Indent this line further than the key it belongs to, or use block style."
                        .into(),
                );
                if let Some(location) = finding.location.as_mut() {
                    location.line = pos.line;
                    location.column = pos.col;
                }
                out.push(finding);
            }
        }
    }
}
