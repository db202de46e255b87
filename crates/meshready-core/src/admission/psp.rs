//! PodSecurityPolicy admission of the injected pod: usable PSPs and whether one admits Istio's containers.
//!
//! A PSP is usable when RBAC lets the pod's ServiceAccount or the controller that creates the
//! pod `use` it; it admits the pod when Istio's injected containers validate against it in the
//! post-injection (validating, non-mutating) pass.
//!
//! Semantics: reference/k8s-semantics.md §2. PSPs are read as plain objects (`policy/v1beta1`,
//! `extensions/v1beta1`, and the `policy/v1` of Istio's sample), since PSP is gone from current
//! Kubernetes APIs.

use super::policy::{
    self, AdmissionPolicy, Capabilities, ContainerSecurity, check_read_only_root, sa_or_controller,
};
use super::rbac::{Grant, Identity, Rbac, Request};
use crate::model::Workload;
use crate::source::{Node, Object};

/// The UID istio-init runs as.
const ROOT: i64 = 0;

/// A PSP `runAsUser` / `runAsGroup` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRule {
    /// `RunAsAny` (or absent).
    Any,
    /// `MustRunAsNonRoot` (users only).
    NonRoot,
    /// `MustRunAs` with ranges (inclusive).
    MustRunAs(Vec<(i64, i64)>),
    /// `MayRunAs` with ranges (groups only: an unset group is fine).
    MayRunAs(Vec<(i64, i64)>),
}

impl IdRule {
    fn from_node(node: Option<&Node>) -> Self {
        let Some(node) = node else {
            return Self::Any;
        };
        let ranges = || {
            node.get("ranges")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("min").and_then(Node::as_i64)?,
                        r.get("max").and_then(Node::as_i64)?,
                    ))
                })
                .collect()
        };
        match node.get("rule").and_then(Node::as_str) {
            Some("MustRunAsNonRoot") => Self::NonRoot,
            Some("MustRunAs") => Self::MustRunAs(ranges()),
            Some("MayRunAs") => Self::MayRunAs(ranges()),
            _ => Self::Any,
        }
    }
}

fn format_ranges(ranges: &[(i64, i64)]) -> String {
    ranges
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks an ID against a range rule; `what` is `UID` or `GID`, `field` the PSP field.
fn check_ranges(
    field: &str,
    what: &str,
    ranges: &[(i64, i64)],
    id: Option<i64>,
    required: bool,
    container: &str,
    out: &mut Vec<String>,
) {
    match id {
        None if required => out.push(format!(
            "{field} MustRunAs needs `{container}` to set a {what} in {}",
            format_ranges(ranges)
        )),
        None => {}
        Some(id) if ranges.iter().any(|(a, b)| (*a..=*b).contains(&id)) => {}
        Some(id) => out.push(format!(
            "{field} ranges {} exclude `{container}`'s {what} {id}",
            format_ranges(ranges)
        )),
    }
}

/// A PodSecurityPolicy, as far as admission of Istio's containers is concerned.
#[derive(Debug, Clone)]
pub struct Psp<'a> {
    /// The object.
    pub object: &'a Object,
    /// `metadata.name`.
    pub name: &'a str,
    /// Capability fields.
    pub capabilities: Capabilities,
    /// `privileged`.
    pub privileged: bool,
    /// `allowPrivilegeEscalation` (absent = allowed).
    pub allow_privilege_escalation: bool,
    /// `runAsUser`.
    pub run_as_user: IdRule,
    /// `runAsGroup`.
    pub run_as_group: IdRule,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: bool,
}

impl<'a> Psp<'a> {
    /// Reads a PodSecurityPolicy object (any `policy/*` or `extensions/*` version).
    #[must_use]
    pub fn from_object(object: &'a Object) -> Option<Self> {
        if !is_psp(object) {
            return None;
        }
        let spec = object
            .root
            .get("spec")
            .unwrap_or(&crate::source::node::NULL);
        let flag = |key: &str| spec.get(key).and_then(Node::as_bool);
        Some(Self {
            object,
            name: &object.name,
            capabilities: Capabilities::from_node(spec),
            privileged: flag("privileged") == Some(true),
            allow_privilege_escalation: flag("allowPrivilegeEscalation") != Some(false),
            run_as_user: IdRule::from_node(spec.get("runAsUser")),
            run_as_group: IdRule::from_node(spec.get("runAsGroup")),
            read_only_root_filesystem: flag("readOnlyRootFilesystem") == Some(true),
        })
    }

