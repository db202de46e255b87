//! OpenShift SecurityContextConstraints admission of the injected pod: usable SCCs and their verdict.
//!
//! An SCC is usable through its `users` / `groups` fields or RBAC `use` in the pod's namespace
//! (reference/k8s-semantics.md §5); capabilities follow the PSP algorithm.

use super::policy::ContainerSecurity;
use super::policy::{AdmissionPolicy, Capabilities, check_read_only_root};
use super::rbac::{Identity, Rbac, Request, strings};
use crate::source::{Node, Object};

/// An SCC `runAsUser` strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UidStrategy {
    /// `RunAsAny`.
    Any,
    /// `MustRunAsNonRoot`.
    NonRoot,
    /// `MustRunAs` a single UID (`None` when the SCC does not name it: taken from the
    /// namespace's range, never 0).
    Single(Option<i64>),
    /// `MustRunAsRange` (`None`: the namespace's `openshift.io/sa.scc.uid-range`, never 0).
    Range(Option<(i64, i64)>),
}

/// A SecurityContextConstraints object.
#[derive(Debug, Clone)]
pub struct Scc<'a> {
    /// `metadata.name`.
    pub name: &'a str,
    /// `priority` (absent = 0).
    pub priority: i64,
    /// Capability fields.
    pub capabilities: Capabilities,
    /// `allowPrivilegedContainer`.
    pub allow_privileged_container: bool,
    /// `allowPrivilegeEscalation` (absent = allowed).
    pub allow_privilege_escalation: bool,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: bool,
    /// `runAsUser`.
    pub run_as_user: UidStrategy,
    /// `users`.
    pub users: Vec<String>,
    /// `groups`.
    pub groups: Vec<String>,
}

/// Whether an object is an SCC.
#[must_use]
pub fn is_scc(object: &Object) -> bool {
    object.kind == "SecurityContextConstraints"
        && (object.api_version.starts_with("security.openshift.io/") || object.api_version == "v1")
}

impl<'a> Scc<'a> {
    /// Reads an SCC object.
    #[must_use]
    pub fn from_object(object: &'a Object) -> Option<Self> {
        if !is_scc(object) {
            return None;
        }
        let root = &object.root;
        let flag = |key: &str| root.get(key).and_then(Node::as_bool);
        let run_as_user = root.get("runAsUser");
        let int = |key: &str| run_as_user.and_then(|r| r.get(key)).and_then(Node::as_i64);
        let strategy = match run_as_user
            .and_then(|r| r.get("type"))
            .and_then(Node::as_str)
        {
            Some("MustRunAsNonRoot") => UidStrategy::NonRoot,
            Some("MustRunAs") => UidStrategy::Single(int("uid")),
            Some("MustRunAsRange") => {
                UidStrategy::Range(int("uidRangeMin").zip(int("uidRangeMax")))
            }
            _ => UidStrategy::Any,
        };
        Some(Self {
            name: &object.name,
            priority: root.get("priority").and_then(Node::as_i64).unwrap_or(0),
            capabilities: Capabilities::from_node(root),
            allow_privileged_container: flag("allowPrivilegedContainer") == Some(true),
            allow_privilege_escalation: flag("allowPrivilegeEscalation") != Some(false),
            read_only_root_filesystem: flag("readOnlyRootFilesystem") == Some(true),
            run_as_user: strategy,
            users: strings(root.get("users")),
            groups: strings(root.get("groups")),
        })
    }

    /// Every SCC of the input in admission order: higher priority first, then by name (the
    /// last of duplicates wins).
    #[must_use]
    pub fn all(objects: &'a [Object]) -> Vec<Self> {
        let mut sccs: Vec<Self> = Vec::new();
        for scc in objects.iter().filter_map(Self::from_object) {
            if let Some(existing) = sccs.iter_mut().find(|s| s.name == scc.name) {
                *existing = scc;
            } else {
                sccs.push(scc);
            }
        }
        sccs.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(b.name)));
        sccs
    }
}

