//! IST0102: a Namespace has no injection label at all.

use crate::finding::Finding;
use crate::model::mesh::IGNORED_NAMESPACES;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::settings::MeshMode;

declare_rule! {
    /// ## What it checks
    /// Namespace objects in the input that carry neither `istio-injection` nor `istio.io/rev`
    /// and are not ambient, except `istio-system` and the system namespaces. Only reported when
    /// the Namespace object is part of the input, and not when the injector enables namespaces
    /// by default (istioctl reports IST0148 then).
    ///
    /// ## Why it matters in the mesh
    /// Pods in such a namespace get a sidecar only if each pod opts in, which is easy to miss:
    /// labelling the namespace states the intent either way.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Namespace
    /// metadata: {name: shop}
    /// ```
    ///
    /// ## Fix
    /// `kubectl label namespace shop istio-injection=enabled` (or `=disabled` to say it is not
    /// meant to be in the mesh).
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0102/
    pub struct NamespaceNotInjected {
        code: "IST0102",
        name: "namespace-not-injected",
        severity: Info,
        summary: "a Namespace has no Istio injection label",
        istio_versions: "all Istio versions",
    }
}

impl Rule for NamespaceNotInjected {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        if cx.model.settings.mesh == MeshMode::None
            || cx.model.injector.enable_namespaces_by_default
        {
            return;
        }
        let mut namespaces: Vec<_> = cx.model.namespaces.values().collect();
        namespaces.sort_by_key(|ns| (ns.origin.file, ns.origin.document, ns.origin.item));
        for ns in namespaces {
            let name = ns.name.as_str();
            if name == "istio-system" || IGNORED_NAMESPACES.contains(&name) {
                continue;
            }
            if ns.label("istio-injection").is_some()
                || ns.label("istio.io/rev").is_some()
                || ns.label("istio.io/dataplane-mode").as_deref() == Some("ambient")
            {
                continue;
            }
            let pointer = if ns.root.at(&["metadata", "labels"]).is_some() {
                "/metadata/labels"
            } else {
                "/metadata/name"
            };
            out.push(cx.finding(
                &Self::META,
                ns,
                pointer,
                format!("namespace `{name}` is not labelled for Istio injection"),
                format!("Run `kubectl label namespace {name} istio-injection=enabled`, or label it `istio-injection=disabled` if it is not meant to be in the mesh."),
            ));
        }
    }
}
