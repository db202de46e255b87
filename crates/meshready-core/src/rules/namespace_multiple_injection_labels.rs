//! IST0123: a Namespace carries more than one kind of injection label.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Namespace objects with more than one kind of Istio dataplane label, counted as istioctl
    /// does: `istio-injection` if present, plus `istio.io/rev` and `istio.io/dataplane-mode` when
    /// `istio-injection` is absent or `enabled`.
    ///
    /// ## Why it matters in the mesh
    /// The webhook's selectors give `istio-injection` precedence, so `istio.io/rev` is silently
    /// ignored (a canary upgrade that never happens), and sidecar and ambient labels together
    /// leave the data plane undefined.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    ///   labels: {istio-injection: enabled, istio.io/rev: canary}
    /// ```
    ///
    /// ## Fix
    /// Keep one label: `istio.io/rev` for revision-based installs, otherwise `istio-injection`.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0123/
    pub struct NamespaceMultipleInjectionLabels {
        code: "IST0123",
        name: "namespace-multiple-injection-labels",
        severity: Warning,
        summary: "a Namespace has more than one kind of Istio injection label",
        istio_versions: "all Istio versions with revisions (1.6 and later)",
    }
}

impl Rule for NamespaceMultipleInjectionLabels {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let mut namespaces: Vec<_> = cx.model.namespaces.values().collect();
        namespaces.sort_by_key(|ns| (ns.origin.file, ns.origin.document, ns.origin.item));
        for ns in namespaces {
            if ns.name == "istio-system" {
                continue;
            }
            let injection = ns.label("istio-injection");
            let mut labels = Vec::new();
            if let Some(v) = &injection {
                labels.push(format!("istio-injection={v}"));
            }
            if injection.as_deref().is_none_or(|v| v == "enabled") {
                for key in ["istio.io/rev", "istio.io/dataplane-mode"] {
                    if let Some(v) = ns.label(key) {
                        labels.push(format!("{key}={v}"));
                    }
                }
            }
            if labels.len() < 2 {
                continue;
            }
            out.push(cx.finding(
                &Self::META,
                ns,
                "/metadata/labels",
                format!("namespace `{}` has more than one kind of injection label: {}", ns.name, labels.join(", ")),
                "Keep a single injection label: `istio.io/rev` for revision-based installs, otherwise `istio-injection`.".into(),
            ));
        }
    }
}
