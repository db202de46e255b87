//! MR0050: the same object (kind, namespace, name) is defined more than once with different
//! content.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::Object;
use crate::source::kinds::group;

declare_rule! {
    /// ## What it checks
    /// Objects of the input that have the same API group, kind, namespace and name but
    /// different content (positions, comments, key order, `status` and server-set metadata
    /// do not count). Identical copies are not reported. Objects named with `generateName`
    /// are distinct objects and are never compared. The finding is reported once, at the last
    /// definition, and its message names every place the object is defined.
    ///
    /// ## Why it matters in the mesh
    /// When the files are applied together, the last definition wins and silently replaces
    /// the others: the Service ports, labels or security context that meshready checked in
    /// one copy may not be the ones that run. Repositories often hold several variants of one
    /// object on purpose (Kustomize overlays, per-environment or per-cluster copies, rendered
    /// snapshots); checking them as one cluster also mixes their Services, namespaces and
    /// policies. `--scope directory` or `--scope file` checks such variants apart.
    ///
    /// ## Example
    /// ```yaml
    /// # overlays/dev/web.yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: web, namespace: shop}
    /// spec: {selector: {app: web}, ports: [{name: http, port: 80}]}
    /// ---
    /// # overlays/prod/web.yaml
    /// apiVersion: v1
    /// kind: Service
    /// metadata: {name: web, namespace: shop}
    /// spec: {selector: {app: web}, ports: [{name: tcp, port: 80}]}
    /// ```
    ///
    /// ## Fix
    /// Keep one definition of the object. If the files are alternatives that are never
    /// applied together (overlays, variants, copies for other clusters), check them apart with
    /// `meshready check --scope directory` (or `--scope file`), or leave the copies out with
    /// `--exclude`.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/overview/working-with-objects/names/
    /// - https://kubernetes.io/docs/tasks/manage-kubernetes-objects/declarative-config/
    pub struct ConflictingDefinitions {
        code: "MR0050",
        name: "conflicting-definitions",
        severity: Warning,
        summary: "the same object is defined more than once with different content",
        istio_versions: "all Istio versions",
    }
}

impl Rule for ConflictingDefinitions {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        type Key<'k> = (&'k str, &'k str, &'k str, &'k str);
        let objects = cx.model.objects;
        let mut groups: rustc_hash::FxHashMap<Key<'_>, Vec<usize>> =
            rustc_hash::FxHashMap::default();
        for (i, o) in objects.iter().enumerate() {
            // Objects read from the API, and objects named by `generateName`, are distinct.
            if o.decoded_by_api_server() || o.root.at(&["metadata", "name"]).is_none() {
                continue;
            }
            groups
                .entry((group(&o.api_version), &o.kind, &o.namespace, &o.name))
                .or_default()
                .push(i);
        }
        let mut conflicts: Vec<&Vec<usize>> = groups
            .values()
            .filter(|members| {
                members.len() > 1
                    && members
                        .iter()
                        .any(|&i| objects[i].digest != objects[members[0]].digest)
            })
            .collect();
        conflicts.sort_unstable();
        for members in conflicts {
            let places: Vec<String> = members.iter().map(|&i| place(cx, &objects[i])).collect();
            let Some(&last) = members.last() else {
                continue;
            };
            let last = &objects[last];
            out.push(cx.finding(
                &Self::META,
                last,
                "/metadata/name",
                format!(
                    "this {} `{}` is defined {} times with different content ({}); the last one applied wins; if the files are alternatives, check them apart with `--scope directory` or `--scope file`",
                    last.kind,
                    if last.namespace.is_empty() {
                        last.name.clone()
                    } else {
                        format!("{}/{}", last.namespace, last.name)
                    },
                    members.len(),
                    places.join(", ")
                ),
                "Keep one definition, or check alternative files apart with `--scope directory` (or `--scope file`) or leave copies out with `--exclude`.".into(),
            ));
        }
    }
}

/// `file:line` of an object's definition (`<stdin>` for standard input).
fn place(cx: &Ctx<'_, '_>, object: &Object) -> String {
    let file = cx.files.get(object.origin.file).map_or("<unknown>", |f| {
        if f.path == "-" { "<stdin>" } else { &f.path }
    });
    let line = object.root.locate("/metadata/name").line;
    format!("{file}:{line}")
}
