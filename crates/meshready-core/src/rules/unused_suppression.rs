//! MR0030: a suppression (config ignore, `--suppress` pattern or annotation) matched no finding.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Suppressions that did not suppress anything in this run:
    /// - `ignore:` entries of `.meshready.yaml`;
    /// - `--suppress "CODE=Kind name.namespace"` patterns;
    /// - codes listed in a `meshready.io/ignore` annotation, and codes of meshready's rules listed
    ///   in a `galley.istio.io/analyze-suppress` annotation (other Istio codes and `*` in Istio's
    ///   annotation are left alone: they may be there for `istioctl analyze`).
    ///
    /// Codes of rules that the configuration turns `off` are not reported, and the finding is
    /// only produced after the whole input was checked, like ruff's `unused-noqa` (RUF100).
    ///
    /// ## Why it matters in the mesh
    /// A suppression outlives the problem it hid: once the port is renamed or the label added,
    /// the stale ignore silently hides the next, different problem of the same kind on that
    /// object. Reporting unused suppressions keeps the list of accepted exceptions honest, which
    /// matters most for the per-object ignores kept for third-party charts.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   name: web
    ///   annotations:
    ///     # the Service port has been renamed to http-web since; IST0118 no longer fires
    ///     meshready.io/ignore: "IST0118=legacy port name"
    /// ```
    ///
    /// ## Fix
    /// Remove the suppression, or the code from the annotation's list. To keep a suppression that
    /// only matters for some inputs, turn this rule off in `.meshready.yaml`
    /// (`rules: {MR0030: {severity: off}}`).
    ///
    /// ## References
    /// - https://docs.astral.sh/ruff/rules/unused-noqa/
    /// - https://istio.io/latest/docs/ops/diagnostic-tools/istioctl-analyze/#suppressing-specific-analyzer-messages
    pub struct UnusedSuppression {
        code: "MR0030",
        name: "unused-suppression",
        severity: Info,
        summary: "a suppression matched no finding",
        istio_versions: "all (about meshready's own configuration)",
    }
}

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The findings need every other rule's findings, so [`crate::check`] produces them after
    /// suppression; the rule itself reports nothing.
    fn check(&self, _cx: &Ctx<'_, '_>, _out: &mut Vec<Finding>) {}
}
