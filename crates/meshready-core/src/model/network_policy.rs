//! Kubernetes NetworkPolicy, as the API defines its ingress semantics: which pods a policy
//! selects, whether it isolates them for ingress, and which ports and sources it admits.
//!
//! Semantics (`networking.k8s.io/v1`): a pod is isolated for ingress when at least one policy of
//! its namespace selects it and lists `Ingress` in `policyTypes` (absent `policyTypes` means
//! `Ingress`, plus `Egress` when `egress` is present). Its allowed ingress is the union of the
//! `ingress` rules of those policies (policies are additive). In a rule, absent or empty `ports`
//! means every port and absent or empty `from` means every source; a named port matches a
//! container port of that name and protocol; `endPort` makes a range.

use std::borrow::Cow;
use std::net::IpAddr;

use super::workload::{Container, Workload};
use crate::source::{Node, Object};

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone)]
pub struct LabelSelector<'a> {
    match_labels: Vec<(&'a str, Cow<'a, str>)>,
    expressions: Vec<Requirement<'a>>,
    /// An operator the API server would reject: the selector selects nothing.
    invalid: bool,
}

#[derive(Debug, Clone)]
struct Requirement<'a> {
    key: &'a str,
    operator: Operator,
    values: Vec<Cow<'a, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    In,
    NotIn,
    Exists,
    DoesNotExist,
}

impl<'a> LabelSelector<'a> {
    /// Reads a selector; an absent one is empty (selects everything).
    #[must_use]
    pub fn new(node: Option<&'a Node>) -> Self {
        let match_labels =
            crate::source::string_map(node.and_then(|n| n.get("matchLabels"))).collect();
        let mut invalid = false;
        let expressions = node
            .and_then(|n| n.get("matchExpressions"))
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let key = e.get("key").and_then(Node::as_str);
                let operator = match e.get("operator").and_then(Node::as_str) {
                    Some("In") => Some(Operator::In),
                    Some("NotIn") => Some(Operator::NotIn),
                    Some("Exists") => Some(Operator::Exists),
                    Some("DoesNotExist") => Some(Operator::DoesNotExist),
                    _ => None,
                };
                let (Some(key), Some(operator)) = (key, operator) else {
                    invalid = true;
                    return None;
                };
                let values = e
                    .get("values")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| match v.as_str() {
                        Some(s) => Some(Cow::Borrowed(s)),
                        None => v.scalar_text().map(Cow::Owned),
                    })
                    .collect();
                Some(Requirement {
                    key,
                    operator,
                    values,
                })
            })
            .collect();
        Self {
            match_labels,
            expressions,
            invalid,
        }
    }

    /// Whether the selector matches these labels.
    #[must_use]
    pub fn matches(&self, labels: &[(&str, Cow<'_, str>)]) -> bool {
        let get = |key: &str| labels.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v);
        !self.invalid
            && self.match_labels.iter().all(|(k, v)| get(k) == Some(&**v))
            && self.expressions.iter().all(|r| match r.operator {
                Operator::In => get(r.key).is_some_and(|v| r.values.iter().any(|x| x == v)),
                Operator::NotIn => get(r.key).is_none_or(|v| r.values.iter().all(|x| x != v)),
                Operator::Exists => get(r.key).is_some(),
                Operator::DoesNotExist => get(r.key).is_none(),
            })
    }
}

/// A `NetworkPolicyPort`.
#[derive(Debug, Clone)]
pub struct PolicyPort<'a> {
    /// `protocol`, default `TCP`.
    pub protocol: &'a str,
    /// `port`: `None` means every port.
    pub port: Option<PortRef<'a>>,
    /// `endPort`: with a numeric `port`, the last port of the range.
    pub end_port: Option<i64>,
}

/// A port number or a container port name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef<'a> {
    /// A number.
    Number(i64),
    /// A named container port.
    Name(&'a str),
}

/// A peer in `from`.
#[derive(Debug, Clone)]
pub enum Peer {
    /// `ipBlock`: addresses in `cidr` but in none of `except`.
    IpBlock {
        /// `cidr`, when it parses.
        cidr: Option<Cidr>,
        /// `except`.
        except: Vec<Cidr>,
    },
    /// `podSelector` and/or `namespaceSelector`: pods, never a node-local address.
    Pods,
}

