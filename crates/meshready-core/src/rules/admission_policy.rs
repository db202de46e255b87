//! The check MR0010 (PodSecurityPolicy) and MR0013 (SCC) share: whether a usable policy admits each meshed workload's `istio-init`.

use std::collections::HashMap;

use crate::admission::policy::requester_phrase;
use crate::admission::policy::{self, AdmissionPolicy};
use crate::admission::psp::{Psp, istio_containers, requester};
use crate::admission::rbac::{Identity, Rbac};
use crate::admission::scc::Scc;
use crate::finding::Finding;
use crate::model::Workload;
use crate::rule::{Ctx, RuleMeta};

/// The policy kind a rule checks.
#[derive(Debug, Clone, Copy)]
pub(super) enum PolicyKind {
    /// PodSecurityPolicy (MR0010).
    Psp,
    /// OpenShift SecurityContextConstraints (MR0013).
    Scc,
}

impl PolicyKind {
    /// Reports every in-mesh workload (control plane aside) with injected Istio containers
    /// that no usable policy of this kind admits. Silent without such policies or with Istio
    /// CNI.
    pub(super) fn check(self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>, meta: &'static RuleMeta) {
        let objects = cx.model.objects;
        match self {
            Self::Psp => self.check_with(cx, out, meta, &Psp::all(objects)),
            Self::Scc => self.check_with(cx, out, meta, &Scc::all(objects)),
        }
    }

    /// In "none of the ... is usable" and "no ... usable by".
    fn plural_and_singular(self) -> (&'static str, &'static str) {
        match self {
            Self::Psp => ("PodSecurityPolicies", "PodSecurityPolicy"),
            Self::Scc => ("SecurityContextConstraints", "SecurityContextConstraints"),
        }
    }

    fn fix(self, namespace: &str, sa: &str) -> String {
        match self {
            Self::Psp => format!(
                "Grant ServiceAccount `{namespace}/{sa}` `use` of a PodSecurityPolicy that allows NET_ADMIN and NET_RAW and UID 0 (Istio's samples/security/psp/sidecar-psp.yaml), or install Istio with the CNI plugin."
            ),
            Self::Scc => format!(
                "Install Istio with the CNI plugin (the openshift profile), or grant ServiceAccount `{namespace}/{sa}` an SCC that allows NET_ADMIN, NET_RAW and UID 0 (`oc adm policy add-scc-to-user privileged -z {sa} -n {namespace}`)."
            ),
        }
    }

    fn check_with<P: AdmissionPolicy>(
        self,
        cx: &Ctx<'_, '_>,
        out: &mut Vec<Finding>,
        meta: &'static RuleMeta,
        policies: &[P],
    ) {
        let objects = cx.model.objects;
        if policies.is_empty() {
            return;
        }
        let (plural, singular) = self.plural_and_singular();
        let rbac = Rbac::new(objects);
        // Usability depends only on (namespace, ServiceAccount, controller).
        let mut usable: UsableCache<'_> = HashMap::new();
        for (_, w) in cx.model.meshed() {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let containers = istio_containers(cx.model, w);
            if containers.is_empty() {
                continue;
            }
            // The container the message names: `istio-init` when injected, else the proxy.
            let named = if containers
                .iter()
                .any(|c| c.name == crate::istio::ISTIO_INIT)
            {
                crate::istio::ISTIO_INIT
            } else {
                crate::istio::ISTIO_PROXY
            };
            let namespace = w.object.namespace.as_str();
            let sa = w.service_account();
            let controller = Some(requester(&w.object.kind));
            let via = usable
                .entry((namespace, sa, controller.as_ref().map(|c| c.user.clone())))
                .or_insert_with(|| {
                    let identity = Identity::service_account(namespace, sa);
                    policies
                        .iter()
                        .map(|p| {
                            policy::usable_via(&rbac, p, namespace, &identity, controller.as_ref())
                        })
                        .collect()
                })
                .clone();
            let verdict = policy::judge(policies, via, &containers);
            if verdict.admitted_by().is_some() {
                continue;
            }
            let who = who(namespace, sa, controller.as_ref());
            let message = if verdict.usable().next().is_none() {
                format!(
                    "none of the {plural} ({}) is usable by {who}, so the pod is rejected once Istio injects `{named}`",
                    names(policies.iter().map(AdmissionPolicy::name)),
                )
            } else {
                format!(
                    "no {singular} usable by {who} admits the injected `{named}`; {}",
                    verdict.describe_rejections()
                )
            };
            let fix = self.fix(namespace, sa);
            out.push(cx.finding(meta, w.object, &sa_pointer(w), message, fix));
        }
    }
}

/// How each policy may be used, by (namespace, ServiceAccount, requesting controller).
type UsableCache<'a> = HashMap<(&'a str, &'a str, Option<String>), Vec<Option<String>>>;

/// `ServiceAccount `ns/sa`` and the requester (its controller, or the user creating a bare pod).
fn who(namespace: &str, sa: &str, controller: Option<&Identity>) -> String {
    match controller {
        Some(c) => format!(
            "ServiceAccount `{namespace}/{sa}` or {}",
            requester_phrase(c, true)
        ),
        None => format!("ServiceAccount `{namespace}/{sa}`"),
    }
}

/// `` `a`, `b` ``.
fn names<'n>(names: impl Iterator<Item = &'n str>) -> String {
    names
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pod template's `serviceAccountName` (or `serviceAccount`) field, else its spec.
fn sa_pointer(w: &Workload<'_>) -> String {
    ["serviceAccountName", "serviceAccount"]
        .iter()
        .find(|k| w.spec.get(k).is_some())
        .map_or_else(|| w.pointer("/spec"), |k| w.pointer(&format!("/spec/{k}")))
}
