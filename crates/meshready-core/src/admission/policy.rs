//! What PodSecurityPolicy and SCC admission share: capability checks, the [`AdmissionPolicy`] trait and the verdict over usable policies.

use std::fmt::Write as _;

use super::rbac::{Identity, Rbac, strings};
use crate::source::Node;

/// The capability fields PSPs and SCCs share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// `allowedCapabilities` (`*` allows every capability).
    pub allowed: Vec<String>,
    /// `defaultAddCapabilities` (added unless dropped; also allowed).
    pub default_add: Vec<String>,
    /// `requiredDropCapabilities` (must appear literally in the drop list).
    pub required_drop: Vec<String>,
}

impl Capabilities {
    /// Reads the three fields from a PSP's `spec` or an SCC's top level.
    #[must_use]
    pub fn from_node(node: &Node) -> Self {
        Self {
            allowed: strings(node.get("allowedCapabilities")),
            default_add: strings(node.get("defaultAddCapabilities")),
            required_drop: strings(node.get("requiredDropCapabilities")),
        }
    }

    /// Whether adding `cap` is allowed (`*`, or listed in allowed or default-add).
    #[must_use]
    pub fn allows_adding(&self, cap: &str) -> bool {
        self.allowed.iter().any(|a| a == "*" || a == cap)
            || self.default_add.iter().any(|a| a == cap)
    }

    /// What keeps `c` from validating without mutation (the post-injection pass): capabilities
    /// that may not be added, required drops that are not literally dropped, and default adds
    /// that would change the container. Lowercase fragments.
    #[must_use]
    pub fn violations(&self, c: &ContainerSecurity) -> Vec<String> {
        let mut out = Vec::new();
        // Generate: a default add the container neither adds nor drops literally, or a required
        // drop it does not drop literally, changes the container; the validating pass skips
        // such a policy.
        let missing_drops: Vec<&str> = self
            .required_drop
            .iter()
            .filter(|d| !c.drop.contains(d))
            .map(String::as_str)
            .collect();
        let would_add: Vec<&str> = self
            .default_add
            .iter()
            .filter(|d| !c.add.contains(d) && !c.drop.contains(d))
            .map(String::as_str)
            .collect();
        if !missing_drops.is_empty() {
            let all = if c.drop.iter().any(|d| d == "ALL") {
                " (`ALL` does not count)"
            } else {
                ""
            };
            out.push(format!(
                "requiredDropCapabilities needs `{}` to drop {} literally{all}",
                c.name,
                missing_drops.join(", ")
            ));
        }
        if !would_add.is_empty() {
            out.push(format!(
                "defaultAddCapabilities would add {} to `{}` after injection, which admission's validating pass does not allow",
                would_add.join(", "),
                c.name
            ));
        }
        if !self.allowed.iter().any(|a| a == "*") {
            let denied: Vec<&str> = c
                .add
                .iter()
                .filter(|cap| !self.allows_adding(cap))
                .map(String::as_str)
                .collect();
            if !denied.is_empty() {
                out.push(format!(
                    "allowedCapabilities lacks {} (added by `{}`)",
                    denied.join(", "),
                    c.name
                ));
            }
        }
        out
    }

    /// The checks both policy kinds start with: these capability fields, then the policy's
    /// privileged flag (`privileged_field`, allowing privileged containers when
    /// `allow_privileged`), then `allowPrivilegeEscalation`. Lowercase fragments.
    #[must_use]
    pub(crate) fn violations_with_privilege(
        &self,
        c: &ContainerSecurity,
        privileged_field: &str,
        allow_privileged: bool,
        allow_privilege_escalation: bool,
    ) -> Vec<String> {
        let mut out = self.violations(c);
        if c.privileged && !allow_privileged {
            out.push(format!(
                "{privileged_field}: false rejects privileged `{}`",
                c.name
            ));
        }
        if !allow_privilege_escalation && c.allow_privilege_escalation == Some(true) {
            out.push(format!(
                "allowPrivilegeEscalation: false rejects `{}`, which allows it",
                c.name
            ));
        }
        out
    }
}

/// The check both policy kinds end with: `readOnlyRootFilesystem: true` (`required`) rejects a
/// container whose root filesystem is writable.
pub(crate) fn check_read_only_root(required: bool, c: &ContainerSecurity, out: &mut Vec<String>) {
    if required && c.read_only_root_filesystem != Some(true) {
        out.push(format!(
            "readOnlyRootFilesystem: true rejects `{}`'s writable root filesystem",
            c.name
        ));
    }
}

