//! Offline RBAC evaluator: may an identity perform a request, given the input's Roles and bindings.
//!
//! Semantics (reference/k8s-semantics.md §1): every ClusterRoleBinding plus the RoleBindings of
//! the request's namespace are consulted; `roleRef` kind `Role` is looked up in the binding's
//! namespace, `ClusterRole` cluster-wide; subjects are `User` (exact name), `Group` (membership) and
//! `ServiceAccount` (namespace defaulting to the RoleBinding's; in a ClusterRoleBinding an SA
//! subject without a namespace never matches); rules match verbs, API groups, resources
//! (`*`, `res/sub`, `*/sub`) and resource names exactly; aggregated ClusterRoles are resolved to a
//! fixed point. RBAC only grants: there are no deny rules.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use crate::source::{Node, Object};

/// Who is asking: a user name and its groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The user name (`system:serviceaccount:NS:SA` for a ServiceAccount).
    pub user: String,
    /// The groups.
    pub groups: Vec<String>,
}

impl Identity {
    /// A user with groups.
    #[must_use]
    pub fn new(user: impl Into<String>, groups: &[&str]) -> Self {
        Self {
            user: user.into(),
            groups: groups.iter().map(|g| (*g).to_string()).collect(),
        }
    }

    /// The identity admission builds for a pod's ServiceAccount: user
    /// `system:serviceaccount:NS:SA`, groups `system:serviceaccounts` and
    /// `system:serviceaccounts:NS` (no `system:authenticated`).
    #[must_use]
    pub fn service_account(namespace: &str, name: &str) -> Self {
        ServiceAccount { namespace, name }.identity()
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.user)
    }
}

/// A ServiceAccount, by namespace and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ServiceAccount<'s> {
    /// Namespace.
    pub namespace: &'s str,
    /// Name.
    pub name: &'s str,
}

impl ServiceAccount<'_> {
    /// The ServiceAccount's user name, `system:serviceaccount:NS:SA`.
    #[must_use]
    pub fn user_name(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.name)
    }

    /// The identity admission builds for it (see [`Identity::service_account`]).
    #[must_use]
    pub fn identity(&self) -> Identity {
        Identity {
            user: self.user_name(),
            groups: vec![
                "system:serviceaccounts".to_string(),
                format!("system:serviceaccounts:{}", self.namespace),
            ],
        }
    }
}

/// The attributes of a resource request (as in a SubjectAccessReview).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'r> {
    /// The namespace of the request (`""` for a cluster-wide request: RoleBindings never count).
    pub namespace: &'r str,
    /// Verb (`use`, `get`, ...).
    pub verb: &'r str,
    /// API group (`""` is the core group).
    pub group: &'r str,
    /// Resource (plural, lowercase).
    pub resource: &'r str,
    /// Subresource (`""` for none).
    pub subresource: &'r str,
    /// Object name (`""` for none).
    pub name: &'r str,
}

impl<'r> Request<'r> {
    /// A `use` request on a named object, as PSP and SCC admission make.
    #[must_use]
    pub fn use_of(namespace: &'r str, group: &'r str, resource: &'r str, name: &'r str) -> Self {
        Self {
            namespace,
            verb: "use",
            group,
            resource,
            subresource: "",
            name,
        }
    }
}

/// One PolicyRule of a Role or ClusterRole.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PolicyRule {
    /// `verbs`.
    pub verbs: Vec<String>,
    /// `apiGroups`.
    pub api_groups: Vec<String>,
    /// `resources`.
    pub resources: Vec<String>,
    /// `resourceNames`.
    pub resource_names: Vec<String>,
    /// `nonResourceURLs`.
    pub non_resource_urls: Vec<String>,
}

impl PolicyRule {
    fn from_node(node: &Node) -> Self {
        Self {
            verbs: strings(node.get("verbs")),
            api_groups: strings(node.get("apiGroups")),
            resources: strings(node.get("resources")),
            resource_names: strings(node.get("resourceNames")),
            non_resource_urls: strings(node.get("nonResourceURLs")),
        }
    }

    /// Whether the rule allows a resource request (`RuleAllows` in Kubernetes' RBAC authorizer).
    #[must_use]
    pub fn allows(&self, request: &Request<'_>) -> bool {
        self.verbs.iter().any(|v| v == "*" || v == request.verb)
            && self
                .api_groups
                .iter()
                .any(|g| g == "*" || g == request.group)
            && self.resource_matches(request.resource, request.subresource)
            && (self.resource_names.is_empty()
                || self.resource_names.iter().any(|n| n == request.name))
    }