    /// Every PSP of the input, sorted by name as admission tries them (the last of duplicates
    /// wins).
    #[must_use]
    pub fn all(objects: &'a [Object]) -> Vec<Self> {
        let mut psps: Vec<Self> = Vec::new();
        for psp in objects.iter().filter_map(Self::from_object) {
            if let Some(existing) = psps.iter_mut().find(|p| p.name == psp.name) {
                *existing = psp;
            } else {
                psps.push(psp);
            }
        }
        psps.sort_by(|a, b| a.name.cmp(b.name));
        psps
    }
}

impl AdmissionPolicy for Psp<'_> {
    fn name(&self) -> &str {
        self.name
    }

    /// Capabilities, `privileged`, `allowPrivilegeEscalation`, `runAsUser`, `runAsGroup`,
    /// `readOnlyRootFilesystem`.
    fn violations(&self, c: &ContainerSecurity) -> Vec<String> {
        let mut out = self.capabilities.violations_with_privilege(
            c,
            "privileged",
            self.privileged,
            self.allow_privilege_escalation,
        );
        match &self.run_as_user {
            IdRule::Any | IdRule::MayRunAs(_) => {}
            IdRule::NonRoot => {
                if c.run_as_non_root == Some(false) {
                    out.push(format!(
                        "runAsUser MustRunAsNonRoot rejects `{}`'s runAsNonRoot: false",
                        c.name
                    ));
                } else if c.run_as_user == Some(ROOT) {
                    out.push(format!(
                        "runAsUser MustRunAsNonRoot rejects `{}`'s UID 0",
                        c.name
                    ));
                } else if c.run_as_user.is_none() && c.run_as_non_root.is_none() {
                    out.push(format!(
                        "runAsUser MustRunAsNonRoot needs `{}` to set runAsNonRoot",
                        c.name
                    ));
                }
            }
            IdRule::MustRunAs(ranges) => {
                check_ranges(
                    "runAsUser",
                    "UID",
                    ranges,
                    c.run_as_user,
                    true,
                    &c.name,
                    &mut out,
                );
            }
        }
        match &self.run_as_group {
            IdRule::Any | IdRule::NonRoot => {}
            IdRule::MustRunAs(ranges) => {
                check_ranges(
                    "runAsGroup",
                    "GID",
                    ranges,
                    c.run_as_group,
                    true,
                    &c.name,
                    &mut out,
                );
            }
            IdRule::MayRunAs(ranges) => {
                check_ranges(
                    "runAsGroup",
                    "GID",
                    ranges,
                    c.run_as_group,
                    false,
                    &c.name,
                    &mut out,
                );
            }
        }
        check_read_only_root(self.read_only_root_filesystem, c, &mut out);
        out
    }

    /// RBAC `use` in API group `policy` or `extensions` (admission accepts either).
    fn usable_via(&self, rbac: &Rbac, identity: &Identity, namespace: &str) -> Option<String> {
        grant_phrase(rbac, identity, namespace, self.name)
    }
}

/// Whether an object is a PodSecurityPolicy.
#[must_use]
pub fn is_psp(object: &Object) -> bool {
    object.kind == "PodSecurityPolicy"
        && (object.api_version.starts_with("policy/")
            || object.api_version.starts_with("extensions/"))
}

/// The identity of the controller that creates the pods of a workload kind, as the
/// controller-manager runs with `--use-service-account-credentials` (a real token: it is also
/// in `system:authenticated`). `None` for bare Pods (the requesting user is unknown offline).
#[must_use]
pub fn requesting_controller(kind: &str) -> Option<Identity> {
    let name = match kind {
        "Deployment" | "ReplicaSet" | "Rollout" => "replicaset-controller",
        "StatefulSet" => "statefulset-controller",
        "DaemonSet" => "daemon-set-controller",
        "Job" | "CronJob" => "job-controller",
        "ReplicationController" | "DeploymentConfig" => "replication-controller",
        _ => return None,
    };
    let mut identity = Identity::service_account("kube-system", name);
    identity.groups.push("system:authenticated".into());
    Some(identity)
}

/// Who creates the pods of a workload kind: its controller (see [`requesting_controller`]),
/// or, for bare Pods, a user unknown offline of whom only the group `system:authenticated` is
/// certain (user name `""`).
#[must_use]
pub fn requester(kind: &str) -> Identity {
    requesting_controller(kind).unwrap_or_else(|| Identity::new("", &["system:authenticated"]))
}

/// The RBAC grant that lets `identity` `use` PSP `name` in `namespace`, in API group `policy`
/// or `extensions` (admission accepts either).
#[must_use]
pub fn use_grant<'r>(
    rbac: &'r Rbac,
    identity: &Identity,
    namespace: &str,
    name: &str,
) -> Option<Grant<'r>> {
    ["policy", "extensions"].iter().find_map(|group| {
        rbac.grant(
            identity,
            &Request::use_of(namespace, group, "podsecuritypolicies", name),
        )
    })
}

