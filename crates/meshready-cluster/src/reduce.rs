//! Reducing API objects to what the rules read, while each page is parsed: `managedFields`,
//! `status` (but a Pod's phase), kubectl's last-applied annotation and the container fields no
//! rule reads are skipped by the parser itself, so they are never allocated. Pods whose
//! controller the snapshot holds, and ReplicaSets whose Deployment it holds, are reduced further
//! to the few facts the rules read of an owned object (see [`owned_pod`], [`owned_replicaset`]),
//! and identical owned pods are kept once with their names ([`PodGroups`]): what a read holds is
//! bounded by the number of workloads, not of pods.

use std::collections::{HashMap, HashSet};
use std::fmt;

use meshready_core::istio;
use meshready_core::source::{LoadOptions, Node, Object, object_from_json, node};
use meshready_core::suppress::{IGNORE_ANNOTATION, ISTIO_ANNOTATION};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

/// Container fields no rule reads (the loader drops them too; skipping them while parsing
/// spares their allocation, above all the sidecar's long `env`).
const UNREAD_CONTAINER_FIELDS: [&str; 11] = [
    "env",
    "envFrom",
    "args",
    "command",
    "resources",
    "volumeMounts",
    "volumeDevices",
    "workingDir",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "resizePolicy",
];

/// Pod labels the rules read of a pod that a workload of the snapshot owns: the injector's
/// object selector and opt-outs (mesh membership), and Istio's control-plane labels.
const OWNED_POD_LABELS: [&str; 6] = [
    "sidecar.istio.io/inject",
    "istio.io/rev",
    "istio.io/dataplane-mode",
    "gateway.istio.io/managed",
    "istio",
    "release",
];

/// Where in an object a value is, for deciding what to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The object itself (`pod`: keep the phase of its status).
    Root { pod: bool },
    /// Any other value.
    Any,
    /// An object's or a pod template's `metadata`.
    Metadata,
    /// `metadata.annotations`.
    Annotations,
    /// A list of containers.
    Containers,
    /// One container.
    Container,
    /// A Pod's `status`.
    PodStatus,
}

impl Shape {
    /// The shape of the value under `key` of a mapping of this shape; None: skip it.
    fn child(self, key: &str) -> Option<Self> {
        match self {
            Self::Root { pod } => match key {
                "status" if pod => Some(Self::PodStatus),
                "status" => None,
                "metadata" => Some(Self::Metadata),
                _ => Some(Self::Any),
            },
            Self::Metadata => match key {
                "managedFields" => None,
                "annotations" => Some(Self::Annotations),
                _ => Some(Self::Any),
            },
            Self::Annotations => {
                (key != "kubectl.kubernetes.io/last-applied-configuration").then_some(Self::Any)
            }
            Self::Any => match key {
                "containers" | "initContainers" | "ephemeralContainers" => Some(Self::Containers),
                "metadata" => Some(Self::Metadata),
                _ => Some(Self::Any),
            },
            Self::Containers => Some(Self::Any),
            Self::Container => (!UNREAD_CONTAINER_FIELDS.contains(&key)).then_some(Self::Any),
            Self::PodStatus => (key == "phase").then_some(Self::Any),
        }
    }

    /// The shape of the items of a sequence of this shape.
    fn item(self) -> Self {
        match self {
            Self::Containers => Self::Container,
            _ => Self::Any,
        }
    }
}

/// Parses one JSON value, skipping what [`Shape`] says no rule reads.
#[derive(Debug, Clone, Copy)]
struct Filter(Shape);