    fn resource_matches(&self, resource: &str, subresource: &str) -> bool {
        self.resources.iter().any(|r| {
            if r == "*" {
                return true;
            }
            if subresource.is_empty() {
                return r == resource;
            }
            r.strip_prefix("*/") == Some(subresource)
                || r.split_once('/') == Some((resource, subresource))
        })
    }
}

/// A subject of a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// `User`, `Group` or `ServiceAccount`.
    pub kind: String,
    /// `name`.
    pub name: String,
    /// `namespace` (for ServiceAccounts, already defaulted to a RoleBinding's namespace).
    pub namespace: String,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == "ServiceAccount" {
            write!(f, "ServiceAccount {}/{}", self.namespace, self.name)
        } else {
            write!(f, "{} {}", self.kind, self.name)
        }
    }
}

/// A RoleBinding or ClusterRoleBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// `RoleBinding` or `ClusterRoleBinding`.
    pub kind: &'static str,
    /// Name.
    pub name: String,
    /// Namespace (`""` for a ClusterRoleBinding).
    pub namespace: String,
    /// `roleRef.kind` (`Role` or `ClusterRole`).
    pub role_kind: String,
    /// `roleRef.name`.
    pub role_name: String,
    /// The subjects.
    pub subjects: Vec<Subject>,
}

impl Binding {
    fn from_object(object: &Object) -> Option<Self> {
        let kind = match object.kind.as_str() {
            "RoleBinding" => "RoleBinding",
            "ClusterRoleBinding" => "ClusterRoleBinding",
            _ => return None,
        };
        if !is_rbac_api(&object.api_version) {
            return None;
        }
        let namespace = if kind == "RoleBinding" {
            object.namespace.clone()
        } else {
            String::new()
        };
        let role_ref = object.root.get("roleRef")?;
        let subjects = object
            .root
            .get("subjects")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| {
                let kind = s.get("kind").and_then(Node::as_str)?;
                let name = s.get("name").and_then(Node::as_str)?;
                let mut ns = s
                    .get("namespace")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string();
                if kind == "ServiceAccount" && ns.is_empty() {
                    // `appliesToUser` defaults the namespace to the RoleBinding's; for a
                    // ClusterRoleBinding it stays empty and the subject never matches.
                    ns.clone_from(&namespace);
                }
                Some(Subject {
                    kind: kind.to_string(),
                    name: name.to_string(),
                    namespace: ns,
                })
            })
            .collect();
        Some(Self {
            kind,
            name: object.name.clone(),
            namespace,
            role_kind: role_ref
                .get("kind")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            role_name: role_ref
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("")
                .to_string(),
            subjects,
        })
    }

    /// The first subject that matches `identity`.
    #[must_use]
    pub fn subject_for(&self, identity: &Identity) -> Option<&Subject> {
        self.subjects.iter().find(|s| subject_matches(s, identity))
    }

    /// `Kind name` or `Kind namespace/name`.
    #[must_use]
    pub fn display_name(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Whether a subject matches an identity (`appliesToUser`).
fn subject_matches(subject: &Subject, identity: &Identity) -> bool {
    match subject.kind.as_str() {
        "User" => identity.user == subject.name,
        "Group" => identity.groups.contains(&subject.name),
        "ServiceAccount" => {
            !subject.namespace.is_empty()
                && identity.user
                    == (ServiceAccount {
                        namespace: &subject.namespace,
                        name: &subject.name,
                    })
                    .user_name()
        }
        _ => false,
    }
}

/// The key a subject is indexed under: a user name or a group name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum SubjectKey {
    User(String),
    Group(String),
}

fn subject_key(subject: &Subject) -> Option<SubjectKey> {
    match subject.kind.as_str() {
        "User" => Some(SubjectKey::User(subject.name.clone())),
        "Group" => Some(SubjectKey::Group(subject.name.clone())),
        "ServiceAccount" if !subject.namespace.is_empty() => Some(SubjectKey::User(
            ServiceAccount {
                namespace: &subject.namespace,
                name: &subject.name,
            }
            .user_name(),
        )),
        _ => None,
    }
}

