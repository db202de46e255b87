//! The kinds `meshready cluster` reads: exactly these, never Secrets, never all ConfigMaps.

/// When a kind is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Always.
    Always,
    /// Only when the API server serves PodSecurityPolicies or OpenShift SCCs: RBAC objects and
    /// ServiceAccounts only decide which pod security policy a pod may `use`.
    WithPodSecurityPolicies,
}

/// A kind the cluster command lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// API group (`""` for the core group).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// The resource name in URLs.
    pub plural: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// When it is read.
    pub need: Need,
    /// The checks that cannot run without it (for the warning when RBAC forbids it).
    pub used_for: &'static str,
}

impl Kind {
    /// `apiVersion` of the kind's objects (`v1`, `apps/v1`).
    #[must_use]
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    need: Need,
    used_for: &'static str,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced,
        need,
        used_for,
    }
}

const WORKLOAD_CHECKS: &str = "every workload check (service association, ports, UIDs, labels, pod security) on these workloads";
const PSP_CHECKS: &str = "MR0010 capabilities-denied-by-psp and MR0013 capabilities-denied-by-scc (which policy a pod may use)";

/// Every kind read, in the order they are read. The injector ConfigMaps are fetched by name
/// separately (see [`INJECTOR_CONFIGMAP`]).
pub const KINDS: &[Kind] = &[
    kind(
        "",
        "v1",
        "Namespace",
        "namespaces",
        false,
        Need::Always,
        "namespace injection labels and Pod Security Admission levels (IST0102, IST0123, IST0103, MR0011, MR0012); every namespace is assumed to be in the mesh",
    ),
    kind(
        "",
        "v1",
        "Node",
        "nodes",
        false,
        Need::Always,
        "--native-sidecars auto (every node's kubelet must be 1.33 or newer); without Nodes the Kubernetes version decides",
    ),
    kind(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        false,
        Need::Always,
        "finding the Istio namespace and revisions of the sidecar injector",
    ),
    kind(
        "policy",
        "v1beta1",
        "PodSecurityPolicy",
        "podsecuritypolicies",
        false,
        Need::Always,
        PSP_CHECKS,
    ),
    kind(
        "security.openshift.io",
        "v1",
        "SecurityContextConstraints",
        "securitycontextconstraints",
        false,
        Need::Always,
        PSP_CHECKS,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        Need::WithPodSecurityPolicies,
        PSP_CHECKS,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        Need::WithPodSecurityPolicies,
        PSP_CHECKS,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        Need::WithPodSecurityPolicies,
        PSP_CHECKS,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        Need::WithPodSecurityPolicies,
        PSP_CHECKS,
    ),
    kind(
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        true,
        Need::WithPodSecurityPolicies,
        PSP_CHECKS,
    ),
    kind(
        "",
        "v1",
        "Service",
        "services",
        true,
        Need::Always,
        "every Service check (IST0117, IST0116, MR0001, IST0137, IST0118, IST0150); workloads look unselected",
    ),
    kind(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "",
        "v1",
        "ReplicationController",
        "replicationcontrollers",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "batch",
        "v1",
        "Job",
        "jobs",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        true,
        Need::Always,
        WORKLOAD_CHECKS,
    ),
    kind(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        Need::Always,
        "MR0042 hbone-blocked-by-network-policy and MR0043 probes-blocked-by-network-policy (ambient)",
    ),
    kind(
        "",
        "v1",
        "Pod",
        "pods",
        true,
        Need::Always,
        "IST0103 pod-missing-proxy, Istio CNI detection, and checks on Pods without an owner",
    ),
];

/// The ConfigMap kind, read only by name.
pub const CONFIGMAP: Kind = kind(
    "",
    "v1",
    "ConfigMap",
    "configmaps",
    true,
    Need::Always,
    "reading the sidecar injector's settings (enableNamespacesByDefault, CNI)",
);

/// The name of the injector ConfigMap (revisioned ones add `-<revision>`).
pub const INJECTOR_CONFIGMAP: &str = "istio-sidecar-injector";

/// The namespace Istio is installed in when no injector webhook names another.
pub const DEFAULT_ISTIO_NAMESPACE: &str = "istio-system";

/// Whether the rules read only the metadata of `kind`'s objects, so that lists ask the API
/// server for `PartialObjectMetadata` (Namespaces: their labels).
#[must_use]
pub fn metadata_only(kind: &Kind) -> bool {
    kind.kind == "Namespace"
}