/// One PSP considered for a pod.
pub type Candidate<'p, 'a> = policy::Candidate<'p, Psp<'a>>;

/// PSP admission of one pod's injected containers (candidates sorted by name).
pub type Verdict<'p, 'a> = policy::Verdict<'p, Psp<'a>>;

/// How a pod in `namespace` with ServiceAccount `service_account`, created by `controller` (see
/// [`requesting_controller`]), may use PSP `name`: the ServiceAccount's grant, else the
/// controller's. `None`: it may not.
#[must_use]
pub fn usable_via(
    rbac: &Rbac,
    name: &str,
    namespace: &str,
    service_account: &Identity,
    controller: Option<&Identity>,
) -> Option<String> {
    sa_or_controller(service_account, controller, |identity| {
        grant_phrase(rbac, identity, namespace, name)
    })
}

/// How `identity` may use PSP `name` in `namespace`: the RBAC grant, noting API group
/// `extensions`.
fn grant_phrase(rbac: &Rbac, identity: &Identity, namespace: &str, name: &str) -> Option<String> {
    ["policy", "extensions"].iter().find_map(|group| {
        let grant = rbac.grant(
            identity,
            &Request::use_of(namespace, group, "podsecuritypolicies", name),
        )?;
        // `kubectl auth can-i use psp/NAME` asks about `policy` only: say when the grant is in
        // `extensions`, which admission also accepts.
        Some(if *group == "extensions" {
            format!("{grant}, in API group extensions")
        } else {
            grant.to_string()
        })
    })
}