/// Why a request is allowed: the binding, the role it refers to, the subject that matched and
/// the rule that allowed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant<'r> {
    /// The binding.
    pub binding: &'r Binding,
    /// The subject of the binding that matched the identity.
    pub subject: &'r Subject,
    /// The rule that allowed the request.
    pub rule: &'r PolicyRule,
}

impl fmt::Display for Grant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} {} ({})",
            self.binding.display_name(),
            self.binding.role_kind,
            self.binding.role_name,
            self.subject
        )
    }
}

/// A ClusterRole before aggregation.
#[derive(Debug)]
struct ClusterRoleDef {
    labels: BTreeMap<String, String>,
    rules: Vec<PolicyRule>,
    /// `aggregationRule.clusterRoleSelectors`, if the role aggregates.
    selectors: Option<Vec<Selector>>,
}

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone)]
enum Selector {
    /// Selects nothing (null, or invalid).
    Nothing,
    /// `matchLabels` AND `matchExpressions`.
    Match {
        labels: Vec<(String, String)>,
        expressions: Vec<Expression>,
    },
}

#[derive(Debug, Clone)]
struct Expression {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl Selector {
    fn from_node(node: &Node) -> Self {
        if !node.is_map() {
            return Self::Nothing;
        }
        let labels = crate::source::string_map(node.get("matchLabels"))
            .map(|(k, v)| (k.to_string(), v.into_owned()))
            .collect();
        let mut expressions = Vec::new();
        for e in node
            .get("matchExpressions")
            .map(Node::items)
            .unwrap_or_default()
        {
            let Some(key) = e.get("key").and_then(Node::as_str) else {
                return Self::Nothing;
            };
            let operator = match e.get("operator").and_then(Node::as_str) {
                Some("In") => Operator::In,
                Some("NotIn") => Operator::NotIn,
                Some("Exists") => Operator::Exists,
                Some("DoesNotExist") => Operator::DoesNotExist,
                _ => return Self::Nothing,
            };
            let values = strings(e.get("values"));
            // LabelSelectorAsSelector rejects In/NotIn without values and Exists/DoesNotExist
            // with values; an invalid selector selects nothing.
            let needs_values = matches!(operator, Operator::In | Operator::NotIn);
            if needs_values == values.is_empty() {
                return Self::Nothing;
            }
            expressions.push(Expression {
                key: key.to_string(),
                operator,
                values,
            });
        }
        Self::Match {
            labels,
            expressions,
        }
    }

    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Self::Nothing => false,
            Self::Match {
                labels: want,
                expressions,
            } => {
                want.iter().all(|(k, v)| labels.get(k) == Some(v))
                    && expressions.iter().all(|e| {
                        let value = labels.get(&e.key);
                        match e.operator {
                            Operator::In => value.is_some_and(|v| e.values.contains(v)),
                            Operator::NotIn => value.is_none_or(|v| !e.values.contains(v)),
                            Operator::Exists => value.is_some(),
                            Operator::DoesNotExist => value.is_none(),
                        }
                    })
            }
        }
    }
}

/// The RBAC objects of the input, indexed for evaluation.
#[derive(Debug, Default)]
pub struct Rbac {
    /// Roles by (namespace, name).
    roles: HashMap<(String, String), Vec<PolicyRule>>,
    /// ClusterRoles by name, aggregation resolved.
    cluster_roles: HashMap<String, Vec<PolicyRule>>,
    /// Every binding.
    bindings: Vec<Binding>,
    /// ClusterRoleBindings (indices into `bindings`) by subject.
    cluster_index: HashMap<SubjectKey, Vec<usize>>,
    /// RoleBindings (indices into `bindings`) by (namespace, subject).
    namespace_index: HashMap<(String, SubjectKey), Vec<usize>>,
}