/// An IP prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` or an IPv6 prefix.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether the prefix contains `ip`.
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// One entry of `spec.ingress`.
#[derive(Debug, Clone)]
pub struct IngressRule<'a> {
    /// Index in `spec.ingress`.
    pub index: usize,
    /// `from`; empty means every source.
    pub from: Vec<Peer>,
    /// `ports`; empty means every port.
    pub ports: Vec<PolicyPort<'a>>,
}

/// A container port of the selected pod, for named-port resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodPort<'a> {
    /// `name`.
    pub name: &'a str,
    /// `containerPort`.
    pub number: i64,
    /// `protocol`, default `TCP`.
    pub protocol: &'a str,
}

/// The named container ports of a workload's pods (containers and native sidecars).
#[must_use]
pub fn pod_ports<'a>(w: &Workload<'a>) -> Vec<PodPort<'a>> {
    w.containers()
        .filter(Container::serves_pod_ports)
        .flat_map(|c| c.ports())
        .filter_map(|p| {
            Some(PodPort {
                name: p.get("name").and_then(Node::as_str).unwrap_or(""),
                number: p.get("containerPort").and_then(Node::as_i64)?,
                protocol: l4(p.get("protocol")),
            })
        })
        .collect()
}

fn l4(node: Option<&Node>) -> &str {
    node.and_then(Node::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("TCP")
}

impl IngressRule<'_> {
    /// Whether the rule admits traffic to `port`/`protocol` of a pod with `pod_ports`, from some
    /// source.
    #[must_use]
    pub fn admits_port(&self, port: i64, protocol: &str, pod_ports: &[PodPort<'_>]) -> bool {
        self.ports.is_empty()
            || self.ports.iter().any(|p| {
                p.protocol == protocol
                    && match &p.port {
                        None => true,
                        Some(PortRef::Number(n)) => match p.end_port {
                            Some(end) => (*n..=end).contains(&port),
                            None => *n == port,
                        },
                        Some(PortRef::Name(name)) => pod_ports.iter().any(|pp| {
                            !pp.name.is_empty()
                                && pp.name == *name
                                && pp.number == port
                                && pp.protocol == protocol
                        }),
                    }
            })
    }

    /// Whether the rule admits traffic from the address `ip` (not a pod's).
    #[must_use]
    pub fn admits_source(&self, ip: IpAddr) -> bool {
        self.from.is_empty()
            || self.from.iter().any(|peer| match peer {
                Peer::IpBlock { cidr, except } => {
                    cidr.is_some_and(|c| c.contains(ip)) && !except.iter().any(|e| e.contains(ip))
                }
                Peer::Pods => false,
            })
    }
}

/// A NetworkPolicy.
#[derive(Debug, Clone)]
pub struct NetworkPolicy<'a> {
    /// Index of the object in the input.
    pub object_index: usize,
    /// The object.
    pub object: &'a Object,
    /// `spec.podSelector`.
    pub pod_selector: LabelSelector<'a>,
    /// Whether the policy isolates the pods it selects for ingress (`policyTypes`).
    pub restricts_ingress: bool,
    /// `spec.ingress`.
    pub ingress: Vec<IngressRule<'a>>,
}

