//! Kinds the rules read and where each kind keeps its pod templates (a leaf module: the loader,
//! the model and the rules all use it).
//!
//! [`POD_TEMPLATES`] is the one table of kinds that make pods. Template paths are JSON pointers
//! in which a `*` token stands for every item of a list or every entry of a mapping (a JobSet's
//! `replicatedJobs`, a RayCluster's `workerGroupSpecs`, a PyTorchJob's replica specs by role).
//! The loader expands them once per object into [`crate::source::Object::templates`]; the
//! config file's `pod-templates:` adds entries at run time ([`LoadOptions::pod_templates`]).
//!
//! [`LoadOptions::pod_templates`]: crate::source::LoadOptions::pod_templates

use crate::source::{Node, Object, Value, node::escape};

/// A kind that makes pods and the pointers of its pod templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinTemplates {
    /// `kind`.
    pub kind: &'static str,
    /// API groups the kind is recognised in (`""` is the core group); empty: any group.
    pub groups: &'static [&'static str],
    /// Template pointers (`""` is the object itself: a Pod).
    pub paths: &'static [&'static str],
    /// Whether the operator creates Services that select these pods (headless Services for
    /// pod DNS, a Ray head Service, Knative's revision Services), so that no manifest has them.
    pub operator_services: bool,
}

const fn entry(
    kind: &'static str,
    groups: &'static [&'static str],
    paths: &'static [&'static str],
) -> BuiltinTemplates {
    BuiltinTemplates {
        kind,
        groups,
        paths,
        operator_services: false,
    }
}

/// An operator's kind (see [`BuiltinTemplates::operator_services`]).
const fn operator(
    kind: &'static str,
    groups: &'static [&'static str],
    paths: &'static [&'static str],
) -> BuiltinTemplates {
    BuiltinTemplates {
        operator_services: true,
        ..entry(kind, groups, paths)
    }
}

const SPEC_TEMPLATE: &[&str] = &["/spec/template"];
const RAY_CLUSTER: &[&str] = &[
    "/spec/headGroupSpec/template",
    "/spec/workerGroupSpecs/*/template",
];

/// Every kind that makes pods, with where its pod templates are (SPEC 3.3 and issue 14).
pub static POD_TEMPLATES: &[BuiltinTemplates] = &[
    entry("Pod", &[], &[""]),
    entry("PodTemplate", &[], &["/template"]),
    entry("Deployment", &[], SPEC_TEMPLATE),
    entry("StatefulSet", &[], SPEC_TEMPLATE),
    entry("DaemonSet", &[], SPEC_TEMPLATE),
    entry("ReplicaSet", &[], SPEC_TEMPLATE),
    entry("ReplicationController", &[], SPEC_TEMPLATE),
    entry("Job", &[], SPEC_TEMPLATE),
    entry("CronJob", &[], &["/spec/jobTemplate/spec/template"]),
    entry(
        "DeploymentConfig",
        &["apps.openshift.io", ""],
        SPEC_TEMPLATE,
    ),
    entry("Rollout", &["argoproj.io"], SPEC_TEMPLATE),
    // Operators' workloads.
    operator(
        "JobSet",
        &["jobset.x-k8s.io"],
        &["/spec/replicatedJobs/*/template/spec/template"],
    ),
    operator(
        "LeaderWorkerSet",
        &["leaderworkerset.x-k8s.io"],
        &[
            "/spec/leaderWorkerTemplate/leaderTemplate",
            "/spec/leaderWorkerTemplate/workerTemplate",
        ],
    ),
    operator("RayCluster", &["ray.io"], RAY_CLUSTER),
    operator(
        "RayJob",
        &["ray.io"],
        &[
            "/spec/rayClusterSpec/headGroupSpec/template",
            "/spec/rayClusterSpec/workerGroupSpecs/*/template",
            "/spec/submitterPodTemplate",
        ],
    ),
    operator(
        "RayService",
        &["ray.io"],
        &[
            "/spec/rayClusterConfig/headGroupSpec/template",
            "/spec/rayClusterConfig/workerGroupSpecs/*/template",
        ],
    ),
    operator(
        "MPIJob",
        &["kubeflow.org"],
        &["/spec/mpiReplicaSpecs/*/template"],
    ),
    operator(
        "PyTorchJob",
        &["kubeflow.org"],
        &["/spec/pytorchReplicaSpecs/*/template"],
    ),
    operator(
        "TFJob",
        &["kubeflow.org"],
        &["/spec/tfReplicaSpecs/*/template"],
    ),
    operator(
        "XGBoostJob",
        &["kubeflow.org"],
        &["/spec/xgbReplicaSpecs/*/template"],
    ),
    operator(
        "PaddleJob",
        &["kubeflow.org"],
        &["/spec/paddleReplicaSpecs/*/template"],
    ),
    operator(
        "JAXJob",
        &["kubeflow.org"],
        &["/spec/jaxReplicaSpecs/*/template"],
    ),
    // A Knative Service (not the core Service: another group) and its Configuration.
    operator("Service", &["serving.knative.dev"], SPEC_TEMPLATE),
    operator("Configuration", &["serving.knative.dev"], SPEC_TEMPLATE),
];

