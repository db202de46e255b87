//! Facts the running cluster reveals. Whether the Istio CNI plugin is on is decided by the
//! core's own detection (`meshready_core::model::cni::detect_cni`, the same one the rules use);
//! this module adds the evidence from running pods: which init container the injector put into
//! them (`istio-validation` with CNI, `istio-init` without).

use std::fmt;

use meshready_core::model;
use meshready_core::settings::CniMode;
use meshready_core::source::{Node, Object};

/// What the cluster says about the Istio CNI plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cni {
    /// The core's decision (what the admission rules assume).
    pub enabled: bool,
    /// Whether `--istio-cni` (or the config's `istio-cni`) decided it rather than detection.
    pub configured: bool,
    /// Running injected pods whose init container is `istio-validation`.
    pub validation_pods: usize,
    /// Running injected pods whose init container is `istio-init` (NET_ADMIN, NET_RAW).
    pub init_pods: usize,
}

impl fmt::Display for Cni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Istio CNI is {}",
            if self.enabled { "on" } else { "off" }
        )?;
        let pods = |n: usize| {
            if n == 1 {
                "1 pod".to_string()
            } else {
                format!("{n} pods")
            }
        };
        if self.configured {
            return f.write_str(" (set by --istio-cni or the config file)");
        }
        match (self.validation_pods, self.init_pods) {
            (0, 0) if self.enabled => {
                f.write_str(" (the istio-cni-node DaemonSet or the injector's values)")
            }
            (0, 0) => f.write_str(" (no evidence of the CNI plugin)"),
            (v, 0) => write!(f, " (injected {} with istio-validation)", pods(v)),
            (0, i) => write!(
                f,
                " (injected {} with istio-init, which needs NET_ADMIN and NET_RAW)",
                pods(i)
            ),
            (v, i) => write!(
                f,
                " (mixed: injected {} with istio-validation, {} with istio-init)",
                pods(v),
                pods(i)
            ),
        }
    }
}

/// The CNI fact the rules act on: the `--istio-cni` setting, or for `auto` the detection and
/// its evidence ([`detect_cni`]).
#[must_use]
pub fn cni_note(objects: &[Object], mode: CniMode) -> Cni {
    match mode {
        CniMode::Auto => detect_cni(objects),
        CniMode::On | CniMode::Off => Cni {
            enabled: mode == CniMode::On,
            configured: true,
            validation_pods: 0,
            init_pods: 0,
        },
    }
}

/// The CNI fact for a cluster's objects.
#[must_use]
pub fn detect_cni(objects: &[Object]) -> Cni {
    let mut cni = Cni {
        enabled: model::cni::detect_cni(objects),
        configured: false,
        validation_pods: 0,
        init_pods: 0,
    };
    for pod in objects.iter().filter(|o| o.kind == "Pod") {
        let init: Vec<&str> = pod
            .root
            .at(&["spec", "initContainers"])
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.get("name").and_then(Node::as_str))
            .collect();
        if init.contains(&"istio-validation") {
            cni.validation_pods += pod.count();
        } else if init.contains(&"istio-init") {
            cni.init_pods += pod.count();
        }
    }
    cni
}

#[cfg(test)]
mod tests {
    use meshready_core::source::{LoadOptions, load_str};

    use super::*;

    fn pods(init: &str) -> Vec<Object> {
        let text = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  initContainers: [{{name: {init}}}]\n  containers: [{{name: app}}, {{name: istio-proxy}}]\n"
        );
        load_str("p.yaml", &text, &LoadOptions::default()).objects
    }

    #[test]
    fn init_containers_are_the_evidence() {
        let on = detect_cni(&pods("istio-validation"));
        assert!(on.enabled);
        assert_eq!(
            on.to_string(),
            "Istio CNI is on (injected 1 pod with istio-validation)"
        );
        let off = detect_cni(&pods("istio-init"));
        assert!(!off.enabled);
        assert!(
            off.to_string()
                .starts_with("Istio CNI is off (injected 1 pod with istio-init")
        );
        let none = detect_cni(&pods("setup"));
        assert_eq!(
            none.to_string(),
            "Istio CNI is off (no evidence of the CNI plugin)"
        );
    }
}