/// The Istio containers of a workload's pod as admission sees it: those of the injected pod
/// the model builds ([`super::inject`]), or of the template as it is when it is already
/// injected. Empty when none of them needs more than an ordinary container (no added
/// capability, no root): with Istio CNI and REDIRECT interception, PSPs and SCCs treat the
/// sidecar like the application.
#[must_use]
pub fn istio_containers(
    model: &crate::model::Model<'_>,
    w: &Workload<'_>,
) -> Vec<ContainerSecurity> {
    let injected = super::inject::injected_spec(model, w);
    let spec = injected.as_ref().unwrap_or(w.spec);
    let containers: Vec<ContainerSecurity> = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| spec.get(list).map(Node::items).unwrap_or_default())
        .filter(|c| {
            c.get("name")
                .and_then(Node::as_str)
                .is_some_and(crate::istio::is_injected_container)
        })
        .map(|c| ContainerSecurity::from_container(c, spec))
        .collect();
    if containers
        .iter()
        .any(|c| !c.add.is_empty() || c.run_as_user == Some(ROOT) || c.privileged)
    {
        containers
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::policy::{evaluate, requester_phrase};
    use crate::source::{LoadOptions, load_str};

    fn load(yaml: &str) -> crate::source::Loaded {
        let loaded = load_str("psp.yaml", yaml, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        loaded
    }

    fn psp(spec: &str) -> String {
        format!(
            "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {{name: p}}\nspec: {spec}\n"
        )
    }

    fn violations(spec: &str) -> Vec<String> {
        let loaded = load(&psp(spec));
        let psps = Psp::all(&loaded.objects);
        psps[0].violations(&ContainerSecurity::istio_init())
    }

    #[test]
    fn net_admin_and_net_raw_must_be_allowed_or_default_added() {
        assert!(violations("{allowedCapabilities: [NET_ADMIN, NET_RAW]}").is_empty());
        assert!(violations("{allowedCapabilities: ['*']}").is_empty());
        assert!(violations("{defaultAddCapabilities: [NET_ADMIN, NET_RAW]}").is_empty());
        assert!(
            violations("{allowedCapabilities: [NET_ADMIN], defaultAddCapabilities: [NET_RAW]}")
                .is_empty()
        );
        assert_eq!(
            violations("{allowedCapabilities: [NET_ADMIN]}"),
            ["allowedCapabilities lacks NET_RAW (added by `istio-init`)"]
        );
        // Exact strings: no CAP_ prefix folding, no case folding.
        assert_eq!(
            violations("{allowedCapabilities: [CAP_NET_ADMIN, net_raw]}"),
            ["allowedCapabilities lacks NET_ADMIN, NET_RAW (added by `istio-init`)"]
        );
    }

    #[test]
    fn required_drops_must_be_literal() {
        assert_eq!(
            violations(
                "{allowedCapabilities: [NET_ADMIN, NET_RAW], requiredDropCapabilities: [NET_RAW]}"
            ),
            [
                "requiredDropCapabilities needs `istio-init` to drop NET_RAW literally (`ALL` does not count)"
            ]
        );
        assert!(
            violations(
                "{allowedCapabilities: [NET_ADMIN, NET_RAW], requiredDropCapabilities: [ALL]}"
            )
            .is_empty()
        );
    }

    #[test]
    fn default_adds_beyond_istio_init_would_mutate_it() {
        assert_eq!(
            violations("{allowedCapabilities: ['*'], defaultAddCapabilities: [SYS_TIME]}"),
            [
                "defaultAddCapabilities would add SYS_TIME to `istio-init` after injection, which admission's validating pass does not allow"
            ]
        );
    }

    #[test]
    fn uid_zero_and_read_only_root() {
        assert_eq!(
            violations("{allowedCapabilities: ['*'], runAsUser: {rule: MustRunAsNonRoot}}"),
            ["runAsUser MustRunAsNonRoot rejects `istio-init`'s runAsNonRoot: false"]
        );
        assert_eq!(
            violations(
                "{allowedCapabilities: ['*'], runAsUser: {rule: MustRunAs, ranges: [{min: 1, max: 65535}]}}"
            ),
            ["runAsUser ranges 1-65535 exclude `istio-init`'s UID 0"]
        );
        assert!(violations("{allowedCapabilities: ['*'], runAsUser: {rule: MustRunAs, ranges: [{min: 0, max: 0}]}}").is_empty());
        assert_eq!(
            violations(
                "{allowedCapabilities: ['*'], runAsGroup: {rule: MayRunAs, ranges: [{min: 1, max: 9}]}}"
            ),
            ["runAsGroup ranges 1-9 exclude `istio-init`'s GID 0"]
        );
        assert_eq!(
            violations("{allowedCapabilities: ['*'], readOnlyRootFilesystem: true}"),
            ["readOnlyRootFilesystem: true rejects `istio-init`'s writable root filesystem"]
        );
        assert!(
            violations(
                "{allowedCapabilities: ['*'], privileged: false, allowPrivilegeEscalation: false}"
            )
            .is_empty()
        );
    }

    #[test]
    fn container_security_reads_pod_defaults() {
        let loaded = load(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  securityContext: {runAsUser: 5, runAsNonRoot: true}\n  containers:\n  - name: c\n    securityContext:\n      runAsUser: 0\n      capabilities: {add: [NET_ADMIN], drop: [ALL]}\n",
        );
        let spec = loaded.objects[0].root.get("spec").unwrap();
        let c =
            ContainerSecurity::from_container(&spec.get("containers").unwrap().items()[0], spec);
        assert_eq!(c.run_as_user, Some(0));
        assert_eq!(c.run_as_non_root, Some(true));
        assert_eq!(c.add, ["NET_ADMIN"]);
        assert_eq!(c.drop, ["ALL"]);
    }

    #[test]
    fn usable_through_the_namespace_group_or_the_controller() {
        let loaded = load(&format!(
            "{}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: use-p}}
rules:
- {{apiGroups: [extensions], resources: [podsecuritypolicies], verbs: [use], resourceNames: [p]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: shop-sas, namespace: shop}}
roleRef: {{kind: ClusterRole, name: use-p}}
subjects:
- {{kind: Group, name: 'system:serviceaccounts:shop'}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: rs}}
roleRef: {{kind: ClusterRole, name: use-p}}
subjects:
- {{kind: ServiceAccount, name: replicaset-controller, namespace: kube-system}}
",
            psp("{allowedCapabilities: [NET_ADMIN, NET_RAW]}")
        ));
        let rbac = Rbac::new(&loaded.objects);
        let psps = Psp::all(&loaded.objects);
        let init = [ContainerSecurity::istio_init()];
        let v = evaluate(&psps, &rbac, "shop", "app", None, &init);
        assert_eq!(v.admitted_by(), Some("p"));
        assert_eq!(
            v.candidates[0].usable_via.as_deref(),
            Some(
                "RoleBinding shop/shop-sas -> ClusterRole use-p (Group system:serviceaccounts:shop), in API group extensions"
            )
        );
        // Another namespace's pods: only through their controller.
        let v = evaluate(&psps, &rbac, "billing", "app", None, &init);
        assert_eq!(v.admitted_by(), None);
        let rs = requesting_controller("Deployment");
        let v = evaluate(&psps, &rbac, "billing", "app", rs.as_ref(), &init);
        assert_eq!(v.admitted_by(), Some("p"));
        assert!(v.candidates[0].usable_via.as_deref().unwrap().ends_with(
            "as the requesting system:serviceaccount:kube-system:replicaset-controller"
        ),);
        assert!(requesting_controller("Pod").is_none());
        // A bare Pod's creator is unknown, but authenticated.
        let creator = requester("Pod");
        assert_eq!(creator.groups, ["system:authenticated"]);
        assert_eq!(
            requester_phrase(&creator, true),
            "the authenticated user creating the pod"
        );
    }
}
