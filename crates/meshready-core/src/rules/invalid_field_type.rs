//! MR0023: a field the mesh checks read has a type or value the API server rejects.

use crate::finding::Finding;
use std::fmt::Write;

use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::kinds::is_known_object;
use crate::source::{Node, Object, Value};

declare_rule! {
    /// ## What it checks
    /// The fields meshready's rules read, against the types the Kubernetes API defines:
    /// `metadata`, `labels` and `annotations` are mappings; container lists are lists of
    /// mappings; `containerPort`, `port`, `hostPort` are integers from 1 to 65535 and
    /// `targetPort` an integer or a name; `runAsUser`, `runAsGroup` are integers from 0 to
    /// 2147483647; `runAsNonRoot`, `privileged`, `allowPrivilegeEscalation`,
    /// `readOnlyRootFilesystem`, `hostNetwork` are booleans; `protocol` is TCP, UDP or SCTP;
    /// capability lists are lists of strings. Objects read from the API server (`meshready
    /// cluster`, the webhook's reviews) are not checked: the API server validated them when it
    /// stored them.
    ///
    /// ## Why it matters in the mesh
    /// The API server rejects such an object (`containerPort: abc`, `runAsUser: "1337"`, labels
    /// written as a list), so whatever the mesh checks conclude about it, it will not run. Other
    /// linters often skip the field silently, which hides both the typo and the mesh problem
    /// behind it. meshready reports the field and analyses the rest of the object.
    ///
    /// ## Example
    /// ```yaml
    /// ports:
    /// - containerPort: abc
    /// securityContext:
    ///   runAsUser: "1337"
    /// ```
    ///
    /// ## Fix
    /// Write the value with the type the API expects (`containerPort: 8080`, `runAsUser: 1337`
    /// without quotes).
    ///
    /// ## References
    /// - https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/
    /// - https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/
    pub struct InvalidFieldType {
        code: "MR0023",
        name: "invalid-field-type",
        severity: Error,
        summary: "a field has a type or value that the Kubernetes API rejects",
        istio_versions: "all (a Kubernetes API rule)",
    }
}

/// What a field must be.
#[derive(Clone, Copy)]
enum Kind {
    Map,
    List,
    Bool,
    Port,
    Id,
    IntOrName,
    Protocol,
    Str,
    StrList,
}

impl Kind {
    fn accepts(self, node: &Node) -> bool {
        match self {
            Self::Map => node.is_map() || node.is_null(),
            Self::List => matches!(node.value, Value::Seq(_) | Value::Null),
            Self::Bool => node.as_bool().is_some() || node.is_null(),
            Self::Port => node.as_i64().is_some_and(|p| (1..=65535).contains(&p)),
            Self::Id => node
                .as_i64()
                .is_some_and(|p| (0..=i64::from(i32::MAX)).contains(&p)),
            Self::IntOrName => {
                node.as_i64().is_some_and(|p| (0..=65535).contains(&p))
                    || node.as_str().is_some_and(|s| !s.is_empty())
            }
            Self::Protocol => matches!(node.as_str(), Some("TCP" | "UDP" | "SCTP")),
            Self::Str => node.as_str().is_some(),
            Self::StrList => {
                node.items().iter().all(|i| i.as_str().is_some())
                    && matches!(node.value, Value::Seq(_) | Value::Null)
            }
        }
    }

    fn expected(self) -> &'static str {
        match self {
            Self::Map => "a mapping",
            Self::List => "a list",
            Self::Bool => "a boolean",
            Self::Port => "a port number from 1 to 65535",
            Self::Id => "an integer from 0 to 2147483647",
            Self::IntOrName => "a port number or a port name",
            Self::Protocol => "TCP, UDP or SCTP",
            Self::Str => "a string",
            Self::StrList => "a list of strings",
        }
    }
}

const SECURITY_CONTEXT: &[(&str, Kind)] = &[
    ("runAsUser", Kind::Id),
    ("runAsGroup", Kind::Id),
    ("runAsNonRoot", Kind::Bool),
    ("privileged", Kind::Bool),
    ("allowPrivilegeEscalation", Kind::Bool),
    ("readOnlyRootFilesystem", Kind::Bool),
    ("capabilities", Kind::Map),
];

struct Checker<'c, 'x, 'y> {
    cx: &'c Ctx<'x, 'y>,
    object: &'c Object,
    out: &'c mut Vec<Finding>,
    /// JSON pointer of the node being checked; segments are pushed and truncated, so the
    /// common case (every field valid) allocates nothing.
    path: String,
}