impl Rbac {
    /// Reads the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings among `objects`
    /// (other objects are ignored). When an object appears twice, the last one wins.
    #[must_use]
    pub fn new(objects: &[Object]) -> Self {
        let mut rbac = Self::default();
        let mut defs: BTreeMap<String, ClusterRoleDef> = BTreeMap::new();
        let mut seen_bindings: HashMap<(&'static str, String, String), usize> = HashMap::new();
        for object in objects {
            if !is_rbac_api(&object.api_version) {
                continue;
            }
            match object.kind.as_str() {
                "Role" => {
                    rbac.roles.insert(
                        (object.namespace.clone(), object.name.clone()),
                        rules_of(object),
                    );
                }
                "ClusterRole" => {
                    let selectors = object.root.get("aggregationRule").map(|a| {
                        a.get("clusterRoleSelectors")
                            .map(Node::items)
                            .unwrap_or_default()
                            .iter()
                            .map(Selector::from_node)
                            .collect()
                    });
                    defs.insert(
                        object.name.clone(),
                        ClusterRoleDef {
                            labels: object
                                .labels()
                                .map(|(k, v)| (k.to_string(), v.into_owned()))
                                .collect(),
                            rules: rules_of(object),
                            selectors,
                        },
                    );
                }
                "RoleBinding" | "ClusterRoleBinding" => {
                    if let Some(binding) = Binding::from_object(object) {
                        let key = (
                            binding.kind,
                            binding.namespace.clone(),
                            binding.name.clone(),
                        );
                        if let Some(&i) = seen_bindings.get(&key) {
                            rbac.bindings[i] = binding;
                        } else {
                            seen_bindings.insert(key, rbac.bindings.len());
                            rbac.bindings.push(binding);
                        }
                    }
                }
                _ => {}
            }
        }
        rbac.cluster_roles = aggregate(&defs);
        for (i, binding) in rbac.bindings.iter().enumerate() {
            for subject in &binding.subjects {
                let Some(key) = subject_key(subject) else {
                    continue;
                };
                let list = if binding.kind == "ClusterRoleBinding" {
                    rbac.cluster_index.entry(key).or_default()
                } else {
                    rbac.namespace_index
                        .entry((binding.namespace.clone(), key))
                        .or_default()
                };
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        rbac
    }

    /// Whether `identity` may perform `request`.
    #[must_use]
    pub fn allows(&self, identity: &Identity, request: &Request<'_>) -> bool {
        self.grant(identity, request).is_some()
    }

    /// The first binding (ClusterRoleBindings first, then RoleBindings of the request's
    /// namespace, each in input order) whose role allows `request` for `identity`.
    #[must_use]
    pub fn grant(&self, identity: &Identity, request: &Request<'_>) -> Option<Grant<'_>> {
        self.bindings_for(identity, request.namespace)
            .into_iter()
            .find_map(|binding| {
                let rule = self.rules_of(binding)?.iter().find(|r| r.allows(request))?;
                Some(Grant {
                    binding,
                    subject: binding.subject_for(identity)?,
                    rule,
                })
            })
    }

    /// The bindings that apply to `identity` for requests in `namespace`: every
    /// ClusterRoleBinding naming it, then the RoleBindings of `namespace` naming it, each in
    /// input order.
    #[must_use]
    pub fn bindings_for(&self, identity: &Identity, namespace: &str) -> Vec<&Binding> {
        let keys: Vec<SubjectKey> = std::iter::once(SubjectKey::User(identity.user.clone()))
            .chain(identity.groups.iter().cloned().map(SubjectKey::Group))
            .collect();
        let mut cluster: Vec<usize> = keys
            .iter()
            .filter_map(|k| self.cluster_index.get(k))
            .flatten()
            .copied()
            .collect();
        cluster.sort_unstable();
        cluster.dedup();
        let mut local: Vec<usize> = if namespace.is_empty() {
            Vec::new()
        } else {
            keys.into_iter()
                .filter_map(|k| self.namespace_index.get(&(namespace.to_string(), k)))
                .flatten()
                .copied()
                .collect()
        };
        local.sort_unstable();
        local.dedup();
        cluster
            .into_iter()
            .chain(local)
            .map(|i| &self.bindings[i])
            .collect()
    }

    /// The rules of a binding's role, or `None` when the role is not in the input.
    #[must_use]
    pub fn rules_of(&self, binding: &Binding) -> Option<&[PolicyRule]> {
        match binding.role_kind.as_str() {
            "Role" if binding.kind == "RoleBinding" => self
                .roles
                .get(&(binding.namespace.clone(), binding.role_name.clone()))
                .map(Vec::as_slice),
            "ClusterRole" => self
                .cluster_roles
                .get(&binding.role_name)
                .map(Vec::as_slice),
            _ => None,
        }
    }

    /// The rules of a ClusterRole after aggregation.
    #[must_use]
    pub fn cluster_role(&self, name: &str) -> Option<&[PolicyRule]> {
        self.cluster_roles.get(name).map(Vec::as_slice)
    }

    /// Bindings whose role is not in the input (their grants are unknown offline).
    pub fn unresolved(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter().filter(|b| self.rules_of(b).is_none())
    }

    /// Every binding, in input order.
    #[must_use]
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }
}

/// Resolves aggregated ClusterRoles as the aggregation controller would, to a fixed point: an
/// aggregated role's rules are replaced by the rules of the roles its selectors match (sorted by
/// name, itself excluded, duplicates dropped). Starting aggregated roles empty and iterating
/// until nothing changes gives the least fixed point, so chains converge and cycles terminate.
fn aggregate(defs: &BTreeMap<String, ClusterRoleDef>) -> HashMap<String, Vec<PolicyRule>> {
    let mut current: BTreeMap<&str, Vec<PolicyRule>> = defs
        .iter()
        .map(|(name, def)| {
            let rules = if def.selectors.is_some() {
                Vec::new()
            } else {
                def.rules.clone()
            };
            (name.as_str(), rules)
        })
        .collect();
    // Which roles each aggregated role selects (fixed: labels do not change).
    let sources: Vec<(&str, Vec<&str>)> = defs
        .iter()
        .filter_map(|(name, def)| {
            let selectors = def.selectors.as_ref()?;
            let selected = defs
                .iter()
                .filter(|(other, d)| {
                    *other != name && selectors.iter().any(|s| s.matches(&d.labels))
                })
                .map(|(other, _)| other.as_str())
                .collect();
            Some((name.as_str(), selected))
        })
        .collect();
    // Each round grows every aggregated role monotonically; a chain of n aggregated roles
    // converges within n + 1 rounds.
    for _ in 0..=sources.len() {
        let mut changed = false;
        for (name, selected) in &sources {
            let mut rules: Vec<PolicyRule> = Vec::new();
            let mut seen: HashSet<&PolicyRule> = HashSet::new();
            for source in selected {
                for rule in &current[source] {
                    if seen.insert(rule) {
                        rules.push(rule.clone());
                    }
                }
            }
            if current[name] != rules {
                changed = true;
                current.insert(name, rules);
            }
        }
        if !changed {
            break;
        }
    }
    current
        .into_iter()
        .map(|(name, rules)| (name.to_string(), rules))
        .collect()
}

fn is_rbac_api(api_version: &str) -> bool {
    api_version.starts_with("rbac.authorization.k8s.io/")
}

fn rules_of(object: &Object) -> Vec<PolicyRule> {
    object
        .root
        .get("rules")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .map(PolicyRule::from_node)
        .collect()
}

/// The strings of a list node (non-strings, which the API server would reject, are skipped).
pub(crate) fn strings(node: Option<&Node>) -> Vec<String> {
    node.map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(Node::as_str)
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    fn rbac(yaml: &str) -> Rbac {
        let loaded = load_str("rbac.yaml", yaml, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        Rbac::new(&loaded.objects)
    }

    fn psp_use<'a>(ns: &'a str, name: &'a str) -> Request<'a> {
        Request::use_of(ns, "policy", "podsecuritypolicies", name)
    }

    const SA_CRB: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: role}
subjects:
- {kind: ServiceAccount, name: app, namespace: shop}
";

    fn with_rule(rule: &str) -> Rbac {
        rbac(&format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {{name: role}}\nrules:\n- {rule}\n---{SA_CRB}"
        ))
    }

    fn app() -> Identity {
        Identity::service_account("shop", "app")
    }

    #[test]
    fn service_account_identity() {
        let id = Identity::service_account("shop", "app");
        assert_eq!(id.user, "system:serviceaccount:shop:app");
        assert_eq!(
            id.groups,
            ["system:serviceaccounts", "system:serviceaccounts:shop"]
        );
    }

    #[test]
    fn verbs_groups_and_resources_match_exactly_or_by_star() {
        let exact = with_rule(
            "{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [p]}",
        );
        assert!(exact.allows(&app(), &psp_use("shop", "p")));
        assert!(!exact.allows(&app(), &psp_use("shop", "q")));
        assert!(!exact.allows(
            &app(),
            &Request::use_of("shop", "extensions", "podsecuritypolicies", "p")
        ));
        let get = Request {
            verb: "get",
            ..psp_use("shop", "p")
        };
        assert!(!exact.allows(&app(), &get));

        let stars = with_rule("{apiGroups: ['*'], resources: ['*'], verbs: ['*']}");
        assert!(stars.allows(&app(), &get));
        assert!(stars.allows(
            &app(),
            &Request::use_of(
                "",
                "security.openshift.io",
                "securitycontextconstraints",
                "x"
            )
        ));

        // Case and plural forms are not folded.
        let psp =
            with_rule("{apiGroups: [policy], resources: [PodSecurityPolicies], verbs: [USE]}");
        assert!(!psp.allows(&app(), &psp_use("shop", "p")));

        // Empty lists match nothing; the core group is "".
        let empty = with_rule("{apiGroups: [], resources: ['*'], verbs: ['*']}");
        assert!(!empty.allows(&app(), &get));
        let core = with_rule("{apiGroups: [''], resources: [pods], verbs: [get]}");
        let pods = Request {
            namespace: "shop",
            verb: "get",
            group: "",
            resource: "pods",
            subresource: "",
            name: "",
        };
        assert!(core.allows(&app(), &pods));
        assert!(!core.allows(
            &app(),
            &Request {
                group: "apps",
                ..pods
            }
        ));
    }

    #[test]
    fn subresources() {
        let log = Request {
            namespace: "shop",
            verb: "get",
            group: "",
            resource: "pods",
            subresource: "log",
            name: "",
        };
        let pods = with_rule("{apiGroups: [''], resources: [pods], verbs: [get]}");
        assert!(!pods.allows(&app(), &log));
        let pods_log = with_rule("{apiGroups: [''], resources: [pods/log], verbs: [get]}");
        assert!(pods_log.allows(&app(), &log));
        assert!(!pods_log.allows(
            &app(),
            &Request {
                subresource: "",
                ..log
            }
        ));
        let any_log = with_rule("{apiGroups: [''], resources: ['*/log'], verbs: [get]}");
        assert!(any_log.allows(&app(), &log));
        assert!(!any_log.allows(
            &app(),
            &Request {
                subresource: "exec",
                ..log
            }
        ));
        let star = with_rule("{apiGroups: [''], resources: ['*'], verbs: [get]}");
        assert!(star.allows(&app(), &log));
    }

    #[test]
    fn resource_names_empty_means_any() {
        let any =
            with_rule("{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}");
        assert!(any.allows(&app(), &psp_use("shop", "whatever")));
        let named = with_rule(
            "{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [a, b]}",
        );
        assert!(named.allows(&app(), &psp_use("shop", "b")));
        assert!(!named.allows(&app(), &psp_use("shop", "c")));
    }

    const USE_ALL: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: use-psp}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
";

    #[test]
    fn role_binding_sa_subject_defaults_to_the_binding_namespace() {
        let r = rbac(&format!(
            "{USE_ALL}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: rb, namespace: shop}}
roleRef: {{kind: ClusterRole, name: use-psp}}
subjects:
- {{kind: ServiceAccount, name: app}}
"
        ));
        assert!(r.allows(&app(), &psp_use("shop", "p")));
        // The grant counts only for requests in the binding's namespace.
        assert!(!r.allows(&app(), &psp_use("other", "p")));
        assert!(!r.allows(&app(), &psp_use("", "p")));
        // And only for that ServiceAccount.
        assert!(!r.allows(
            &Identity::service_account("other", "app"),
            &psp_use("shop", "p")
        ));
        let grant = r.grant(&app(), &psp_use("shop", "p")).unwrap();
        assert_eq!(
            grant.to_string(),
            "RoleBinding shop/rb -> ClusterRole use-psp (ServiceAccount shop/app)"
        );
    }

    #[test]
    fn role_binding_sa_subject_in_another_namespace() {
        let r = rbac(&format!(
            "{USE_ALL}---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: rb, namespace: shop}}
roleRef: {{kind: ClusterRole, name: use-psp}}
subjects:
- {{kind: ServiceAccount, name: app, namespace: billing}}
"
        ));
        let billing = Identity::service_account("billing", "app");
        assert!(r.allows(&billing, &psp_use("shop", "p")));
        assert!(!r.allows(&billing, &psp_use("billing", "p")));
        assert!(!r.allows(&app(), &psp_use("shop", "p")));
    }

    #[test]
    fn cluster_role_binding_sa_subject_without_namespace_never_matches() {
        let r = rbac(&format!(
            "{USE_ALL}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: crb}}
roleRef: {{kind: ClusterRole, name: use-psp}}
subjects:
- {{kind: ServiceAccount, name: app}}
"
        ));
        assert!(!r.allows(&app(), &psp_use("shop", "p")));
        assert!(!r.allows(&Identity::service_account("", "app"), &psp_use("", "p")));
    }

    #[test]
    fn users_and_groups() {
        let r = rbac(&format!(
            "{USE_ALL}---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: crb}}
roleRef: {{kind: ClusterRole, name: use-psp}}
subjects:
- {{kind: User, name: 'system:serviceaccount:shop:app', apiGroup: rbac.authorization.k8s.io}}
- {{kind: Group, name: 'system:serviceaccounts:billing', apiGroup: rbac.authorization.k8s.io}}
"
        ));
        assert!(r.allows(&app(), &psp_use("shop", "p")));
        assert!(r.allows(
            &Identity::service_account("billing", "x"),
            &psp_use("anywhere", "p")
        ));
        assert!(!r.allows(
            &Identity::service_account("shop", "other"),
            &psp_use("shop", "p")
        ));
        // A User subject is case-sensitive.
        assert!(!r.allows(
            &Identity::new("System:ServiceAccount:shop:app", &[]),
            &psp_use("shop", "p")
        ));
    }

    #[test]
    fn role_bindings_of_other_namespaces_do_not_count() {
        let r = rbac(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: use-psp, namespace: elsewhere}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: elsewhere}
roleRef: {kind: Role, name: use-psp}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
",
        );
        assert!(!r.allows(&app(), &psp_use("shop", "p")));
        assert!(r.allows(&app(), &psp_use("elsewhere", "p")));
    }

    #[test]
    fn role_refs_resolve_in_the_binding_namespace() {
        // The Role exists only in `elsewhere`; the RoleBinding in `shop` refers to a missing role.
        let r = rbac(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: use-psp, namespace: elsewhere}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb, namespace: shop}