/// A pod template path added at run time (`.meshready.yaml` `pod-templates:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraTemplate {
    /// `kind`.
    pub kind: String,
    /// `apiVersion` (`group/version`), or only the group; `None`: any.
    pub api_version: Option<String>,
    /// The template's JSON pointer, `*` for every item or entry.
    pub path: String,
}

impl ExtraTemplate {
    fn matches(&self, kind: &str, api_version: &str) -> bool {
        self.kind == kind
            && self
                .api_version
                .as_deref()
                .is_none_or(|v| v == api_version || v == group(api_version))
    }
}

/// The API group of an `apiVersion` (`""` for the core group's `v1`).
#[must_use]
pub fn group(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// The built-in entry of a kind, if it makes pods.
#[must_use]
pub fn builtin(kind: &str, api_version: &str) -> Option<&'static BuiltinTemplates> {
    POD_TEMPLATES
        .iter()
        .find(|e| e.kind == kind && (e.groups.is_empty() || e.groups.contains(&group(api_version))))
}

/// Whether objects of this kind make pods: the table, then the run-time additions.
#[must_use]
pub fn makes_pods(kind: &str, api_version: &str, extra: &[ExtraTemplate]) -> bool {
    builtin(kind, api_version).is_some() || extra.iter().any(|e| e.matches(kind, api_version))
}

/// Kinds the model reads; everything else is counted and skipped.
#[must_use]
pub fn is_known_object(object: &Object) -> bool {
    is_known_resource(&object.kind, &object.api_version) || object.templates.is_some()
}

/// Whether the rules read objects of this kind (built-in kinds; see [`is_known_object`] for
/// kinds added by the config file).
#[must_use]
pub fn is_known(kind: &str, api_version: &str) -> bool {
    is_known_resource(kind, api_version) || builtin(kind, api_version).is_some()
}

fn is_known_resource(kind: &str, api_version: &str) -> bool {
    match kind {
        // A Knative Service is a workload, not a core Service.
        "Service" => group(api_version).is_empty(),
        "Namespace"
        | "ConfigMap"
        | "ServiceAccount"
        | "Role"
        | "ClusterRole"
        | "RoleBinding"
        | "ClusterRoleBinding"
        | "PodSecurityPolicy"
        | "SecurityContextConstraints"
        | "NetworkPolicy"
        | "Node" => true,
        _ => false,
    }
}

/// Where a built-in kind keeps its first pod template, or `None` if it makes no pods. Prefer
/// [`Object::templates`], which has every template of the object (also those of run-time
/// kinds).
#[must_use]
pub fn template_pointer(kind: &str, api_version: &str) -> Option<&'static str> {
    builtin(kind, api_version).and_then(|e| e.paths.first().copied())
}

/// The pod templates of an object (expanded pointers of the templates that exist), or `None`
/// when its kind makes no pods.
#[must_use]
pub fn templates_of(
    root: &Node,
    kind: &str,
    api_version: &str,
    extra: &[ExtraTemplate],
) -> Option<Vec<String>> {
    let builtin = builtin(kind, api_version);
    let extra: Vec<&str> = extra
        .iter()
        .filter(|e| e.matches(kind, api_version))
        .map(|e| e.path.as_str())
        .collect();
    if builtin.is_none() && extra.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for path in builtin
        .map(|b| b.paths)
        .unwrap_or_default()
        .iter()
        .copied()
        .chain(extra)
    {
        expand(root, path, &mut out);
    }
    // A run-time path may repeat a built-in one.
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Some(out)
}

/// Expands `*` tokens of `pattern` against `root`, pushing the pointers of existing mappings.
fn expand(root: &Node, pattern: &str, out: &mut Vec<String>) {
    if pattern.is_empty() {
        if root.is_map() {
            out.push(String::new());
        }
        return;
    }
    let tokens: Vec<&str> = pattern.split('/').skip(1).collect();
    walk(root, &tokens, &mut String::new(), out);
}