/// A policy that admission tries for a pod: a PodSecurityPolicy or an SCC.
pub trait AdmissionPolicy {
    /// `metadata.name`.
    fn name(&self) -> &str;

    /// What keeps `c` from validating against this policy (empty: it validates). Lowercase
    /// fragments.
    fn violations(&self, c: &ContainerSecurity) -> Vec<String>;

    /// How `identity` may use this policy in `namespace` (`None`: it may not).
    fn usable_via(&self, rbac: &Rbac, identity: &Identity, namespace: &str) -> Option<String>;
}

/// How a pod in `namespace` with ServiceAccount identity `service_account`, created by
/// `controller` (see [`super::psp::requester`]), may use `policy`: the ServiceAccount first,
/// then the controller, as admission checks them. `None`: it may not.
#[must_use]
pub fn usable_via<P: AdmissionPolicy>(
    rbac: &Rbac,
    policy: &P,
    namespace: &str,
    service_account: &Identity,
    controller: Option<&Identity>,
) -> Option<String> {
    sa_or_controller(service_account, controller, |identity| {
        policy.usable_via(rbac, identity, namespace)
    })
}

/// `via` for the ServiceAccount, else for the controller (saying so).
pub(crate) fn sa_or_controller(
    service_account: &Identity,
    controller: Option<&Identity>,
    via: impl Fn(&Identity) -> Option<String>,
) -> Option<String> {
    via(service_account).or_else(|| {
        let controller = controller?;
        via(controller).map(|via| format!("{via}, as {}", requester_phrase(controller, false)))
    })
}

/// One policy considered for a pod.
#[derive(Debug, Clone)]
pub struct Candidate<'p, P> {
    /// The policy.
    pub policy: &'p P,
    /// How the pod may use it (`None`: it may not).
    pub usable_via: Option<String>,
    /// What keeps the injected containers from validating against it.
    pub violations: Vec<String>,
}

impl<P> Candidate<'_, P> {
    /// Usable and admits the injected containers.
    #[must_use]
    pub fn admits(&self) -> bool {
        self.usable_via.is_some() && self.violations.is_empty()
    }
}

/// Admission of one pod's injected containers.
#[derive(Debug, Clone)]
pub struct Verdict<'p, P> {
    /// Every policy, in admission order.
    pub candidates: Vec<Candidate<'p, P>>,
}

impl<'p, P: AdmissionPolicy> Verdict<'p, P> {
    /// The first usable policy (in admission order) that admits the injected containers.
    #[must_use]
    pub fn admitted_by(&self) -> Option<&str> {
        self.candidates
            .iter()
            .find(|c| c.admits())
            .map(|c| c.policy.name())
    }

    /// The usable policies.
    pub fn usable(&self) -> impl Iterator<Item = &Candidate<'p, P>> {
        self.candidates.iter().filter(|c| c.usable_via.is_some())
    }

    /// What each usable policy lacks: `` `name`: fragment, fragment `` joined by `; `.
    #[must_use]
    pub fn describe_rejections(&self) -> String {
        let mut out = String::new();
        for c in self.usable() {
            if !out.is_empty() {
                out.push_str("; ");
            }
            let _ = write!(out, "`{}`: {}", c.policy.name(), c.violations.join(", "));
        }
        out
    }
}

/// Judges the injected `containers` against every policy, given how each may be used (same
/// order as `policies`, see [`usable_via`]).
#[must_use]
pub fn judge<'p, P: AdmissionPolicy>(
    policies: &'p [P],
    usable: Vec<Option<String>>,
    containers: &[ContainerSecurity],
) -> Verdict<'p, P> {
    let candidates = policies
        .iter()
        .zip(usable)
        .map(|(policy, usable_via)| Candidate {
            policy,
            usable_via,
            violations: dedup_violations(containers.iter().map(|c| policy.violations(c))),
        })
        .collect();
    Verdict { candidates }
}

/// Evaluates every policy for a pod in `namespace` with ServiceAccount `service_account`,
/// created by `controller` (see [`super::psp::requesting_controller`]), whose injected
/// containers are `containers` (the tests' shorthand for [`usable_via`] then [`judge`]).
#[cfg(test)]
#[must_use]
pub fn evaluate<'p, P: AdmissionPolicy>(
    policies: &'p [P],
    rbac: &Rbac,
    namespace: &str,
    service_account: &str,
    controller: Option<&Identity>,
    containers: &[ContainerSecurity],
) -> Verdict<'p, P> {
    let sa = Identity::service_account(namespace, service_account);
    let usable = policies
        .iter()
        .map(|p| usable_via(rbac, p, namespace, &sa, controller))
        .collect();
    judge(policies, usable, containers)
}

