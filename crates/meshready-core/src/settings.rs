//! Settings that change what the model concludes (`--mesh`, `--istio-cni`, `--pod-security`, ...):
//! plain data, owned here so that the model, admission and the rules share one definition.

use serde::{Deserialize, Serialize};

use crate::psa;

/// Settings that change what the model concludes.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--mesh`.
    pub mesh: MeshMode,
    /// Whether the objects come from a live cluster (pods are post-injection there).
    pub live: bool,
    /// Admission settings (`--istio-cni`, `--pod-security`).
    pub admission: AdmissionSettings,
}

/// `--mesh`: how to decide membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MeshMode {
    /// Istio's rules; namespaces the input does not describe are assumed to be in the mesh.
    #[default]
    Auto,
    /// Every workload is injected.
    All,
    /// Nothing is injected (pure Kubernetes checks).
    None,
}

/// `--istio-cni`: whether Istio's CNI plugin replaces the `istio-init` container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CniMode {
    /// CNI is on: the init container is `istio-validation`.
    On,
    /// CNI is off: the init container is `istio-init` (NET_ADMIN, NET_RAW).
    Off,
    /// Detect from the input (see `model::cni::detect_cni`).
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

/// How to run the rules.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Model settings (`--mesh`, live cluster).
    pub settings: Settings,
    /// `--suppress` patterns.
    pub suppress: Vec<crate::suppress::Pattern>,
    /// Whether `meshready.io/ignore` and `galley.istio.io/analyze-suppress` annotations count.
    pub annotation_suppression: bool,
    /// Per-rule settings by code (`.meshready.yaml` `rules:`); rules not listed run at their
    /// default severity.
    pub rule_settings: std::collections::HashMap<&'static str, RuleSetting>,
    /// Per-object ignores (`.meshready.yaml` `ignore:`).
    pub ignores: Vec<crate::suppress::Ignore>,
    /// `--scope`: which objects may relate to each other.
    pub scope: Scope,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            suppress: Vec::new(),
            annotation_suppression: true,
            rule_settings: std::collections::HashMap::new(),
            ignores: Vec::new(),
            scope: Scope::default(),
        }
    }
}

/// How a rule is configured (`.meshready.yaml` `rules:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSetting {
    /// The rule does not run.
    Off,
    /// The rule runs and reports at this severity instead of its default.
    Severity(crate::finding::Severity),
}

/// `--scope`: which objects may relate to each other (Services and pods, namespaces, RBAC,
/// PodSecurityPolicies and SCCs, platform and CNI detection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The whole input is one cluster.
    #[default]
    Cluster,
    /// The objects of each directory are one cluster (variants and overlays side by side).
    Directory,
    /// The objects of each file are one cluster.
    File,
}
