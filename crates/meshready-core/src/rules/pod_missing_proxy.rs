//! IST0103: on a live cluster, a pod in an injected namespace runs without the sidecar.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::finding::Finding;
use crate::model::owners::is_finished;
use crate::model::{Membership, Workload, mesh};
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::Object;

declare_rule! {
    /// ## What it checks
    /// Only on a live cluster (`meshready cluster`, `meshready webhook` with cluster context):
    /// running Pods that Istio's injector should have injected but that have no `istio-proxy`
    /// container. In manifests (`meshready check`) pods are described before injection, so the
    /// rule does not apply there — a deliberate difference from istioctl, which reports IST0103
    /// on manifest Pods too. Pods that a workload of the input owns (Pod → ReplicaSet →
    /// Deployment, Pod → Job → CronJob) are reported once, at the top owner, with the number of
    /// its pods that lack the proxy; finished pods (`Succeeded`, `Failed`) are not counted.
    ///
    /// ## Why it matters in the mesh
    /// The pod was created before the namespace was labelled, or before the injector was ready,
    /// so it is outside the mesh while everything says it is in: no mTLS, no policy.
    ///
    /// ## Example
    /// A pod in a namespace labelled `istio-injection=enabled` with only its application
    /// container; on a cluster, `Deployment shop/web: pods of shop/web are missing the Istio
    /// proxy (3 pods)`.
    ///
    /// ## Fix
    /// Restart the workload (`kubectl rollout restart deployment/<name>`) so that new pods are
    /// injected.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0103/
    pub struct PodMissingProxy {
        code: "IST0103",
        name: "pod-missing-proxy",
        severity: Warning,
        summary: "a running pod in an injected namespace has no sidecar",
        istio_versions: "all Istio versions",
    }
}

impl Rule for PodMissingProxy {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        if !cx.model.settings.live {
            return;
        }
        let objects = cx.model.objects;
        // The pods without the proxy, found in parallel (deciding injection for each of many
        // pods is most of this rule's work).
        let bare: Vec<usize> = objects
            .par_iter()
            .enumerate()
            .filter(|&(i, pod)| missing_proxy(cx, i, pod))
            .map(|(i, _)| i)
            .collect();
        if bare.is_empty() {
            return;
        }
        let owners = cx.model.owners();
        // Top owner (object index) → pods without the proxy.
        let mut missing: BTreeMap<usize, usize> = BTreeMap::new();
        for i in bare {
            *missing.entry(owners.top(i)).or_default() += objects[i].count();
        }
        for (top, count) in missing {
            let object = &objects[top];
            let Some(w) = Workload::new(top, object) else {
                continue;
            };
            let (message, fix) = if object.kind == "Pod" {
                let fix = if object.root.at(&["metadata", "ownerReferences"]).is_some() {
                    "Restart the workload that owns this pod so that the injector adds the sidecar."
                } else {
                    "Delete and recreate this pod (it has no owner) so that the injector adds the sidecar."
                };
                (
                    format!(
                        "pod `{}/{}` is missing the Istio proxy",
                        object.namespace, object.name
                    ),
                    fix.to_string(),
                )
            } else {
                let restart = if matches!(
                    object.kind.as_str(),
                    "Deployment" | "StatefulSet" | "DaemonSet"
                ) {
                    format!(
                        "Restart it (`kubectl rollout restart {}/{} -n {}`) so that the injector adds the sidecar to new pods.",
                        object.kind.to_ascii_lowercase(),
                        object.name,
                        object.namespace
                    )
                } else {
                    "Recreate its pods so that the injector adds the sidecar.".to_string()
                };
                (
                    format!(
                        "pods of `{}/{}` are missing the Istio proxy",
                        object.namespace, object.name
                    ),
                    restart,
                )
            };
            let mut finding = cx.finding(
                &Self::META,
                object,
                &w.pointer("/spec/containers"),
                message,
                fix,
            );
            // The pods missing the proxy (a bare pod is one).
            finding.pods = (object.kind != "Pod").then_some(count);
            out.push(finding);
        }
    }
}

/// Whether object `i` is a running Pod that the injector should have given the proxy (its
/// Namespace known: its labels decide injection) and that has none.
fn missing_proxy(cx: &Ctx<'_, '_>, i: usize, pod: &Object) -> bool {
    if pod.kind != "Pod" || is_finished(pod) {
        return false;
    }
    let Some(namespace) = cx.model.namespaces.get(pod.namespace.as_str()) else {
        return false;
    };
    let Some(w) = Workload::new(i, pod) else {
        return false;
    };
    let decision = mesh::membership(
        &w,
        Some(namespace),
        cx.model.settings.mesh,
        cx.model.injector,
    );
    // A running pod's `istio-proxy` container is the proxy (an API object always has an image;
    // the `image: auto` customisation exists only in templates).
    let has_proxy = w.containers().any(|c| {
        c.name == crate::istio::ISTIO_PROXY && c.list != crate::model::ContainerList::Ephemeral
    });
    matches!(decision, Membership::Injected(_)) && !has_proxy
}
