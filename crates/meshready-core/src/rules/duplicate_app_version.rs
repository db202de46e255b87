//! MR0005: two workloads of one namespace share the same (app, version).

use std::collections::BTreeMap;

use super::helpers::{NAME_LABELS, VERSION_LABELS, first_label, labels_pointer};
use crate::finding::Finding;
use crate::model::owners::implied_top_owner;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// In-mesh workloads (sidecar or ambient) of one namespace whose pod templates resolve to the same canonical
    /// service and revision (the `app` and `version` labels or their equivalents; a missing
    /// version counts as `latest`). Workloads that share `app` with different `version`s are the
    /// normal canary pattern (bookinfo's reviews-v1/v2/v3) and are fine.
    ///
    /// ## Why it matters in the mesh
    /// Istio identifies a workload in telemetry by (canonical service, canonical revision). Two
    /// workloads with the same pair are indistinguishable in metrics, traces and Kiali, and
    /// version subsets route to both.
    ///
    /// ## Example
    /// ```yaml
    /// kind: Deployment
    /// metadata: {name: reviews-a}
    /// spec: {template: {metadata: {labels: {app: reviews, version: v1}}}}
    /// ---
    /// kind: Deployment
    /// metadata: {name: reviews-b}
    /// spec: {template: {metadata: {labels: {app: reviews, version: v1}}}}
    /// ```
    ///
    /// ## Fix
    /// Give each workload its own `version` (or its own `app` if they are different applications).
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#pod-labels
    /// - istio/istio `pkg/kube/labels/labels.go` (`CanonicalService`)
    pub struct DuplicateAppVersion {
        code: "MR0005",
        name: "duplicate-app-version",
        severity: Warning,
        summary: "two workloads in one namespace share the same app and version labels",
        istio_versions: "all Istio versions",
    }
}

impl Rule for DuplicateAppVersion {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        type Key<'k> = (
            &'k str,
            std::borrow::Cow<'k, str>,
            std::borrow::Cow<'k, str>,
        );
        let mut groups: rustc_hash::FxHashMap<Key<'_>, Vec<usize>> =
            rustc_hash::FxHashMap::default();
        for (i, w) in super::helpers::in_mesh(cx) {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let Some((_, app)) = first_label(w, &NAME_LABELS) else {
                continue;
            };
            let version = first_label(w, &VERSION_LABELS)
                .map_or(std::borrow::Cow::Borrowed("latest"), |(_, v)| v);
            groups
                .entry((w.object.namespace.as_str(), app, version))
                .or_default()
                .push(i);
        }
        // Only groups of two or more matter; order them for a stable output.
        let groups: BTreeMap<Key<'_>, Vec<usize>> =
            groups.into_iter().filter(|(_, m)| m.len() > 1).collect();
        for ((_, app, version), members) in groups {
            // The same object in several files (alternative manifests) is one workload, and so
            // is a Pod whose owners are not in the input with the workload that owns it (at
            // admission, a Pod of Deployment `web` next to `web` itself).
            let identity = |j: usize| {
                let o = cx.model.workloads[j].object;
                match implied_top_owner(o) {
                    Some((kind, name)) => format!("{kind} `{name}`"),
                    None => format!("{} `{}`", o.kind, o.name),
                }
            };
            let distinct: std::collections::BTreeSet<String> =
                members.iter().map(|&j| identity(j)).collect();
            if distinct.len() < 2 {
                continue;
            }
            for &i in &members {
                let w = &cx.model.workloads[i];
                let me = identity(i);
                let others: Vec<&str> = distinct
                    .iter()
                    .filter(|d| **d != me)
                    .map(String::as_str)
                    .collect();
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &labels_pointer(w),
                    format!("app `{app}` version `{version}` is also used by {}; telemetry cannot tell them apart", others.join(", ")),
                    "Give each workload a distinct `version` label (or a distinct `app` if they are different applications).".into(),
                ));
            }
        }
    }
}
