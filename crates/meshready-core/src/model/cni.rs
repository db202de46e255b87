//! Whether Istio CNI is on: the setting, or evidence in the input.

use rayon::prelude::*;

use super::Workload;
use crate::source::{Node, Object};

/// Whether Istio CNI is on, by the setting or, for `auto`, by [`detect_cni`].
#[must_use]
pub fn cni_enabled(objects: &[Object], settings: &crate::settings::AdmissionSettings) -> bool {
    match settings.cni {
        crate::settings::CniMode::On => true,
        crate::settings::CniMode::Off => false,
        crate::settings::CniMode::Auto => detect_cni(objects),
    }
}

/// Looks for evidence of Istio CNI in the input: the `istio-cni-node` DaemonSet, the injector
/// ConfigMap `istio-sidecar-injector[-<rev>]` with `pilot.cni.enabled` (older charts:
/// `istio_cni.enabled`) in its `values`, or an injected pod template whose init container is
/// `istio-validation`.
#[must_use]
pub fn detect_cni(objects: &[Object]) -> bool {
    // In parallel: without CNI every workload of the input is looked at.
    objects.par_iter().any(|o| match o.kind.as_str() {
        "DaemonSet" if o.name == "istio-cni-node" => true,
        "ConfigMap"
            if o.name == "istio-sidecar-injector"
                || o.name.starts_with("istio-sidecar-injector-") =>
        {
            injector_values_enable_cni(o)
        }
        _ => Workload::all(0, o).any(|w| {
            w.containers().any(|c| {
                c.name == crate::istio::ISTIO_VALIDATION && c.list.field() == "initContainers"
            })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{AdmissionSettings, CniMode};
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
