//! MR0021: a mapping repeats a key.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::kinds::is_known_object;
use crate::source::yaml::Quirk;

declare_rule! {
    /// ## What it checks
    /// Keys that appear twice in one mapping of an object.
    ///
    /// ## Why it matters in the mesh
    /// Kubernetes keeps the last value, silently dropping the first, and `kubectl apply` with
    /// strict field validation (the default since Kubernetes 1.27) rejects the object. A repeated
    /// `labels:` or `securityContext:` block is a classic way to lose `sidecar.istio.io/inject` or
    /// `runAsUser`. meshready analyses the object with the last value, as Kubernetes would.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels: {app: web}
    ///   labels: {version: v1}
    /// ```
    ///
    /// ## Fix
    /// Merge the two entries into one.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation
    pub struct DuplicateKey {
        code: "MR0021",
        name: "duplicate-key",
        severity: Warning,
        summary: "a mapping in an object repeats a key; Kubernetes keeps only the last value",
        istio_versions: "all (a Kubernetes API rule)",
    }
}

impl Rule for DuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for object in cx.model.objects.iter().filter(|o| is_known_object(o)) {
            for quirk in &object.quirks {
                let Quirk::DuplicateKey { key, first, pos } = quirk else {
                    continue;
                };
                let mut finding = cx.finding(
                    &Self::META,
                    object,
                    "",
                    format!("key `{key}` repeats the one at line {}; Kubernetes keeps only this last value", first.line),
                    format!("Merge the two `{key}` entries into one."),
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