roleRef: {kind: Role, name: use-psp}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: Role, name: use-psp}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
",
        );
        assert!(!r.allows(&app(), &psp_use("shop", "p")));
        assert_eq!(r.unresolved().count(), 2);
    }

    #[test]
    fn aggregation_with_match_labels_expressions_and_chains() {
        let r = rbac(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: top}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {tier: middle}
rules:
- {apiGroups: ['*'], resources: ['*'], verbs: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: middle, labels: {tier: middle}}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions:
    - {key: grants, operator: In, values: [psp, scc]}
    - {key: disabled, operator: DoesNotExist}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: leaf, labels: {grants: psp}}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [p]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: off, labels: {grants: psp, disabled: 'yes-really'}}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [q]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: top}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
",
        );
        assert!(r.allows(&app(), &psp_use("shop", "p")));
        assert!(!r.allows(&app(), &psp_use("shop", "q")));
        // Hand-written rules on an aggregated role are replaced.
        assert!(!r.allows(
            &app(),
            &Request {
                verb: "delete",
                ..psp_use("shop", "p")
            }
        ));
        assert_eq!(r.cluster_role("top").unwrap().len(), 1);
        assert_eq!(r.cluster_role("middle").unwrap().len(), 1);
    }

    #[test]
    fn aggregation_cycles_terminate() {
        let r = rbac(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a, labels: {ring: 'true'}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {ring: 'true'}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b, labels: {ring: 'true'}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {ring: 'true'}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c, labels: {ring: 'true'}}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: a}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
",
        );
        assert!(r.allows(&app(), &psp_use("shop", "p")));
        assert_eq!(r.cluster_role("a").unwrap().len(), 1);
        assert_eq!(r.cluster_role("b").unwrap().len(), 1);
    }

    #[test]
    fn not_in_and_empty_selector() {
        let r = rbac(
            "
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: agg}
aggregationRule:
  clusterRoleSelectors:
  - matchExpressions: [{key: team, operator: NotIn, values: [blue]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: blue, labels: {team: blue}}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [blue]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: unlabelled}
rules:
- {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [plain]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {kind: ClusterRole, name: agg}
subjects:
- {kind: Group, name: 'system:serviceaccounts'}
",
        );
        assert!(r.allows(&app(), &psp_use("shop", "plain")));
        assert!(!r.allows(&app(), &psp_use("shop", "blue")));
    }
}
