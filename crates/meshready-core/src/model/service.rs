//! Services: selectors, ports with their Istio protocol, and targetPort resolution (SPEC 3.3).

use super::protocol::{Protocol, convert_protocol};
use super::workload::{Container, Workload};
use crate::source::{Node, Object};

/// A Service's `targetPort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetPort {
    /// A number.
    Number(i64),
    /// A container port name.
    Name(String),
}

impl TargetPort {
    /// As istioctl prints it (`TargetPort.String()`).
    #[must_use]
    pub fn text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Name(s) => s.clone(),
        }
    }
}

/// One entry of `spec.ports`.
#[derive(Debug, Clone)]
pub struct ServicePort<'a> {
    /// Index in `spec.ports`.
    pub index: usize,
    /// `name` (empty when unnamed).
    pub name: &'a str,
    /// `port`.
    pub port: i64,
    /// `protocol` with Kubernetes' default (`TCP`).
    pub l4: &'a str,
    /// `appProtocol`, when present.
    pub app_protocol: Option<&'a str>,
    /// `targetPort`, defaulted to `port`.
    pub target: TargetPort,
    /// The Istio protocol.
    pub protocol: Protocol,
}

/// A Service.
#[derive(Debug, Clone)]
pub struct Service<'a> {
    /// Index of the object in the input.
    pub object_index: usize,
    /// The object.
    pub object: &'a Object,
    /// `spec.selector` (empty: selects nothing).
    pub selector: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
    /// `spec.type` (`ClusterIP` by default).
    pub service_type: &'a str,
    /// `spec.ports`.
    pub ports: Vec<ServicePort<'a>>,
}

impl<'a> Service<'a> {
    /// Builds the Service view of an object of kind `Service`.
    #[must_use]
    pub fn new(object_index: usize, object: &'a Object) -> Self {
        let spec = object.root.get("spec");
        let service_type = spec
            .and_then(|s| s.get("type"))
            .and_then(Node::as_str)
            .unwrap_or("ClusterIP");
        let selector = if service_type == "ExternalName" {
            Vec::new()
        } else {
            crate::source::string_map(spec.and_then(|s| s.get("selector"))).collect()
        };
        let ports = spec
            .and_then(|s| s.get("ports"))
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .filter_map(|(index, p)| {
                let port = p.get("port").and_then(Node::as_i64)?;
                let name = p.get("name").and_then(Node::as_str).unwrap_or("");
                let l4 = p
                    .get("protocol")
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("TCP");
                let app_protocol = p.get("appProtocol").map(|a| a.as_str().unwrap_or(""));
                let target = match p.get("targetPort") {
                    Some(t) => match (&t.value, t.as_i64()) {
                        (_, Some(0)) => TargetPort::Number(port),
                        (_, Some(n)) => TargetPort::Number(n),
                        (crate::source::Value::Str(s), _) if s.is_empty() => {
                            TargetPort::Number(port)
                        }
                        (crate::source::Value::Str(s), _) => match s.parse::<i64>() {
                            Ok(n) => TargetPort::Number(n),
                            Err(_) => TargetPort::Name(s.to_string()),
                        },
                        _ => TargetPort::Number(port),
                    },
                    None => TargetPort::Number(port),
                };
                let protocol = convert_protocol(port, name, Some(l4), app_protocol);
                Some(ServicePort {
                    index,
                    name,
                    port,
                    l4,
                    app_protocol,
                    target,
                    protocol,
                })
            })
            .collect();
        Self {
            object_index,
            object,
            selector,
            service_type,
            ports,
        }
    }

    /// Whether the Service selects pods with these labels (every selector key present with an
    /// equal value; an empty selector selects nothing).
    #[must_use]
    pub fn selects(&self, labels: &[(&str, std::borrow::Cow<'_, str>)]) -> bool {
        !self.selector.is_empty()
            && self
                .selector
                .iter()
                .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
    }

    /// `namespace/name`.
    #[must_use]
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.object.namespace, self.object.name)
    }
}

/// A container port that a Service port reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPort {
    /// The container port number.
    pub number: i64,
    /// Where it is declared, if it is (a numeric targetPort need not be declared).
    pub pointer: Option<String>,
}

/// Resolves a Service port's targetPort in a pod template, as the EndpointSlice controller does
/// (`FindPort`): a name matches the first container port with that name and the same L4
/// protocol, in `containers` and in native-sidecar init containers; a number is used as is.
#[must_use]
pub fn resolve_target(port: &ServicePort<'_>, workload: &Workload<'_>) -> Option<ResolvedPort> {
    for c in workload.containers().filter(Container::serves_pod_ports) {
        for (i, cp) in c.ports().iter().enumerate() {
            let number = cp.get("containerPort").and_then(Node::as_i64);
            let l4 = cp
                .get("protocol")
                .and_then(Node::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("TCP");
            let matched = match &port.target {
                TargetPort::Name(name) => {
                    cp.get("name").and_then(Node::as_str) == Some(name.as_str()) && l4 == port.l4
                }
                TargetPort::Number(n) => number == Some(*n) && l4 == port.l4,
            };
            if let (true, Some(number)) = (matched, number) {
                return Some(ResolvedPort {
                    number,
                    pointer: Some(workload.container_pointer(&c, &format!("/ports/{i}"))),
                });
            }
        }
    }
    match &port.target {
        TargetPort::Number(n) => Some(ResolvedPort {
            number: *n,
            pointer: None,
        }),
        TargetPort::Name(_) => None,
    }
}
