//! Workloads: the pod template of every kind that makes pods (SPEC 3.3), and its containers.

use crate::source::{Node, Object, node::NULL};

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerList {
    /// `initContainers`
    Init,
    /// `containers`
    App,
    /// `ephemeralContainers`
    Ephemeral,
}

impl ContainerList {
    /// The field name in the pod spec.
    #[must_use]
    pub fn field(self) -> &'static str {
        match self {
            Self::Init => "initContainers",
            Self::App => "containers",
            Self::Ephemeral => "ephemeralContainers",
        }
    }
}

/// One container of a pod template.
#[derive(Debug, Clone, Copy)]
pub struct Container<'a> {
    /// Which list it is in.
    pub list: ContainerList,
    /// Index in that list.
    pub index: usize,
    /// `name`.
    pub name: &'a str,
    /// The container node.
    pub node: &'a Node,
}

/// Names of the containers that Istio itself injects or runs; never application problems.
pub const ISTIO_CONTAINERS: [&str; 4] = [
    "istio-proxy",
    "istio-init",
    "istio-validation",
    "istio-operator",
];

impl<'a> Container<'a> {
    /// Whether Istio injected or owns this container.
    #[must_use]
    pub fn is_istio(&self) -> bool {
        ISTIO_CONTAINERS.contains(&self.name)
    }

    /// Whether the container runs for the pod's whole life and serves its ports: an app
    /// container or a native sidecar (an init container with `restartPolicy: Always`).
    #[must_use]
    pub fn serves_pod_ports(&self) -> bool {
        self.list == ContainerList::App
            || (self.list == ContainerList::Init
                && self.node.get("restartPolicy").and_then(Node::as_str) == Some("Always"))
    }

    /// The container's `ports` entries.
    #[must_use]
    pub fn ports(&self) -> &'a [Node] {
        self.node.get("ports").map(Node::items).unwrap_or_default()
    }
}

/// A workload: an object and its pod template.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    /// Index of the object in the input.
    pub object_index: usize,
    /// The object.
    pub object: &'a Object,
    /// JSON pointer of the pod template within the object (`""` for a Pod); objects with
    /// several templates (a RayCluster's head and worker groups) make one workload each.
    pub template: &'a str,
    /// The template's (or Pod's) `metadata`.
    pub meta: &'a Node,
    /// The pod spec.
    pub spec: &'a Node,
}

impl<'a> Workload<'a> {
    /// The workload view of an object's first pod template, if its kind makes pods and it has
    /// one (see [`Workload::all`]).
    #[must_use]
    pub fn new(object_index: usize, object: &'a Object) -> Option<Self> {
        Self::all(object_index, object).next()
    }

    /// One workload per pod template of the object (none when its kind makes no pods).
    pub fn all(object_index: usize, object: &'a Object) -> impl Iterator<Item = Self> + use<'a> {
        object
            .templates
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(move |template| {
                let tpl = object.root.pointer(template).filter(|t| t.is_map())?;
                Some(Self {
                    object_index,
                    object,
                    template,
                    meta: tpl.get("metadata").unwrap_or(&NULL),
                    spec: tpl.get("spec").unwrap_or(&NULL),
                })
            })
    }

    /// A JSON pointer into the pod template (`rest` starts with `/`).
    #[must_use]
    pub fn pointer(&self, rest: &str) -> String {
        format!("{}{}", self.template, rest)
    }

    /// A JSON pointer to a field of a container.
    #[must_use]
    pub fn container_pointer(&self, c: &Container<'_>, rest: &str) -> String {
        format!(
            "{}/spec/{}/{}{}",
            self.template,
            c.list.field(),
            c.index,
            rest
        )
    }

    /// The pod template's label value for `key`.
    #[must_use]
    pub fn label(&self, key: &str) -> Option<std::borrow::Cow<'a, str>> {
        scalar(self.meta.at(&["labels", key]))
    }

    /// The pod template's annotation value for `key`.
    #[must_use]
    pub fn annotation(&self, key: &str) -> Option<String> {
        self.meta
            .at(&["annotations", key])
            .and_then(Node::scalar_text)
    }

    /// The pod template's labels.
    pub fn labels(&self) -> impl Iterator<Item = (&'a str, std::borrow::Cow<'a, str>)> + use<'a> {
        crate::source::string_map(self.meta.get("labels"))
    }

    /// Every container: init containers, then containers, then ephemeral containers.
    pub fn containers(&self) -> impl Iterator<Item = Container<'a>> + use<'a> {
        let spec = self.spec;
        [
            ContainerList::Init,
            ContainerList::App,
            ContainerList::Ephemeral,
        ]
        .into_iter()
        .flat_map(move |list| {
            spec.get(list.field())
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(move |(index, node)| Container {
                    list,
                    index,
                    name: node.get("name").and_then(Node::as_str).unwrap_or(""),
                    node,
                })
        })
    }

    /// The application's containers (every container that Istio did not inject).
    pub fn app_containers(&self) -> impl Iterator<Item = Container<'a>> + use<'a> {
        self.containers().filter(|c| !c.is_istio())
    }

    /// The pod's ServiceAccount (`serviceAccountName`, alias `serviceAccount`, default `default`).
    #[must_use]
    pub fn service_account(&self) -> &'a str {
        self.spec
            .get("serviceAccountName")
            .and_then(Node::as_str)
            .filter(|s| !s.is_empty())
            .or_else(|| {
                self.spec
                    .get("serviceAccount")
                    .and_then(Node::as_str)
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or("default")
    }

    /// Whether the pod uses the host's network namespace.
    #[must_use]
    pub fn host_network(&self) -> bool {
        self.spec.get("hostNetwork").and_then(Node::as_bool) == Some(true)
    }

    /// Whether Istio has already injected this pod template (a running pod, or a manifest
    /// produced by `istioctl kube-inject`).
    #[must_use]
    pub fn already_injected(&self) -> bool {
        // A container `istio-proxy` with `image: auto` (or none) is a customisation that the
        // injector merges into the proxy it injects, not a proxy.
        self.annotation("sidecar.istio.io/status").is_some()
            || self.containers().any(|c| {
                c.name == "istio-proxy"
                    && c.list != ContainerList::Ephemeral
                    && c.node
                        .get("image")
                        .and_then(Node::as_str)
                        .is_some_and(|i| !i.is_empty() && i != "auto")
            })
    }
}

/// Whether an object belongs to Istio's control plane (label key `istio`, or `release: istio`),
/// as Istio's `util.IsIstioControlPlane` decides.
#[must_use]
pub fn is_istio_control_plane(object: &Object) -> bool {
    object
        .root
        .at(&["metadata", "labels"])
        .is_some_and(|labels| {
            labels.get("istio").is_some()
                || labels.get("release").and_then(Node::as_str) == Some("istio")
        })
}

/// A scalar's text, borrowed when it is a string.
fn scalar(node: Option<&Node>) -> Option<std::borrow::Cow<'_, str>> {
    let node = node?;
    match node.as_str() {
        Some(s) => Some(std::borrow::Cow::Borrowed(s)),
        None => node.scalar_text().map(std::borrow::Cow::Owned),
    }
}
