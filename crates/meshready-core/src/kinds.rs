//! Kinds the rules read and where each kind keeps its pod template (a leaf module: the loader,
//! the model and the rules all use it).

use crate::source::Object;

/// Kinds the model reads; everything else is counted and skipped.
#[must_use]
pub fn is_known_object(object: &Object) -> bool {
    is_known(&object.kind, &object.api_version)
}

/// Whether the rules read objects of this kind (see [`is_known_object`]).
#[must_use]
pub fn is_known(kind: &str, api_version: &str) -> bool {
    matches!(
        kind,
        "Service"
            | "Namespace"
            | "ConfigMap"
            | "ServiceAccount"
            | "Role"
            | "ClusterRole"
            | "RoleBinding"
            | "ClusterRoleBinding"
            | "PodSecurityPolicy"
            | "SecurityContextConstraints"
            | "Node"
    ) || template_pointer(kind, api_version).is_some()
}

/// Where a kind keeps its pod template (a JSON pointer), or `None` if it makes no pods.
#[must_use]
pub fn template_pointer(kind: &str, api_version: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "PodTemplate" => Some("/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some("/spec/template"),
        "DeploymentConfig"
            if api_version.starts_with("apps.openshift.io") || api_version == "v1" =>
        {
            Some("/spec/template")
        }
        "Rollout" if api_version.starts_with("argoproj.io") => Some("/spec/template"),
        _ => None,
    }
}