impl<'de> DeserializeSeed<'de> for Filter {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Filter {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let item = Filter(self.0.item());
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(item)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match self.0.child(&key) {
                Some(shape) => {
                    let value = map.next_value_seed(Filter(shape))?;
                    out.insert(key, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// A list page's `metadata`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListMeta {
    /// The token for the next page (absent or empty on the last page).
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
}

/// Only the `metadata` of a list page (its items are scanned, not kept).
#[derive(Debug, Default, serde::Deserialize)]
struct Head {
    #[serde(default)]
    metadata: ListMeta,
}

/// The continue token of a list page, without keeping its items.
///
/// # Errors
/// When the page is not JSON.
pub fn continue_token(page: &[u8]) -> serde_json::Result<Option<String>> {
    let head: Head = serde_json::from_slice(page)?;
    Ok(head.metadata.continue_.filter(|t| !t.is_empty()))
}

/// The items of a list page, each reduced as it is parsed.
struct Items {
    pod: bool,
}

impl<'de> Visitor<'de> for Items {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Value>, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                items = map.next_value_seed(ItemSeq { pod: self.pod })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

struct ItemSeq {
    pod: bool,
}

impl<'de> DeserializeSeed<'de> for ItemSeq {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Value>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeq {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<Value>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let filter = Filter(Shape::Root { pod: self.pod });
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(filter)? {
            items.push(v);
        }
        Ok(items)
    }
}

/// The items of a list page, reduced (`pod`: the page lists Pods).
///
/// # Errors
/// When the page is not a JSON object.
pub fn items(page: &[u8], pod: bool) -> serde_json::Result<Vec<Value>> {
    let mut de = serde_json::Deserializer::from_slice(page);
    let items = de.deserialize_map(Items { pod })?;
    de.end()?;
    Ok(items)
}

/// One object (a GET), reduced.
///
/// # Errors
/// When the body is not JSON.
pub fn object(body: &[u8], pod: bool) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Filter(Shape::Root { pod }).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `(kind, namespace, name)` of an object.
pub type Ref = (String, String, String);

/// The controlling owners `(kind, name)` of an object (JSON).
fn controllers(value: &Value) -> impl Iterator<Item = (&str, &str)> {
    value["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["controller"] == Value::Bool(true))
        .filter_map(|r| Some((r["kind"].as_str()?, r["name"].as_str()?)))
}

/// Whether one of the object's controllers is among `present` (in its namespace).
pub fn owned_by_any(value: &Value, present: &HashSet<Ref>) -> bool {
    let namespace = value["metadata"]["namespace"].as_str().unwrap_or("");
    controllers(value).any(|(kind, name)| {
        present.contains(&(kind.to_string(), namespace.to_string(), name.to_string()))
    })
}

/// The controller references, reduced to what ownership is decided by.
fn controller_refs(value: &Value) -> Value {
    Value::Array(
        controllers(value)
            .map(|(kind, name)| json!({"kind": kind, "name": name, "controller": true}))
            .collect(),
    )
}

/// The entries of a string map (`labels`, `annotations`) under one of `keys`.
fn pick(map: &Value, keys: &[&str]) -> Option<Value> {
    let picked: Map<String, Value> = map
        .as_object()?
        .iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!picked.is_empty()).then_some(Value::Object(picked))
}

/// What the rules read of a Pod that a workload of the snapshot controls (the model drops it in
/// favour of that workload): its owner (pod counts at the top owner), its phase (finished pods
/// are not counted), the labels and annotations mesh membership and suppressions read, whether
/// it runs on the host network, and its Istio containers (injected or not, Istio CNI). Its other
/// containers, volumes, security contexts, node and status are not read.
#[must_use]
pub fn owned_pod(pod: &Value) -> Value {
    let meta = &pod["metadata"];
    let mut metadata = Map::new();
    for key in ["name", "namespace"] {
        if let Some(v) = meta.get(key) {
            metadata.insert(key.into(), v.clone());
        }
    }
    metadata.insert("ownerReferences".into(), controller_refs(pod));
    if let Some(labels) = pick(&meta["labels"], &OWNED_POD_LABELS) {
        metadata.insert("labels".into(), labels);
    }
    let spec = &pod["spec"];
    let proxy = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["name"] == istio::ISTIO_PROXY);
    // `sidecar.istio.io/status` only says "already injected", which the proxy says too.
    let mut annotations = vec!["sidecar.istio.io/inject", IGNORE_ANNOTATION, ISTIO_ANNOTATION];
    if !proxy {
        annotations.push("sidecar.istio.io/status");
    }
    if let Some(annotations) = pick(&meta["annotations"], &annotations) {
        metadata.insert("annotations".into(), annotations);
    }
    let mut reduced_spec = Map::new();
    if spec["hostNetwork"] == Value::Bool(true) {
        reduced_spec.insert("hostNetwork".into(), Value::Bool(true));
    }
    for list in ["initContainers", "containers"] {
        let istio: Vec<Value> = spec[list]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .filter(|name| istio::is_injected_container(name))
            .map(|name| json!({ "name": name }))
            .collect();
        if !istio.is_empty() {
            reduced_spec.insert(list.into(), Value::Array(istio));
        }
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), pod["apiVersion"].clone());
    out.insert("kind".into(), pod["kind"].clone());
    out.insert("metadata".into(), Value::Object(metadata));
    out.insert("spec".into(), Value::Object(reduced_spec));
    if let Some(phase @ ("Succeeded" | "Failed")) = pod["status"]["phase"].as_str() {
        out.insert("status".into(), json!({ "phase": phase }));
    }
    Value::Object(out)
}

/// What the rules read of a ReplicaSet whose Deployment the snapshot holds (the model drops it
/// in favour of the Deployment): its name and owner (the owner chain of its pods), the
/// suppression annotations it carries (copied from the Deployment), and a pod template, empty
/// but for those annotations, so that it still counts as a workload that owns its pods.
#[must_use]
pub fn owned_replicaset(rs: &Value) -> Value {
    let meta = &rs["metadata"];
    let suppressions = [IGNORE_ANNOTATION, ISTIO_ANNOTATION];
    let mut metadata = Map::new();
    for key in ["name", "namespace"] {
        if let Some(v) = meta.get(key) {
            metadata.insert(key.into(), v.clone());
        }
    }
    metadata.insert("ownerReferences".into(), controller_refs(rs));
    if let Some(labels) = pick(&meta["labels"], &OWNED_POD_LABELS) {
        metadata.insert("labels".into(), labels);
    }
    if let Some(annotations) = pick(&meta["annotations"], &suppressions) {
        metadata.insert("annotations".into(), annotations);
    }
    let mut template = Map::new();
    if let Some(annotations) = pick(
        &rs["spec"]["template"]["metadata"]["annotations"],
        &suppressions,
    ) {
        template.insert("metadata".into(), json!({ "annotations": annotations }));
    }
    template.insert("spec".into(), json!({}));
    json!({
        "apiVersion": rs["apiVersion"],
        "kind": rs["kind"],
        "metadata": metadata,
        "spec": {"template": template},
    })
}

/// Owned pods, identical but for their names, kept once per kind of pod with every name.
#[derive(Debug, Default)]
pub struct PodGroups {
    index: HashMap<String, usize>,
    groups: Vec<(Value, Vec<Box<str>>)>,
    pods: usize,
}

impl PodGroups {
    /// Adds a reduced owned pod ([`owned_pod`]).
    pub fn add(&mut self, mut pod: Value) {
        let name: Box<str> = pod["metadata"]["name"].as_str().unwrap_or("").into();
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.remove("name");
        }
        let key = pod.to_string();
        self.pods += 1;
        match self.index.get(&key) {
            Some(&i) => self.groups[i].1.push(name),
            None => {
                self.index.insert(key, self.groups.len());
                self.groups.push((pod, vec![name]));
            }
        }
    }

    /// How many pods.
    #[must_use]
    pub fn pods(&self) -> usize {
        self.pods
    }

    /// How many distinct groups.
    #[must_use]
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Moves every pod of `other` here.
    pub fn append(&mut self, other: Self) {
        for (pod, names) in other.groups {
            let key = pod.to_string();
            self.pods += names.len();
            match self.index.get(&key) {
                Some(&i) => self.groups[i].1.extend(names),
                None => {
                    self.index.insert(key, self.groups.len());
                    self.groups.push((pod, names));
                }
            }
        }
    }

    /// One object per pod: the group's object, built once, cloned under each name.
    pub fn into_objects(self, out: &mut Vec<Object>, invalid: &mut Vec<String>) {
        let options = LoadOptions::default();
        for (mut pod, names) in self.groups {
            let Some(first) = names.first() else {
                continue;
            };
            if let Some(meta) = pod["metadata"].as_object_mut() {
                meta.insert("name".into(), Value::String(first.to_string()));
            }
            let template = match object_from_json(&pod, &options) {
                Ok(object) => object,
                Err(message) => {
                    invalid.push(format!("Pod {}: {message}", first));
                    continue;
                }
            };
            drop(pod);
            out.reserve(names.len());
            for name in names {
                let mut object = template.clone();
                set_name(&mut object.root, &name);
                object.name = name.into_string();
                out.push(object);
            }
        }
    }
}

/// Sets `metadata.name` of an object's tree.
fn set_name(root: &mut Node, name: &str) {
    fn entry<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
        match &mut node.value {
            node::Value::Map(entries) => entries
                .iter_mut()
                .find(|e| &*e.key == key)
                .map(|e| &mut e.value),
            _ => None,
        }
    }
    if let Some(meta) = entry(root, "metadata")
        && let Some(n) = entry(meta, "name")
    {
        n.value = node::Value::Str(name.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = r#"{"metadata": {"name": "web-1-a", "namespace": "shop", "uid": "u",
        "labels": {"app": "web", "pod-template-hash": "1", "sidecar.istio.io/inject": "true"},
        "annotations": {"sidecar.istio.io/status": "{}", "kubectl.kubernetes.io/last-applied-configuration": "{}", "meshready.io/ignore": "MR0001"},
        "managedFields": [{"manager": "kubelet"}],
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1", "uid": "x", "controller": true}]},
      "spec": {"nodeName": "n1",
        "initContainers": [{"name": "istio-validation", "args": ["a"]}],
        "containers": [{"name": "web", "env": [{"name": "A", "value": "b"}], "ports": [{"containerPort": 80}]},
                       {"name": "istio-proxy", "env": [{"name": "ISTIO_META", "value": "x"}]}]},
      "status": {"phase": "Running", "conditions": [{"type": "Ready"}], "podIP": "10.0.0.1"}}"#;

    #[test]
    fn parsing_skips_what_no_rule_reads() {
        let page = format!(r#"{{"kind": "PodList", "metadata": {{"continue": "next"}}, "items": [{POD}]}}"#);
        assert_eq!(continue_token(page.as_bytes()).unwrap().as_deref(), Some("next"));
        let items = items(page.as_bytes(), true).unwrap();
        let pod = &items[0];
        assert!(pod["metadata"].get("managedFields").is_none());
        assert!(pod["metadata"]["annotations"]
            .get("kubectl.kubernetes.io/last-applied-configuration")
            .is_none());
        assert_eq!(pod["status"], json!({"phase": "Running"}));
        assert!(pod["spec"]["containers"][0].get("env").is_none());
        assert_eq!(pod["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
        assert!(pod["spec"]["initContainers"][0].get("args").is_none());
        let deployment = object(br#"{"metadata": {"name": "d"}, "spec": {"template": {"metadata": {"managedFields": []}, "spec": {"containers": [{"name": "a", "env": []}]}}}, "status": {"replicas": 1}}"#, false).unwrap();
        assert_eq!(
            deployment,
            json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "a"}]}}}})
        );
    }

    #[test]
    fn owned_pods_keep_their_facts_and_group() {
        let mut pod: Value = serde_json::from_str(POD).unwrap();
        pod["apiVersion"] = json!("v1");
        pod["kind"] = json!("Pod");
        let owned = owned_pod(&pod);
        assert_eq!(
            owned,
            json!({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web-1-a", "namespace": "shop",
                                "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}],
                                "labels": {"sidecar.istio.io/inject": "true"},
                                "annotations": {"meshready.io/ignore": "MR0001"}},
                   "spec": {"initContainers": [{"name": "istio-validation"}], "containers": [{"name": "istio-proxy"}]}})
        );
        let present: HashSet<Ref> =
            HashSet::from([("ReplicaSet".into(), "shop".into(), "web-1".into())]);
        assert!(owned_by_any(&pod, &present));
        assert!(!owned_by_any(&pod, &HashSet::new()));
        let mut groups = PodGroups::default();
        groups.add(owned.clone());
        let mut other = owned.clone();
        other["metadata"]["name"] = json!("web-1-b");
        groups.add(other);
        let mut finished = owned;
        finished["status"] = json!({"phase": "Succeeded"});
        groups.add(finished);
        assert_eq!((groups.pods(), groups.groups()), (3, 2));
        let mut objects = Vec::new();
        let mut invalid = Vec::new();
        groups.into_objects(&mut objects, &mut invalid);
        assert!(invalid.is_empty());
        let names: Vec<&str> = objects.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["web-1-a", "web-1-b", "web-1-a"]);
        assert_eq!(objects[1].root.at(&["metadata", "name"]).and_then(Node::as_str), Some("web-1-b"));
        assert_eq!(objects[1].namespace, "shop");
    }
}
