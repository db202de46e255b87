//! Facts the running cluster reveals: whether the Istio CNI plugin is on, read from the init
//! container that the injector put into running pods (`istio-validation` with CNI, `istio-init`
//! without), or from the `istio-cni-node` DaemonSet when no injected pod runs.

use std::fmt;

use meshready_core::source::{Node, Object};

/// What the cluster says about the Istio CNI plugin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cni {
    /// Injected pods carry `istio-validation`: CNI sets up the redirection.
    On {
        /// Injected pods with `istio-validation`.
        pods: usize,
    },
    /// Injected pods carry `istio-init`, which needs NET_ADMIN and NET_RAW.
    Off {
        /// Injected pods with `istio-init`.
        pods: usize,
    },
    /// Some injected pods have one, some the other (a migration in progress).
    Mixed {
        /// Injected pods with `istio-validation`.
        validation: usize,
        /// Injected pods with `istio-init`.
        init: usize,
    },
    /// No injected pod runs, but the `istio-cni-node` DaemonSet does.
    DaemonSet,
}

impl Cni {
    /// Whether new injected pods will get `istio-validation` (None when the cluster is mixed).
    #[must_use]
    pub fn enabled(self) -> Option<bool> {
        match self {
            Self::On { .. } | Self::DaemonSet => Some(true),
            Self::Off { .. } => Some(false),
            Self::Mixed { .. } => None,
        }
    }
}

impl fmt::Display for Cni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match *self {
            Self::On { pods } => write!(
                f,
                "Istio CNI is on ({pods} injected pod{} use{} istio-validation)",
                plural(pods),
                if pods == 1 { "s" } else { "" }
            ),
            Self::Off { pods } => write!(
                f,
                "Istio CNI is off ({pods} injected pod{} use{} istio-init, which needs NET_ADMIN and NET_RAW)",
                plural(pods),
                if pods == 1 { "s" } else { "" }
            ),
            Self::Mixed { validation, init } => write!(
                f,
                "Istio CNI is mixed ({validation} injected pod{} use istio-validation, {init} use istio-init)",
                plural(validation)
            ),
            Self::DaemonSet => f.write_str("Istio CNI is on (DaemonSet istio-cni-node runs)"),
        }
    }
}

/// Detects the CNI plugin from running pods, then from the `istio-cni-node` DaemonSet.
#[must_use]
pub fn detect_cni(objects: &[Object]) -> Option<Cni> {
    let (mut validation, mut init) = (0, 0);
    for pod in objects.iter().filter(|o| o.kind == "Pod") {
        let names: Vec<&str> = pod
            .root
            .at(&["spec", "initContainers"])
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|c| c.get("name").and_then(Node::as_str))
            .collect();
        if names.contains(&"istio-validation") {
            validation += 1;
        } else if names.contains(&"istio-init") {
            init += 1;
        }
    }
    match (validation, init) {
        (0, 0) => objects
            .iter()
            .any(|o| o.kind == "DaemonSet" && o.name == "istio-cni-node")
            .then_some(Cni::DaemonSet),
        (pods, 0) => Some(Cni::On { pods }),
        (0, pods) => Some(Cni::Off { pods }),
        (validation, init) => Some(Cni::Mixed { validation, init }),
    }
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
    fn init_container_tells_cni() {
        assert_eq!(
            detect_cni(&pods("istio-validation")),
            Some(Cni::On { pods: 1 })
        );
        assert_eq!(detect_cni(&pods("istio-init")), Some(Cni::Off { pods: 1 }));
        assert_eq!(detect_cni(&pods("setup")), None);
        let mut both = pods("istio-validation");
        both.extend(pods("istio-init"));
        assert_eq!(
            detect_cni(&both),
            Some(Cni::Mixed {
                validation: 1,
                init: 1
            })
        );
        assert_eq!(detect_cni(&both).and_then(Cni::enabled), None);
    }
}