impl<'a> NetworkPolicy<'a> {
    /// Reads a NetworkPolicy object.
    #[must_use]
    pub fn new(object_index: usize, object: &'a Object) -> Self {
        let spec = object.root.get("spec");
        let field = |key: &str| spec.and_then(|s| s.get(key));
        let restricts_ingress = match field("policyTypes") {
            Some(types) if !types.is_null() => {
                types.items().iter().any(|t| t.as_str() == Some("Ingress"))
            }
            _ => true,
        };
        let ingress = field("ingress")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, rule)| IngressRule {
                index,
                from: rule
                    .get("from")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .map(|peer| match peer.get("ipBlock") {
                        Some(block) => Peer::IpBlock {
                            cidr: block
                                .get("cidr")
                                .and_then(Node::as_str)
                                .and_then(Cidr::parse),
                            except: block
                                .get("except")
                                .map(Node::items)
                                .unwrap_or_default()
                                .iter()
                                .filter_map(|e| e.as_str().and_then(Cidr::parse))
                                .collect(),
                        },
                        None => Peer::Pods,
                    })
                    .collect(),
                ports: rule
                    .get("ports")
                    .map(Node::items)
                    .unwrap_or_default()
                    .iter()
                    .map(|p| PolicyPort {
                        protocol: l4(p.get("protocol")),
                        port: p.get("port").and_then(|port| match port.as_i64() {
                            Some(n) => Some(PortRef::Number(n)),
                            None => port.as_str().map(|s| match s.parse::<i64>() {
                                Ok(n) => PortRef::Number(n),
                                Err(_) => PortRef::Name(s),
                            }),
                        }),
                        end_port: p.get("endPort").and_then(Node::as_i64),
                    })
                    .collect(),
            })
            .collect();
        Self {
            object_index,
            object,
            pod_selector: LabelSelector::new(field("podSelector")),
            restricts_ingress,
            ingress,
        }
    }

    /// Whether the policy selects the pods of `w` (same namespace, selector matches).
    #[must_use]
    pub fn selects(&self, w: &Workload<'_>, labels: &[(&str, Cow<'_, str>)]) -> bool {
        self.object.namespace == w.object.namespace && self.pod_selector.matches(labels)
    }

    /// The JSON pointer to report a policy's ingress restriction at.
    #[must_use]
    pub fn ingress_pointer(&self) -> &'static str {
        let spec = self.object.root.get("spec");
        if spec.and_then(|s| s.get("ingress")).is_some() {
            "/spec/ingress"
        } else if spec.and_then(|s| s.get("policyTypes")).is_some() {
            "/spec/policyTypes"
        } else if spec.is_some() {
            "/spec"
        } else {
            ""
        }
    }
}

/// Every NetworkPolicy of the input, in input order.
#[must_use]
pub fn network_policies(objects: &[Object]) -> Vec<NetworkPolicy<'_>> {
    objects
        .iter()
        .enumerate()
        .filter(|(_, o)| {
            o.kind == "NetworkPolicy" && o.api_version.starts_with("networking.k8s.io/")
        })
        .map(|(i, o)| NetworkPolicy::new(i, o))
        .collect()
}

