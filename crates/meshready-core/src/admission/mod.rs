//! Admission of the injected pod (SPEC 3.4): Istio CNI detection, injection simulation and Pod Security Admission.

pub mod inject;
pub mod policy;
pub mod psa;
pub mod psp;
pub mod rbac;
pub mod scc;

use crate::model::{Model, Workload};
use crate::source::{Node, Object};

/// `--istio-cni`: whether Istio's CNI plugin replaces the `istio-init` container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CniMode {
    /// CNI is on: the init container is `istio-validation`.
    On,
    /// CNI is off: the init container is `istio-init` (NET_ADMIN, NET_RAW).
    Off,
    /// Detect from the input (see [`detect_cni`]).
    #[default]
    Auto,
}

/// Settings of the admission checks.
#[derive(Debug, Clone, Default)]
pub struct AdmissionSettings {
    /// `--istio-cni`.
    pub cni: CniMode,
    /// `--pod-security`: the enforced policy of every namespace, instead of the namespaces'
    /// labels.
    pub pod_security: Option<psa::Policy>,
}

/// Whether Istio CNI is on, by the setting or, for `auto`, by [`detect_cni`].
#[must_use]
pub fn cni_enabled(objects: &[Object], settings: &AdmissionSettings) -> bool {
    match settings.cni {
        CniMode::On => true,
        CniMode::Off => false,
        CniMode::Auto => detect_cni(objects),
    }
}

/// Looks for evidence of Istio CNI in the input: the `istio-cni-node` DaemonSet, the injector
/// ConfigMap `istio-sidecar-injector[-<rev>]` with `pilot.cni.enabled` (older charts:
/// `istio_cni.enabled`) in its `values`, or an injected pod template whose init container is
/// `istio-validation`.
#[must_use]
pub fn detect_cni(objects: &[Object]) -> bool {
    objects.iter().any(|o| match o.kind.as_str() {
        "DaemonSet" if o.name == "istio-cni-node" => true,
        "ConfigMap"
            if o.name == "istio-sidecar-injector"
                || o.name.starts_with("istio-sidecar-injector-") =>
        {
            injector_values_enable_cni(o)
        }
        _ => Workload::new(0, o).is_some_and(|w| {
            w.containers()
                .any(|c| c.name == inject::ISTIO_VALIDATION && c.list.field() == "initContainers")
        }),
    })
}

fn injector_values_enable_cni(object: &Object) -> bool {
    let Some(values) = object.root.at(&["data", "values"]).and_then(Node::as_str) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(values) else {
        return false;
    };
    ["/pilot/cni/enabled", "/istio_cni/enabled"]
        .iter()
        .any(|p| v.pointer(p).and_then(serde_json::Value::as_bool) == Some(true))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    fn detect(yaml: &str) -> bool {
        detect_cni(&load_str("t.yaml", yaml, &LoadOptions::default()).objects)
    }

    const APP: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - name: app
";

    #[test]
    fn detects_cni_from_the_input() {
        assert!(!detect(APP));
        assert!(detect(&format!(
            "{APP}---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata: {{name: istio-cni-node, namespace: kube-system}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: install-cni\n"
        )));
        let injector = |name: &str, values: &str| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: istio-system}}\ndata:\n  values: '{values}'\n"
            )
        };
        assert!(detect(&injector(
            "istio-sidecar-injector",
            r#"{"pilot": {"cni": {"enabled": true}}}"#
        )));
        assert!(detect(&injector(
            "istio-sidecar-injector-canary",
            r#"{"istio_cni": {"enabled": true}}"#
        )));
        assert!(!detect(&injector(
            "istio-sidecar-injector",
            r#"{"pilot": {"cni": {"enabled": false}}}"#
        )));
        assert!(!detect(&injector(
            "other",
            r#"{"pilot": {"cni": {"enabled": true}}}"#
        )));
        let injected = APP.replace(
            "      containers:\n",
            "      initContainers:\n      - name: istio-validation\n      containers:\n      - name: istio-proxy\n",
        );
        assert!(detect(&injected));
        assert!(!detect(&injected.replace("istio-validation", "istio-init")));
    }

    #[test]
    fn the_setting_overrides_detection() {
        let objects = load_str("t.yaml", APP, &LoadOptions::default()).objects;
        let with = |cni| AdmissionSettings {
            cni,
            pod_security: None,
        };
        assert!(cni_enabled(&objects, &with(CniMode::On)));
        assert!(!cni_enabled(&objects, &with(CniMode::Off)));
        assert!(!cni_enabled(&objects, &with(CniMode::Auto)));
    }
}