fn walk(node: &Node, tokens: &[&str], prefix: &mut String, out: &mut Vec<String>) {
    let Some((token, rest)) = tokens.split_first() else {
        if node.is_map() {
            out.push(prefix.clone());
        }
        return;
    };
    let len = prefix.len();
    match (&node.value, *token) {
        (Value::Seq(items), "*") => {
            for (i, item) in items.iter().enumerate() {
                prefix.push('/');
                prefix.push_str(&i.to_string());
                walk(item, rest, prefix, out);
                prefix.truncate(len);
            }
        }
        (Value::Map(entries), "*") => {
            for e in entries {
                prefix.push('/');
                prefix.push_str(&escape(&e.key));
                walk(&e.value, rest, prefix, out);
                prefix.truncate(len);
            }
        }
        _ => {
            if let Some(next) = node.pointer(&format!("/{token}")) {
                prefix.push('/');
                prefix.push_str(token);
                walk(next, rest, prefix, out);
                prefix.truncate(len);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    fn templates(text: &str, extra: Vec<ExtraTemplate>) -> Option<Vec<String>> {
        let options = LoadOptions {
            pod_templates: extra,
            ..LoadOptions::default()
        };
        let loaded = load_str("x.yaml", text, &options);
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        loaded.objects[0].templates.clone()
    }

    #[test]
    fn wildcards_expand_over_lists_and_mappings() {
        let ray = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: r}\nspec:\n  headGroupSpec: {template: {spec: {containers: [{name: a}]}}}\n  workerGroupSpecs:\n  - template: {spec: {containers: [{name: b}]}}\n  - groupName: empty\n  - template: {spec: {containers: [{name: c}]}}\n";
        assert_eq!(
            templates(ray, vec![]).unwrap(),
            [
                "/spec/headGroupSpec/template",
                "/spec/workerGroupSpecs/0/template",
                "/spec/workerGroupSpecs/2/template"
            ]
        );
        let mpi = "apiVersion: kubeflow.org/v2beta1\nkind: MPIJob\nmetadata: {name: m}\nspec:\n  mpiReplicaSpecs:\n    Launcher: {template: {spec: {}}}\n    Worker: {template: {spec: {}}}\n";
        assert_eq!(
            templates(mpi, vec![]).unwrap(),
            [
                "/spec/mpiReplicaSpecs/Launcher/template",
                "/spec/mpiReplicaSpecs/Worker/template"
            ]
        );
    }

    #[test]
    fn groups_decide_and_extras_add_kinds() {
        let core = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {template: {}}\n";
        assert_eq!(templates(core, vec![]), None);
        let knative = "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: s}\nspec: {template: {spec: {containers: []}}}\n";
        assert_eq!(templates(knative, vec![]).unwrap(), ["/spec/template"]);
        let custom = "apiVersion: example.com/v1\nkind: Thing\nmetadata: {name: t}\nspec: {pods: [{tpl: {}}, {tpl: {}}]}\n";
        assert_eq!(templates(custom, vec![]), None);
        let extra = |api: Option<&str>| {
            vec![ExtraTemplate {
                kind: "Thing".into(),
                api_version: api.map(Into::into),
                path: "/spec/pods/*/tpl".into(),
            }]
        };
        assert_eq!(
            templates(custom, extra(Some("example.com"))).unwrap(),
            ["/spec/pods/0/tpl", "/spec/pods/1/tpl"]
        );
        assert_eq!(templates(custom, extra(Some("other.io/v1"))), None);
        assert_eq!(templates(custom, extra(None)).unwrap().len(), 2);
    }

    #[test]
    fn operator_pods_are_checked_at_their_template() {
        let text = "apiVersion: ray.io/v1\nkind: RayCluster\nmetadata: {name: r, namespace: ml}\nspec:\n  headGroupSpec:\n    template:\n      metadata: {labels: {app: r, version: v1}}\n      spec: {containers: [{name: head, image: ray}]}\n  workerGroupSpecs:\n  - template:\n      metadata: {labels: {app: r, version: v1}}\n      spec:\n        containers:\n        - name: worker\n          image: ray\n          securityContext: {runAsUser: 1337}\n---\napiVersion: jobset.x-k8s.io/v1alpha2\nkind: JobSet\nmetadata: {name: j, namespace: ml}\nspec:\n  replicatedJobs:\n  - name: w\n    template:\n      spec:\n        template:\n          metadata: {labels: {app: j, version: v1}}\n          spec: {containers: [{name: a, image: a, ports: [{containerPort: 15001}]}]}\n";
        let loaded = load_str("ops.yaml", text, &LoadOptions::default());
        let report = crate::check(&loaded, &crate::CheckOptions::default());
        let found: Vec<(String, String, String)> = report
            .findings
            .iter()
            .filter(|f| matches!(f.code, "IST0144" | "MR0002"))
            .map(|f| (f.code.to_string(), f.object.to_string(), f.path.clone()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    "IST0144".to_string(),
                    "RayCluster ml/r".to_string(),
                    "/spec/workerGroupSpecs/0/template/spec/containers/0/securityContext/runAsUser"
                        .to_string()
                ),
                (
                    "MR0002".to_string(),
                    "JobSet ml/j".to_string(),
                    "/spec/replicatedJobs/0/template/spec/template/spec/containers/0/ports/0/containerPort"
                        .to_string()
                ),
            ]
        );
        assert_eq!(report.summary.workloads, 3);
        assert_eq!(report.summary.analysed, 2);
    }
}