/// The policies that isolate the pods of `w` for ingress; empty when the pods are not isolated
/// (all ingress allowed).
#[must_use]
pub fn isolating<'p, 'a>(
    policies: &'p [NetworkPolicy<'a>],
    w: &Workload<'_>,
) -> Vec<&'p NetworkPolicy<'a>> {
    let labels: Vec<(&str, Cow<'_, str>)> = w.labels().collect();
    policies
        .iter()
        .filter(|p| p.restricts_ingress && p.selects(w, &labels))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    fn load(text: &str) -> Vec<Object> {
        let loaded = load_str("t.yaml", text, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        loaded.objects
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a, labels: {app: web, tier: front}}\nspec:\n  containers:\n  - name: c\n    ports: [{name: http, containerPort: 8080}, {name: dns, containerPort: 53, protocol: UDP}]\n";

    fn policy(spec: &str) -> String {
        format!(
            "{POD}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: a}}\nspec: {spec}\n"
        )
    }

    fn with<T>(spec: &str, f: impl FnOnce(&[NetworkPolicy<'_>], &Workload<'_>) -> T) -> T {
        let objects = load(&policy(spec));
        let w = Workload::new(0, &objects[0]).unwrap();
        let policies = network_policies(&objects);
        f(&policies, &w)
    }

    fn admits(spec: &str, port: i64) -> bool {
        with(spec, |ps, w| {
            let isolating = isolating(ps, w);
            isolating.is_empty()
                || isolating.iter().any(|p| {
                    p.ingress
                        .iter()
                        .any(|r| r.admits_port(port, "TCP", &pod_ports(w)))
                })
        })
    }

    #[test]
    fn selectors_follow_label_selector_semantics() {
        let selected = |sel: &str| {
            with(&format!("{{podSelector: {sel}}}"), |ps, w| {
                !isolating(ps, w).is_empty()
            })
        };
        assert!(selected("{}"));
        assert!(selected("{matchLabels: {app: web}}"));
        assert!(!selected("{matchLabels: {app: api}}"));
        assert!(selected(
            "{matchExpressions: [{key: tier, operator: In, values: [front, back]}]}"
        ));
        assert!(!selected(
            "{matchExpressions: [{key: tier, operator: NotIn, values: [front]}]}"
        ));
        assert!(selected(
            "{matchExpressions: [{key: zone, operator: NotIn, values: [x]}]}"
        ));
        assert!(selected(
            "{matchExpressions: [{key: app, operator: Exists}]}"
        ));
        assert!(!selected(
            "{matchExpressions: [{key: app, operator: DoesNotExist}]}"
        ));
        assert!(!selected(
            "{matchExpressions: [{key: app, operator: Bogus}]}"
        ));
    }

    #[test]
    fn policy_types_default_and_egress_only_policies() {
        let isolated = |spec: &str| with(spec, |ps, w| !isolating(ps, w).is_empty());
        assert!(isolated("{podSelector: {}}"));
        assert!(isolated("{podSelector: {}, egress: [{}]}"));
        assert!(!isolated("{podSelector: {}, policyTypes: [Egress]}"));
        assert!(isolated(
            "{podSelector: {}, policyTypes: [Egress, Ingress]}"
        ));
    }

    #[test]
    fn ports_empty_numbered_named_and_ranges() {
        assert!(!admits("{podSelector: {}}", 15008), "deny all");
        assert!(
            admits("{podSelector: {}, ingress: [{}]}", 15008),
            "allow all"
        );
        assert!(admits(
            "{podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}",
            15008
        ));
        assert!(!admits(
            "{podSelector: {}, ingress: [{ports: [{port: 8080}]}]}",
            15008
        ));
        assert!(admits(
            "{podSelector: {}, ingress: [{ports: [{port: 8080}]}]}",
            8080
        ));
        assert!(admits(
            "{podSelector: {}, ingress: [{ports: [{port: http}]}]}",
            8080
        ));
        assert!(!admits(
            "{podSelector: {}, ingress: [{ports: [{port: dns}]}]}",
            53
        ));
        assert!(admits(
            "{podSelector: {}, ingress: [{ports: [{port: 15000, endPort: 15010}]}]}",
            15008
        ));
        assert!(!admits(
            "{podSelector: {}, ingress: [{ports: [{port: 15009, endPort: 15010}]}]}",
            15008
        ));
        assert!(!admits(
            "{podSelector: {}, ingress: [{ports: [{port: 15008, protocol: UDP}]}]}",
            15008
        ));
        assert!(admits(
            "{podSelector: {}, ingress: [{ports: [{protocol: TCP}]}]}",
            15008
        ));
    }

    #[test]
    fn policies_are_additive() {
        let text = format!(
            "{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: hbone, namespace: a}}\nspec: {{podSelector: {{matchLabels: {{app: web}}}}, ingress: [{{ports: [{{port: 15008}}]}}]}}\n",
            policy("{podSelector: {}, ingress: [{ports: [{port: 8080}]}]}")
        );
        let objects = load(&text);
        let w = Workload::new(0, &objects[0]).unwrap();
        let policies = network_policies(&objects);
        let isolating = isolating(&policies, &w);
        assert_eq!(isolating.len(), 2);
        assert!(
            isolating
                .iter()
                .any(|p| p.ingress.iter().any(|r| r.admits_port(15008, "TCP", &[])))
        );
    }

    #[test]
    fn ip_blocks_with_exceptions() {
        let probe = IpAddr::V4(crate::istio::AMBIENT_PROBE_SOURCE);
        let from = |peers: &str| {
            with(
                &format!("{{podSelector: {{}}, ingress: [{{from: {peers}}}]}}"),
                |ps, _| ps[0].ingress[0].admits_source(probe),
            )
        };
        assert!(from("[]"));
        assert!(from("[{ipBlock: {cidr: 169.254.7.127/32}}]"));
        assert!(from("[{ipBlock: {cidr: 169.254.0.0/16}}]"));
        assert!(from("[{ipBlock: {cidr: 0.0.0.0/0}}]"));
        assert!(!from(
            "[{ipBlock: {cidr: 0.0.0.0/0, except: [169.254.0.0/16]}}]"
        ));
        assert!(!from("[{ipBlock: {cidr: 10.0.0.0/8}}]"));
        assert!(!from("[{ipBlock: {cidr: '::/0'}}]"));
        assert!(!from("[{ipBlock: {cidr: bogus}}]"));
        assert!(!from("[{podSelector: {}}, {namespaceSelector: {}}]"));
    }
}
