//! Admission of the injected pod (SPEC 3.4): Istio CNI detection, injection simulation and Pod Security Admission.

pub mod inject;
pub(crate) mod policy;
pub(crate) mod validate;

pub mod psp;
pub(crate) mod rbac;
pub(crate) mod scc;

use crate::model::Model;
use crate::psa;

/// The policy enforced on pods of `namespace`: `--pod-security` if given, else the Namespace
/// object's labels (when the input has it). `None` when nothing is enforced (privileged, or
/// the namespace is unknown).
#[must_use]
pub fn enforced_policy(model: &Model<'_>, namespace: &str) -> Option<psa::Policy> {
    let policy = match model.settings.admission.pod_security {
        Some(p) => p,
        None => psa::Policy::from_labels(
            model
                .namespaces
                .get(namespace)
                .and_then(|ns| ns.root.at(&["metadata", "labels"])),
        ),
    };
    // `latest` means the checks of the Kubernetes version the cluster runs, when it is given.
    let policy = match (policy.version, model.settings.inject.kubernetes_version) {
        (psa::Version::Latest, Some(minor)) => psa::Policy {
            version: psa::Version::Minor(minor),
            ..policy
        },
        _ => policy,
    };
    (policy.level != psa::Level::Privileged).then_some(policy)
}

/// How the enforced policy was chosen, for messages: `namespace "shop" enforces` or
/// `--pod-security enforces`.
#[must_use]
pub fn policy_source(model: &Model<'_>, namespace: &str) -> String {
    if model.settings.admission.pod_security.is_some() {
        "--pod-security enforces".to_string()
    } else {
        format!("namespace {namespace:?} enforces")
    }
}