impl AdmissionPolicy for Scc<'_> {
    fn name(&self) -> &str {
        self.name
    }

    /// Its `users` / `groups` fields, or RBAC `use`.
    fn usable_via(&self, rbac: &Rbac, identity: &Identity, namespace: &str) -> Option<String> {
        if self.users.contains(&identity.user) {
            return Some(format!("users lists {}", identity.user));
        }
        if let Some(group) = identity.groups.iter().find(|g| self.groups.contains(g)) {
            return Some(format!("groups lists {group}"));
        }
        rbac.grant(
            identity,
            &Request::use_of(
                namespace,
                "security.openshift.io",
                "securitycontextconstraints",
                self.name,
            ),
        )
        .map(|g| g.to_string())
    }

    /// Capabilities, `allowPrivilegedContainer`, `allowPrivilegeEscalation`, `runAsUser`,
    /// `readOnlyRootFilesystem`.
    fn violations(&self, c: &ContainerSecurity) -> Vec<String> {
        let mut out = self.capabilities.violations_with_privilege(
            c,
            "allowPrivilegedContainer",
            self.allow_privileged_container,
            self.allow_privilege_escalation,
        );
        let uid = c.run_as_user;
        match &self.run_as_user {
            UidStrategy::Any => {}
            UidStrategy::NonRoot => {
                if c.run_as_non_root == Some(false) || uid == Some(0) {
                    out.push(format!(
                        "runAsUser MustRunAsNonRoot rejects `{}`'s UID 0",
                        c.name
                    ));
                }
            }
            UidStrategy::Single(want) => {
                if let Some(id) = uid
                    && want.is_none_or(|w| w != id)
                    && (want.is_some() || id == 0)
                {
                    out.push(format!(
                        "runAsUser MustRunAs {} rejects `{}`'s UID {id}",
                        want.map_or_else(|| "(the namespace's UID)".to_string(), |w| w.to_string()),
                        c.name
                    ));
                }
            }
            UidStrategy::Range(range) => match (range, uid) {
                (Some((a, b)), Some(id)) if !(*a..=*b).contains(&id) => out.push(format!(
                    "runAsUser MustRunAsRange {a}-{b} excludes `{}`'s UID {id}",
                    c.name
                )),
                (None, Some(0)) => out.push(format!(
                    "runAsUser MustRunAsRange (the namespace's UID range) excludes `{}`'s UID 0",
                    c.name
                )),
                _ => {}
            },
        }
        check_read_only_root(self.read_only_root_filesystem, c, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::policy::evaluate;
    use crate::source::{LoadOptions, load_str};

    /// OpenShift's default SCCs (bootkube manifests), reduced to the fields that matter.
    const DEFAULT_SCCS: &str = "
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: privileged}
allowPrivilegedContainer: true
allowPrivilegeEscalation: true
allowedCapabilities: ['*']
runAsUser: {type: RunAsAny}
users: ['system:admin', 'system:serviceaccount:openshift-infra:build-controller']
groups: ['system:cluster-admins', 'system:nodes', 'system:masters']
---
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: anyuid}
priority: 10
allowPrivilegedContainer: false
allowedCapabilities: null
requiredDropCapabilities: [MKNOD]
runAsUser: {type: RunAsAny}
groups: ['system:cluster-admins']
---
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: restricted-v2}
allowPrivilegedContainer: false
allowPrivilegeEscalation: false
allowedCapabilities: [NET_BIND_SERVICE]
requiredDropCapabilities: [ALL]
runAsUser: {type: MustRunAsRange}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: 'system:openshift:scc:restricted-v2'}
rules:
- {apiGroups: [security.openshift.io], resources: [securitycontextconstraints], verbs: [use], resourceNames: [restricted-v2]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: 'system:openshift:scc:restricted-v2'}
roleRef: {kind: ClusterRole, name: 'system:openshift:scc:restricted-v2'}
subjects:
- {kind: Group, name: 'system:authenticated'}
";

    fn verdict_names(
        extra: &str,
        ns: &str,
        kind: &str,
    ) -> (Option<String>, Vec<(String, Vec<String>)>) {
        let loaded = load_str(
            "scc.yaml",
            &format!("{DEFAULT_SCCS}{extra}"),
            &LoadOptions::default(),
        );
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let rbac = Rbac::new(&loaded.objects);
        let sccs = Scc::all(&loaded.objects);
        let controller = super::super::psp::requesting_controller(kind);
        let v = evaluate(
            &sccs,
            &rbac,
            ns,
            "app",
            controller.as_ref(),
            &[
                ContainerSecurity::istio_init(),
                ContainerSecurity::istio_proxy(),
            ],
        );
        (
            v.admitted_by().map(str::to_string),
            v.usable()
                .map(|c| (c.policy.name.to_string(), c.violations.clone()))
                .collect(),
        )
    }

    #[test]
    fn order_is_priority_then_name() {
        let loaded = load_str("scc.yaml", DEFAULT_SCCS, &LoadOptions::default());
        let names: Vec<&str> = Scc::all(&loaded.objects).iter().map(|s| s.name).collect();
        assert_eq!(names, ["anyuid", "privileged", "restricted-v2"]);
    }

    #[test]
    fn restricted_v2_rejects_istio_init() {
        let (admitted, usable) = verdict_names("", "shop", "Deployment");
        assert_eq!(admitted, None);
        assert_eq!(usable.len(), 1);
        assert_eq!(usable[0].0, "restricted-v2");
        assert_eq!(
            usable[0].1,
            [
                "allowedCapabilities lacks NET_ADMIN, NET_RAW (added by `istio-init`)",
                "runAsUser MustRunAsRange (the namespace's UID range) excludes `istio-init`'s UID 0",
            ]
        );
    }

    #[test]
    fn anyuid_rejects_istio_init() {
        let (admitted, usable) = verdict_names(
            "---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: anyuid, namespace: shop}
roleRef: {kind: ClusterRole, name: 'system:openshift:scc:anyuid'}
subjects:
- {kind: Group, name: 'system:serviceaccounts:shop'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: 'system:openshift:scc:anyuid'}
rules:
- {apiGroups: [security.openshift.io], resources: [securitycontextconstraints], verbs: [use], resourceNames: [anyuid]}
",
            "shop",
            "Deployment",
        );
        assert_eq!(admitted, None);
        assert_eq!(usable[0].0, "anyuid");
        assert!(
            usable[0].1.contains(
                &"allowedCapabilities lacks NET_ADMIN, NET_RAW (added by `istio-init`)".to_string()
            ),
            "{:?}",
            usable[0].1
        );
    }

    #[test]
    fn privileged_admits_istio_init() {
        let (admitted, _) = verdict_names(
            "---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: privileged, namespace: shop}
roleRef: {kind: ClusterRole, name: 'system:openshift:scc:privileged'}
subjects:
- {kind: ServiceAccount, name: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: 'system:openshift:scc:privileged'}
rules:
- {apiGroups: [security.openshift.io], resources: [securitycontextconstraints], verbs: [use], resourceNames: [privileged]}
",
            "shop",
            "Pod",
        );
        assert_eq!(admitted.as_deref(), Some("privileged"));
        // The grant is per namespace.
        let (admitted, _) = verdict_names("", "other", "Pod");
        assert_eq!(admitted, None);
    }

    #[test]
    fn users_and_groups_fields_grant() {
        let loaded = load_str("scc.yaml", DEFAULT_SCCS, &LoadOptions::default());
        let rbac = Rbac::new(&loaded.objects);
        let sccs = Scc::all(&loaded.objects);
        let privileged = sccs.iter().find(|s| s.name == "privileged").unwrap();
        let build = Identity::service_account("openshift-infra", "build-controller");
        assert_eq!(
            privileged
                .usable_via(&rbac, &build, "openshift-infra")
                .as_deref(),
            Some("users lists system:serviceaccount:openshift-infra:build-controller")
        );
        let node = Identity::new("system:node:a", &["system:nodes"]);
        assert!(privileged.usable_via(&rbac, &node, "x").is_some());
        assert!(
            privileged
                .usable_via(&rbac, &Identity::service_account("shop", "app"), "shop")
                .is_none()
        );
    }
}