impl Checker<'_, '_, '_> {
    fn enter(&mut self, segment: impl std::fmt::Display) -> usize {
        let len = self.path.len();
        let _ = write!(self.path, "/{segment}");
        len
    }

    fn field(&mut self, parent: &Node, key: &str, kind: Kind) {
        let Some(node) = parent.get(key) else { return };
        if kind.accepts(node) {
            return;
        }
        let shown = node.scalar_text().map_or_else(
            || format!("a {}", node.type_name()),
            |t| format!("{} `{t}`", node.type_name()),
        );
        let pointer = format!("{}/{key}", self.path);
        self.out.push(self.cx.finding(
            &InvalidFieldType::META,
            self.object,
            &pointer,
            format!(
                "`{key}` is {shown}, but the API expects {}",
                kind.expected()
            ),
            format!(
                "Write `{key}` as {}; the API server rejects this object as it is.",
                kind.expected()
            ),
        ));
    }

    fn security_context(&mut self, parent: &Node) {
        let Some(sc) = parent.get("securityContext") else {
            return;
        };
        self.field(parent, "securityContext", Kind::Map);
        let len = self.enter("securityContext");
        for (key, kind) in SECURITY_CONTEXT {
            self.field(sc, key, *kind);
        }
        if let Some(caps) = sc.get("capabilities") {
            let inner = self.enter("capabilities");
            for key in ["add", "drop"] {
                self.field(caps, key, Kind::StrList);
            }
            self.path.truncate(inner);
        }
        self.path.truncate(len);
    }

    fn metadata(&mut self, parent: &Node) {
        let Some(meta) = parent.get("metadata") else {
            return;
        };
        self.field(parent, "metadata", Kind::Map);
        let len = self.enter("metadata");
        for key in ["labels", "annotations"] {
            self.field(meta, key, Kind::Map);
        }
        self.path.truncate(len);
    }

    fn pod_spec(&mut self, spec: &Node) {
        let len = self.enter("spec");
        self.field(spec, "hostNetwork", Kind::Bool);
        self.field(spec, "serviceAccountName", Kind::Str);
        self.security_context(spec);
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            self.field(spec, list, Kind::List);
            let Some(items) = spec.get(list) else {
                continue;
            };
            let list_len = self.enter(list);
            for (i, c) in items.items().iter().enumerate() {
                if !c.is_map() {
                    self.field(items, &i.to_string(), Kind::Map);
                    continue;
                }
                let c_len = self.enter(i);
                self.field(c, "name", Kind::Str);
                self.field(c, "ports", Kind::List);
                if let Some(ports) = c.get("ports") {
                    let ports_len = self.enter("ports");
                    for (j, p) in ports.items().iter().enumerate() {
                        let p_len = self.enter(j);
                        self.field(p, "containerPort", Kind::Port);
                        if p.get("containerPort").is_none() && p.is_map() {
                            self.missing("containerPort");
                        }
                        self.field(p, "hostPort", Kind::Port);
                        self.field(p, "protocol", Kind::Protocol);
                        self.path.truncate(p_len);
                    }
                    self.path.truncate(ports_len);
                }
                self.security_context(c);
                self.path.truncate(c_len);
            }
            self.path.truncate(list_len);
        }
        self.path.truncate(len);
    }

    fn service(&mut self) {
        let Some(spec) = self.object.root.get("spec") else {
            return;
        };
        self.field(&self.object.root, "spec", Kind::Map);
        let len = self.enter("spec");
        self.field(spec, "selector", Kind::Map);
        self.field(spec, "ports", Kind::List);
        let ports_len = self.enter("ports");
        for (i, p) in spec
            .get("ports")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let p_len = self.enter(i);
            self.field(p, "port", Kind::Port);
            if p.get("port").is_none() && p.is_map() {
                self.missing("port");
            }
            self.field(p, "targetPort", Kind::IntOrName);
            self.field(p, "protocol", Kind::Protocol);
            self.field(p, "name", Kind::Str);
            self.path.truncate(p_len);
        }
        self.path.truncate(ports_len);
        self.path.truncate(len);
    }

    fn missing(&mut self, key: &str) {
        let pointer = self.path.clone();
        self.out.push(self.cx.finding(
            &InvalidFieldType::META,
            self.object,
            &pointer,
            format!("`{key}` is missing, but the API requires it"),
            format!("Add `{key}`; the API server rejects this object without it."),
        ));
    }
}

impl Rule for InvalidFieldType {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for object in cx.model.objects {
            // The API server decoded it into the API's types: nothing to find.
            if !is_known_object(object) || object.decoded_by_api_server() {
                continue;
            }
            let mut checker = Checker {
                cx,
                object,
                out: &mut *out,
                path: String::with_capacity(96),
            };
            checker.metadata(&object.root);
            if object.kind == "Service" {
                checker.service();
            }
            for template in object.templates.as_deref().unwrap_or_default() {
                let Some(node) = object.root.pointer(template) else {
                    continue;
                };
                checker.path.clear();
                checker.path.push_str(template);
                if !template.is_empty() {
                    checker.metadata(node);
                }
                if let Some(spec) = node.get("spec") {
                    checker.pod_spec(spec);
                }
            }
        }
    }
}
