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
    /// The injected pod's model (versions, platform, native sidecars, interception).
    pub inject: InjectSettings,
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

/// The oldest Istio minor version (1.N) meshready models.
pub const OLDEST_ISTIO_MINOR: u32 = 20;
/// The newest Istio minor version (1.N) meshready models; the default.
pub const NEWEST_ISTIO_MINOR: u32 = 31;
/// The oldest Kubernetes minor version (1.N) meshready models.
pub const OLDEST_KUBERNETES_MINOR: u32 = 20;
/// The newest Kubernetes minor version (1.N) meshready models; the default.
pub const NEWEST_KUBERNETES_MINOR: u32 = crate::psa::LATEST_MINOR;

/// Settings of the injected pod's model: versions, platform and the injector's mesh-wide
/// options (`--istio-version`, `--kubernetes-version`, `--native-sidecars`, `--platform`,
/// `--interception-mode`, `--hold-application-until-proxy-starts`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectSettings {
    /// `--istio-version 1.N` (the minor N); `None`: detect from the input, else the newest.
    pub istio_version: Option<u32>,
    /// `--kubernetes-version 1.N` (the minor N); `None`: the newest.
    pub kubernetes_version: Option<u32>,
    /// `--native-sidecars`.
    pub native_sidecars: NativeSidecars,
    /// `--platform`.
    pub platform: Platform,
    /// `--interception-mode`: the mesh-wide `defaultConfig.interceptionMode`.
    pub interception: InterceptionMode,
    /// `--hold-application-until-proxy-starts`: `values.global.proxy.holdApplicationUntilProxyStarts`.
    pub hold_application_until_proxy_starts: bool,
}

/// `--native-sidecars` (Istio's `ENABLE_NATIVE_SIDECARS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NativeSidecars {
    /// `istio-proxy` is an init container with `restartPolicy: Always`.
    On,
    /// `istio-proxy` is a regular container.
    Off,
    /// Istio ≥ 1.27 and every Node of the input at kubelet ≥ 1.33 (no Nodes: the Kubernetes
    /// version).
    #[default]
    Auto,
}

/// `--platform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Platform {
    /// Plain Kubernetes: the proxy runs as 1337.
    Kubernetes,
    /// OpenShift: the proxy's UID/GID come from the namespace's `openshift.io/sa.scc.*` ranges.
    OpenShift,
    /// OpenShift when the input has SCCs or Namespaces with `openshift.io/sa.scc.*` annotations.
    #[default]
    Auto,
}

/// `--interception-mode`: how the sidecar captures traffic, mesh-wide (pods may override it
/// with `sidecar.istio.io/interceptionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InterceptionMode {
    /// iptables REDIRECT (Istio's default).
    #[default]
    Redirect,
    /// TPROXY: the proxy runs as root with NET_ADMIN.
    Tproxy,
}