/// Every violation once, in order.
pub(crate) fn dedup_violations(lists: impl Iterator<Item = Vec<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in lists.flatten() {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The security-relevant settings of one container, with pod-level defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSecurity {
    /// Container name.
    pub name: String,
    /// `capabilities.add`.
    pub add: Vec<String>,
    /// `capabilities.drop`.
    pub drop: Vec<String>,
    /// Whether `capabilities` is set at all.
    pub has_capabilities: bool,
    /// `privileged`.
    pub privileged: bool,
    /// `allowPrivilegeEscalation`.
    pub allow_privilege_escalation: Option<bool>,
    /// Effective `runAsUser`.
    pub run_as_user: Option<i64>,
    /// Effective `runAsGroup`.
    pub run_as_group: Option<i64>,
    /// Effective `runAsNonRoot`.
    pub run_as_non_root: Option<bool>,
    /// `readOnlyRootFilesystem`.
    pub read_only_root_filesystem: Option<bool>,
}

impl ContainerSecurity {
    /// Reads a container of a pod spec (`pod_spec` supplies the pod-level `securityContext`).
    #[must_use]
    pub fn from_container(container: &Node, pod_spec: &Node) -> Self {
        let sc = container.get("securityContext");
        let pod = pod_spec.get("securityContext");
        let int = |key: &str| {
            sc.and_then(|s| s.get(key))
                .and_then(Node::as_i64)
                .or_else(|| pod.and_then(|p| p.get(key)).and_then(Node::as_i64))
        };
        let caps = sc.and_then(|s| s.get("capabilities"));
        Self {
            name: container
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            add: strings(caps.and_then(|c| c.get("add"))),
            drop: strings(caps.and_then(|c| c.get("drop"))),
            has_capabilities: caps.is_some_and(|c| !c.is_null()),
            privileged: sc.and_then(|s| s.get("privileged")).and_then(Node::as_bool) == Some(true),
            allow_privilege_escalation: sc
                .and_then(|s| s.get("allowPrivilegeEscalation"))
                .and_then(Node::as_bool),
            run_as_user: int("runAsUser"),
            run_as_group: int("runAsGroup"),
            run_as_non_root: sc
                .and_then(|s| s.get("runAsNonRoot"))
                .and_then(Node::as_bool)
                .or_else(|| {
                    pod.and_then(|p| p.get("runAsNonRoot"))
                        .and_then(Node::as_bool)
                }),
            read_only_root_filesystem: sc
                .and_then(|s| s.get("readOnlyRootFilesystem"))
                .and_then(Node::as_bool),
        }
    }

    /// `istio-init` as Istio's injection template writes it without CNI: capabilities add
    /// NET_ADMIN, NET_RAW, drop ALL; UID/GID 0; runAsNonRoot false; writable root filesystem;
    /// not privileged.
    #[must_use]
    pub fn istio_init() -> Self {
        Self {
            name: "istio-init".into(),
            add: vec!["NET_ADMIN".into(), "NET_RAW".into()],
            drop: vec!["ALL".into()],
            has_capabilities: true,
            privileged: false,
            allow_privilege_escalation: Some(false),
            run_as_user: Some(0),
            run_as_group: Some(0),
            run_as_non_root: Some(false),
            read_only_root_filesystem: Some(false),
        }
    }

    /// `istio-proxy` as injected: drop ALL, UID/GID 1337, runAsNonRoot, read-only root
    /// filesystem, not privileged.
    #[must_use]
    pub fn istio_proxy() -> Self {
        Self {
            name: "istio-proxy".into(),
            add: Vec::new(),
            drop: vec!["ALL".into()],
            has_capabilities: true,
            privileged: false,
            allow_privilege_escalation: Some(false),
            run_as_user: Some(1337),
            run_as_group: Some(1337),
            run_as_non_root: Some(true),
            read_only_root_filesystem: Some(true),
        }
    }
}

/// How messages name a requester: `the requesting USER` (in backticks when `quote`), or `the
/// authenticated user creating the pod` for the unknown user of [`requester`].
#[must_use]
pub fn requester_phrase(identity: &Identity, quote: bool) -> String {
    match (identity.user.is_empty(), quote) {
        (true, _) => "the authenticated user creating the pod".to_string(),
        (false, true) => format!("the requesting `{}`", identity.user),
        (false, false) => format!("the requesting {}", identity.user),
    }
}
