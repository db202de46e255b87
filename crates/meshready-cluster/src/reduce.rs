//! Reducing API objects to what the rules read, while each page is parsed: `managedFields`,
//! `status` (but a Pod's phase), kubectl's last-applied annotation and the container fields no
//! rule reads are skipped by the parser itself, so they are never allocated. Pods whose
//! controller the snapshot holds, and ReplicaSets whose Deployment it holds, are reduced further
//! to the few facts the rules read of an owned object (see [`owned_pod`], [`owned_replicaset`]),
//! and identical owned pods are kept once with their names ([`PodGroups`], one object whose
//! `copies` are the other names): what a read holds is bounded by the number of workloads, not
//! of pods. Pages of Pods are not parsed but scanned ([`crate::scan`]): only the values an owned
//! pod is reduced to are decoded, and only for the first pod of its group.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use bumpalo::Bump;
use meshready_core::istio;
use meshready_core::source::{LoadOptions, Object, node, object_from_json};
use meshready_core::suppress::{IGNORE_ANNOTATION, ISTIO_ANNOTATION};
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::pieces::{Cursor, joined};
use crate::scan::{self, Doc};

/// Container fields no rule reads: the rules' own prune policy (the loader drops them too;
/// skipping them while parsing spares their allocation, above all the sidecar's long `env`).
const UNREAD_CONTAINER_FIELDS: &[&str] = meshready_core::rules::PRUNE.unread_container_fields;

/// Pod labels the rules read of a pod that a workload of the snapshot owns: the injector's
/// object selector and opt-outs (mesh membership), and Istio's control-plane labels.
pub const OWNED_POD_LABELS: [&str; 6] = [
    "sidecar.istio.io/inject",
    "istio.io/rev",
    "istio.io/dataplane-mode",
    "gateway.istio.io/managed",
    "istio",
    "release",
];

/// What of an object's `status` the rules read, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A Pod's `phase` (finished pods are not counted).
    Phase,
    /// A Node's `nodeInfo` (the kubelet version decides `--native-sidecars auto`).
    NodeInfo,
    /// Nothing: the status is skipped.
    Skip,
}

impl Status {
    /// What the rules read of the status of a `kind`.
    #[must_use]
    pub fn of(kind: &str) -> Self {
        match kind {
            "Pod" => Self::Phase,
            "Node" => Self::NodeInfo,
            _ => Self::Skip,
        }
    }
}

/// Where in an object a value is, for deciding what to skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// The object itself, and what of its status to keep.
    Root(Status),
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
    /// A Node's `status`.
    NodeStatus,
}

impl Shape {
    /// The shape of the value under `key` of a mapping of this shape; None: skip it.
    fn child(self, key: &str) -> Option<Self> {
        match self {
            Self::Root(status) => match key {
                "status" => match status {
                    Status::Phase => Some(Self::PodStatus),
                    Status::NodeInfo => Some(Self::NodeStatus),
                    Status::Skip => None,
                },
                "metadata" => Some(Self::Metadata),
                _ => Some(Self::Any),
            },
            Self::Metadata => match key {
                // Bookkeeping no rule reads (`uid` stays: policy reports name live objects by it).
                "managedFields" | "resourceVersion" | "generation" | "creationTimestamp"
                | "selfLink" => None,
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
            Self::NodeStatus => (key == "nodeInfo").then_some(Self::Any),
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

/// What [`Filter`] builds from the values it keeps: JSON values, or the core's nodes (the
/// objects of most kinds go straight to nodes, without a `serde_json::Value` in between).
trait Built: Sized {
    fn null() -> Self;
    fn bool(v: bool) -> Self;
    fn int(v: i64) -> Self;
    fn uint(v: u64) -> Self;
    fn float(v: f64) -> Self;
    fn string(v: String) -> Self;
    fn seq(items: Vec<Self>) -> Self;
    /// The members in the order read, duplicates included (the last one counts).
    fn map(members: Vec<(String, Self)>) -> Self;
}

impl Built for Value {
    fn null() -> Self {
        Value::Null
    }
    fn bool(v: bool) -> Self {
        Value::Bool(v)
    }
    fn int(v: i64) -> Self {
        Value::from(v)
    }
    fn uint(v: u64) -> Self {
        Value::from(v)
    }
    fn float(v: f64) -> Self {
        Value::from(v)
    }
    fn string(v: String) -> Self {
        Value::String(v)
    }
    fn seq(items: Vec<Self>) -> Self {
        Value::Array(items)
    }
    fn map(members: Vec<(String, Self)>) -> Self {
        Value::Object(members.into_iter().collect())
    }
}

/// The nodes [`Node::from_json`](node::Node::from_json) makes of the same JSON value: numbers as
/// `serde_json` keeps them, a non-finite float as `null`, mapping keys sorted and the last of
/// duplicates kept (a `serde_json::Map`'s order), every position the default one.
impl Built for node::Node {
    fn null() -> Self {
        Self::new(node::Value::Null, node::Pos::default())
    }
    fn bool(v: bool) -> Self {
        Self::new(node::Value::Bool(v), node::Pos::default())
    }
    fn int(v: i64) -> Self {
        Self::new(node::Value::Int(v), node::Pos::default())
    }
    fn uint(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(v) => Self::int(v),
            #[allow(clippy::cast_precision_loss)]
            Err(_) => Self::float(v as f64),
        }
    }
    fn float(v: f64) -> Self {
        if v.is_finite() {
            Self::new(node::Value::Float(v), node::Pos::default())
        } else {
            Self::null()
        }
    }
    fn string(v: String) -> Self {
        Self::new(node::Value::Str(v.into_boxed_str()), node::Pos::default())
    }
    fn seq(items: Vec<Self>) -> Self {
        Self::new(node::Value::Seq(items), node::Pos::default())
    }
    fn map(mut members: Vec<(String, Self)>) -> Self {
        // Stable: of duplicate keys, the last read stays last, and is the one kept.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries: Vec<node::Entry> = Vec::with_capacity(members.len());
        for (key, value) in members {
            match entries.last_mut() {
                Some(last) if *last.key == *key => last.value = value,
                _ => entries.push(node::Entry {
                    key: key.into(),
                    key_pos: node::Pos::default(),
                    value,
                }),
            }
        }
        Self::new(node::Value::Map(entries), node::Pos::default())
    }
}

/// Parses one JSON value into a `T`, skipping what [`Shape`] says no rule reads.
struct Filter<T>(Shape, std::marker::PhantomData<T>);

impl<T> Clone for Filter<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Filter<T> {}

impl<T> Filter<T> {
    fn new(shape: Shape) -> Self {
        Self(shape, std::marker::PhantomData)
    }
}

impl<'de, T: Built> DeserializeSeed<'de> for Filter<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Built> Visitor<'de> for Filter<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<T, E> {
        Ok(T::bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::uint(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Ok(T::float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::string(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::string(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_none<E: de::Error>(self) -> Result<T, E> {
        Ok(T::null())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let item = Filter::new(self.0.item());
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(item)? {
            items.push(v);
        }
        Ok(T::seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut members = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match self.0.child(&key) {
                Some(shape) => {
                    let value = map.next_value_seed(Filter::new(shape))?;
                    members.push((key, value));
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(T::map(members))
    }
}

/// A list page's `metadata`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ListMeta {
    /// The token for the next page (absent or empty on the last page).
    #[serde(default, rename = "continue")]
    pub continue_: Option<String>,
}

/// Reads a list page's `metadata` and stops there when the items come after it (as the API
/// server writes them), so that the token is known before the page is parsed.
struct Head<'t> {
    token: &'t mut Option<String>,
}

/// The error that stops [`Head`] early.
const FOUND: &str = "meshready: list metadata found";

impl<'de> Visitor<'de> for Head<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "metadata" {
                let meta: ListMeta = map.next_value()?;
                *self.token = meta.continue_;
                return Err(de::Error::custom(FOUND));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// The continue token of a list page (given as the pieces it arrived in), read without parsing
/// its items: from the first piece alone when the metadata is there (the API server writes it
/// before the items), else from the whole page.
///
/// # Errors
/// When the page is not JSON.
pub fn continue_token<C: AsRef<[u8]>>(page: &[C]) -> serde_json::Result<Option<String>> {
    if let [first, _, ..] = page
        && let Ok(token) = token_in(first.as_ref())
    {
        return Ok(token);
    }
    token_in(&joined(page))
}

/// The continue token of a list page of which only the first piece has arrived, when that
/// piece holds the list's metadata: then it is what [`continue_token`] reads of the whole page,
/// and the next page can be asked for at once. `None` when the first piece does not tell.
#[must_use]
pub fn early_continue_token(first: &[u8]) -> Option<Option<String>> {
    token_in(first).ok()
}

/// [`continue_token`] in one slice.
fn token_in(page: &[u8]) -> serde_json::Result<Option<String>> {
    let mut token = None;
    let mut de = serde_json::Deserializer::from_slice(page);
    match de.deserialize_map(Head { token: &mut token }) {
        Ok(()) => {}
        Err(e) if e.to_string().starts_with(FOUND) => {}
        Err(e) => return Err(e),
    }
    Ok(token.filter(|t| !t.is_empty()))
}

/// The items of a list page, each reduced as it is parsed into a `T`.
struct Items<T> {
    status: Status,
    built: std::marker::PhantomData<T>,
}

impl<'de, T: Built> Visitor<'de> for Items<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Kubernetes list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "items" {
                items = map.next_value_seed(ItemSeq {
                    status: self.status,
                    built: self.built,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(items)
    }
}

/// The value of a list's `items`: a list of objects, or `null`.
struct ItemSeq<T> {
    status: Status,
    built: std::marker::PhantomData<T>,
}

impl<'de, T: Built> DeserializeSeed<'de> for ItemSeq<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<T>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Built> Visitor<'de> for ItemSeq<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let filter = Filter::new(Shape::Root(self.status));
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(filter)? {
            items.push(v);
        }
        Ok(items)
    }
}

/// The items of a list page, reduced (`status`: what of each item's status to keep).
///
/// # Errors
/// When the page is not a JSON object.
pub fn items(page: &[u8], status: Status) -> serde_json::Result<Vec<Value>> {
    items_as(page, status)
}

/// [`items`], each item parsed straight into the core's nodes: what
/// [`Node::from_json`](node::Node::from_json) makes of [`items`]' values.
///
/// # Errors
/// When the page is not a JSON object.
pub fn item_nodes(page: &[u8], status: Status) -> serde_json::Result<Vec<node::Node>> {
    items_as(page, status)
}

/// Sets a list item's `apiVersion` and `kind` (list responses, and metadata-only answers, leave
/// them out or change them), where a `serde_json::Map` would have them: keys in order. Nothing
/// when the item is not a mapping.
pub fn set_type(item: &mut node::Node, api_version: &str, kind: &str) {
    let node::Value::Map(entries) = &mut item.value else {
        return;
    };
    for (key, value) in [("apiVersion", api_version), ("kind", kind)] {
        let value = node::Node::new(node::Value::Str(value.into()), node::Pos::default());
        match entries.binary_search_by(|e| (*e.key).cmp(key)) {
            Ok(i) => entries[i].value = value,
            Err(i) => entries.insert(
                i,
                node::Entry {
                    key: key.into(),
                    key_pos: node::Pos::default(),
                    value,
                },
            ),
        }
    }
}

fn items_as<T: Built>(page: &[u8], status: Status) -> serde_json::Result<Vec<T>> {
    let mut de = serde_json::Deserializer::from_slice(page);
    let items = de.deserialize_map(Items {
        status,
        built: std::marker::PhantomData,
    })?;
    de.end()?;
    Ok(items)
}

/// Label and annotation keys the reduced pods may keep (see [`owned_pod`] for which).
const PICKED_KEYS: [&str; 9] = [
    "sidecar.istio.io/inject",
    "istio.io/rev",
    "istio.io/dataplane-mode",
    "gateway.istio.io/managed",
    "istio",
    "release",
    "sidecar.istio.io/status",
    IGNORE_ANNOTATION,
    ISTIO_ANNOTATION,
];

/// The annotations that suppress findings, which owned objects keep.
const SUPPRESSIONS: [&str; 2] = [IGNORE_ANNOTATION, ISTIO_ANNOTATION];

/// Which pods of a page [`pod_items`] puts in groups (by their controller) and which it keeps
/// whole.
#[derive(Debug, Clone)]
pub enum Grouping {
    /// Pods whose controller is one of these objects, `(kind, namespace, name)`.
    Present(HashSet<Ref>),
    /// Pods whose controller is of one of these kinds. Whether it exists is decided once the
    /// controllers are read ([`PodGroups::take_orphans`]), so that pods are read at the same
    /// time as they are.
    Kinds(HashSet<String>),
    /// None; only the pods named here, `(namespace, name)`, are kept (whole), the others are
    /// passed over: orphans read again.
    Only(HashSet<(String, String)>),
}

impl Grouping {
    /// Whether one of a pod's controllers (of `owners`, in `namespace`) is one of these.
    fn own(&self, namespace: Option<&str>, owners: &[OwnerLite<'_>]) -> bool {
        controlling(owners)
            .any(|(kind, name)| self.includes(kind, namespace.unwrap_or_default(), name))
    }

    /// Whether one of an object's controllers (JSON) is one of these.
    #[must_use]
    pub fn own_json(&self, value: &Value) -> bool {
        let namespace = value["metadata"]["namespace"].as_str().unwrap_or("");
        self.own_parts(namespace, &value["metadata"]["ownerReferences"])
    }

    /// Whether one of the controllers among `refs` (owner references, JSON) of an object in
    /// `namespace` is one of these.
    fn own_parts(&self, namespace: &str, refs: &Value) -> bool {
        controllers_in(refs).any(|(kind, name)| self.includes(kind, namespace, name))
    }

    fn includes(&self, kind: &str, namespace: &str, name: &str) -> bool {
        match self {
            Self::Present(present) => is_present(present, kind, namespace, name),
            Self::Kinds(kinds) => kinds.contains(kind),
            Self::Only(_) => false,
        }
    }
}

/// A page that is not the list of Pods it should be.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The JSON structure is broken.
    #[error(transparent)]
    Scan(#[from] crate::scan::ScanError),
    /// A value the rules read is not what Kubernetes sends.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A value that must be an object is not.
    #[error("{0} is not an object")]
    NotAnObject(&'static str),
}

/// The values of `keys` in the object at `range` ([`Doc::pick`]), or `what` is not an
/// object.
fn pick_members<const N: usize>(
    doc: &Doc<'_>,
    range: Range<usize>,
    keys: [&str; N],
    what: &'static str,
) -> Result<[Option<Range<usize>>; N], PageError> {
    doc.pick(range, keys)?.ok_or(PageError::NotAnObject(what))
}

/// Parses the value at `range`, if there is one.
fn parse<'a, T: serde::Deserialize<'a>>(
    doc: &Doc<'a>,
    range: Option<Range<usize>>,
) -> Result<Option<T>, PageError> {
    match range {
        Some(range) => Ok(serde_json::from_slice(&doc.bytes()[range])?),
        None => Ok(None),
    }
}

/// The string at `range`, if there is one and it is not `null` (borrowed when it has no
/// escapes).
fn string<'a>(
    doc: &Doc<'a>,
    range: Option<Range<usize>>,
) -> Result<Option<Cow<'a, str>>, PageError> {
    match range {
        Some(range) => Ok(doc.str(range)?),
        None => Ok(None),
    }
}

/// The [`PICKED_KEYS`] of a string map at `range` into `out` (emptied first): each key and its
/// value's range (the last of duplicate keys), values not decoded.
fn picked_raw(
    doc: &Doc<'_>,
    range: Option<Range<usize>>,
    out: &mut Vec<(&'static str, Range<usize>)>,
) -> Result<(), PageError> {
    out.clear();
    let Some(range) = range else {
        return Ok(());
    };
    let Some(members) = doc.iter_members(range.clone()) else {
        // `null`, or a wrong type serde reports.
        serde_json::from_slice::<Option<HashMap<String, IgnoredAny>>>(&doc.bytes()[range])?;
        return Ok(());
    };
    named_members(members, &PICKED_KEYS, out)
}

/// The members named one of `keys` into `out`: each key and its value's range, the last of
/// duplicate keys (as JSON parsers keep), values not decoded.
fn named_members<'k>(
    members: scan::Members<'_, '_>,
    keys: &[&'k str],
    out: &mut Vec<(&'k str, Range<usize>)>,
) -> Result<(), PageError> {
    let set = scan::Keys::new(keys);
    for member in members {
        let (key, value) = member?;
        if let Some(k) = set.find(key) {
            let key = keys[k];
            out.retain(|(k, _)| *k != key);
            out.push((key, value));
        }
    }
    Ok(())
}

/// The name and image ranges of each container of a list at `range` (`null`: none) into
/// `out` (emptied first); `elements` is scratch memory.
fn containers_raw(
    doc: &Doc<'_>,
    range: Option<Range<usize>>,
    out: &mut Vec<[Option<Range<usize>>; 2]>,
    elements: &mut Vec<Range<usize>>,
) -> Result<(), PageError> {
    out.clear();
    let Some(range) = range else {
        return Ok(());
    };
    if !doc.elements_into(range.clone(), elements)? {
        // `null`, or a wrong type serde reports.
        serde_json::from_slice::<Option<Vec<IgnoredAny>>>(&doc.bytes()[range])?;
        return Ok(());
    }
    for item in elements.drain(..) {
        out.push(pick_members(doc, item, ["name", "image"], "a container")?);
    }
    Ok(())
}

/// Appends a length-prefixed part to a grouping key (so that no two sequences of parts give
/// the same key).
fn key_part(key: &mut Vec<u8>, part: Option<&[u8]>) {
    match part {
        None => key.push(0),
        Some(bytes) => {
            key.push(1);
            key.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            key.extend_from_slice(bytes);
        }
    }
}

/// What [`owned_pod`] reads of a pod, as ranges of its page: decoded only for the first pod of
/// each group, compared raw for the others. Its memory is reused from pod to pod.
#[derive(Default)]
struct OwnedRaw {
    labels: Vec<(&'static str, Range<usize>)>,
    annotations: Vec<(&'static str, Range<usize>)>,
    host_network: Option<Range<usize>>,
    containers: Vec<[Option<Range<usize>>; 2]>,
    init_containers: Vec<[Option<Range<usize>>; 2]>,
}

impl OwnedRaw {
    /// Reads a pod's (`doc`) labels, annotations and `spec`, at these ranges, into `self`;
    /// `elements` is scratch memory.
    fn read(
        &mut self,
        doc: &Doc<'_>,
        labels: Option<Range<usize>>,
        annotations: Option<Range<usize>>,
        spec: Option<Range<usize>>,
        elements: &mut Vec<Range<usize>>,
    ) -> Result<(), PageError> {
        let [host_network, containers, init_containers] = match spec {
            Some(range) => pick_members(
                doc,
                range,
                ["hostNetwork", "containers", "initContainers"],
                "a Pod's spec",
            )?,
            None => [None, None, None],
        };
        picked_raw(doc, labels, &mut self.labels)?;
        picked_raw(doc, annotations, &mut self.annotations)?;
        self.host_network = host_network;
        containers_raw(doc, containers, &mut self.containers, elements)?;
        containers_raw(doc, init_containers, &mut self.init_containers, elements)?;
        Ok(())
    }

    /// Everything [`owned_pod`] reads but the name and the images, raw: equal keys, equal
    /// reduced pods (but for images, which only tell a proxy from a customisation).
    fn key(
        &self,
        doc: &Doc<'_>,
        namespace: Option<&str>,
        owners: &[OwnerLite<'_>],
        finished: bool,
        key: &mut Vec<u8>,
    ) {
        let bytes = doc.bytes();
        let raw = |r: &Option<Range<usize>>| r.clone().map(|r| &bytes[r]);
        key.clear();
        let key = &mut *key;
        key_part(key, namespace.map(str::as_bytes));
        for owner in owners {
            key_part(key, owner.kind.as_deref().map(str::as_bytes));
            key_part(key, owner.name.as_deref().map(str::as_bytes));
            key_part(
                key,
                owner.controller.map(|c| if c { &b"t"[..] } else { b"f" }),
            );
        }
        for (tag, pairs) in [(b"L", &self.labels), (b"A", &self.annotations)] {
            key_part(key, Some(tag));
            for (k, r) in pairs {
                key_part(key, Some(k.as_bytes()));
                key_part(key, Some(&bytes[r.clone()]));
            }
        }
        key_part(key, raw(&self.host_network));
        for (tag, list) in [(b"C", &self.containers), (b"I", &self.init_containers)] {
            key_part(key, Some(tag));
            for [name, _] in list {
                key_part(key, raw(name));
            }
        }
        key_part(key, Some(if finished { b"done" } else { b"running" }));
    }

    /// The reduced pod: what [`owned_pod`] makes of the whole pod, built from the ranges read,
    /// decoding only the values it keeps (a test pins the two together).
    fn decode(
        &self,
        doc: &Doc<'_>,
        name: Option<&str>,
        namespace: Option<&str>,
        owners: &[OwnerLite<'_>],
        phase: Option<&str>,
    ) -> Result<Value, PageError> {
        let bytes = doc.bytes();
        // The members under one of `keys`, decoded; none: no member.
        let pick = |pairs: &[(&'static str, Range<usize>)],
                    keys: &[&str]|
         -> Result<Option<Value>, PageError> {
            let mut picked = Map::new();
            for (key, range) in pairs.iter().filter(|(key, _)| keys.contains(key)) {
                picked.insert(
                    (*key).to_string(),
                    serde_json::from_slice(&bytes[range.clone()])?,
                );
            }
            Ok((!picked.is_empty()).then_some(Value::Object(picked)))
        };
        let names = |list: &[[Option<Range<usize>>; 2]]| -> Result<Vec<Cow<'_, str>>, PageError> {
            list.iter()
                .filter_map(|[name, _]| string(doc, name.clone()).transpose())
                .collect()
        };
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(name));
        metadata.insert("namespace".into(), json!(namespace));
        metadata.insert(
            "ownerReferences".into(),
            controller_refs(controlling(owners)),
        );
        if let Some(labels) = pick(&self.labels, &OWNED_POD_LABELS)? {
            metadata.insert("labels".into(), labels);
        }
        let containers = names(&self.containers)?;
        let init_containers = names(&self.init_containers)?;
        let proxy = containers.iter().any(|name| name == istio::ISTIO_PROXY);
        if let Some(annotations) = pick(&self.annotations, &owned_pod_annotations(proxy))? {
            metadata.insert("annotations".into(), annotations);
        }
        let mut spec = Map::new();
        if parse::<bool>(doc, self.host_network.clone())? == Some(true) {
            spec.insert("hostNetwork".into(), Value::Bool(true));
        }
        for (list, names) in [
            ("initContainers", init_containers),
            ("containers", containers),
        ] {
            if let Some(istio) = istio_containers(names.iter().map(AsRef::as_ref)) {
                spec.insert(list.into(), istio);
            }
        }
        Ok(owned_pod_object(
            json!("v1"),
            json!("Pod"),
            metadata,
            spec,
            phase,
        ))
    }
}

/// A pod's `ownerReferences` at `range` into `out` (emptied first): kind, name and whether each
/// is the controller; `elements` is scratch memory.
fn owner_references<'a>(
    doc: &Doc<'a>,
    range: Option<Range<usize>>,
    out: &mut Vec<OwnerLite<'a>>,
    elements: &mut Vec<Range<usize>>,
) -> Result<(), PageError> {
    out.clear();
    let Some(range) = range else {
        return Ok(());
    };
    if !doc.elements_into(range.clone(), elements)? {
        out.extend(
            serde_json::from_slice::<Option<Vec<OwnerLite<'a>>>>(&doc.bytes()[range])?
                .unwrap_or_default(),
        );
        return Ok(());
    }
    for item in elements.drain(..) {
        let [kind, name, controller] = pick_members(
            doc,
            item,
            ["kind", "name", "controller"],
            "an owner reference",
        )?;
        out.push(OwnerLite {
            kind: string(doc, kind)?,
            name: string(doc, name)?,
            controller: parse(doc, controller)?,
        });
    }
    Ok(())
}

/// A pod's `status.phase` (a `null` status has none).
fn phase<'a>(doc: &Doc<'a>, range: Range<usize>) -> Result<Option<Cow<'a, str>>, PageError> {
    match doc.pick(range.clone(), ["phase"])? {
        Some([phase]) => string(doc, phase),
        None => serde_json::from_slice::<Option<IgnoredAny>>(&doc.bytes()[range])?
            .map_or(Ok(None), |_| Err(PageError::NotAnObject("a Pod's status"))),
    }
}

/// Parses the value at `range` with [`Filter`].
fn filtered(page: &[u8], range: Range<usize>, shape: Shape) -> Result<Value, PageError> {
    let mut de = serde_json::Deserializer::from_slice(&page[range]);
    let value = Filter::<Value>::new(shape).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

#[derive(serde::Deserialize)]
struct OwnerLite<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    controller: Option<bool>,
}

/// Memory [`pod_item`] reuses from pod to pod.
#[derive(Default)]
struct Scratch<'a> {
    raw: OwnedRaw,
    owners: Vec<OwnerLite<'a>>,
    elements: Vec<Range<usize>>,
    key: Vec<u8>,
}

/// The pods of a list page: those `grouping` groups go to `groups`, reduced to
/// [`owned_pod`] without ever parsing the rest of them; the others are returned, parsed as
/// [`items`] would. The page is scanned ([`scan`]): of each pod only its metadata's members,
/// and of an owned pod's spec only `hostNetwork` and the containers' names and images, are
/// parsed; the rest (`managedFields`, the containers' `env`, volumes, `status`) is passed over.
///
/// # Errors
/// When the page is not a JSON list of objects.
pub fn pod_items<C: AsRef<[u8]>>(
    page: &[C],
    grouping: &Grouping,
    groups: &mut PodGroups,
) -> Result<Vec<Value>, PageError> {
    let arena = Bump::new();
    let mut state = (Vec::new(), PodGroups::default(), Scratch::default());
    walk_items(
        page,
        &arena,
        POD_DEPTH,
        &mut state,
        |(out, owned, scratch), doc| pod_item(doc, grouping, owned, out, scratch),
        |(out, owned, _)| {
            out.clear();
            *owned = PodGroups::default();
        },
    )?;
    let (out, owned, _) = state;
    groups.append(owned);
    Ok(out)
}

/// How deep [`pod_item`] walks a Pod (the Pod is 1 deep): into its containers (4: `spec`,
/// `containers`, a container), and so past the values of their members (5), which must be
/// recorded ([`Doc::limit_depth`]). Its `env` entries, volumes, `managedFields` entries and
/// `status` details are only counted.
const POD_DEPTH: usize = 5;

/// Calls `item` on each item of a list page, scanned one at a time ([`Doc::rescan_prefix`]),
/// each walked while it is still in the processor's cache; `reset` forgets what was read into
/// `state` when the page has `items` again (the last counts, as for any JSON parser). The page
/// is read from the pieces it arrived in ([`Cursor`]): the values that span two pieces are
/// joined in `arena`. `item` walks no deeper than `depth` ([`Doc::limit_depth`]).
fn walk_items<'p, C: AsRef<[u8]>, S>(
    pieces: &'p [C],
    arena: &'p Bump,
    depth: usize,
    state: &mut S,
    mut item: impl FnMut(&mut S, &Doc<'p>) -> Result<(), PageError>,
    mut reset: impl FnMut(&mut S),
) -> Result<(), PageError> {
    let mut page = Cursor::new(pieces, arena);
    let mut doc = Doc::new(b"null")?;
    doc.limit_depth(depth);
    let mut i = page.skip_ws(0);
    if page.byte(i) != Some(b'{') {
        return Err(PageError::NotAnObject("the list"));
    }
    i = page.skip_ws(i + 1);
    let mut more = page.byte(i) != Some(b'}');
    if !more {
        i += 1;
    }
    let mut seen = false;
    while more {
        if page.byte(i) != Some(b'"') {
            return Err(scan::ScanError::at(i, "expected a key").into());
        }
        let end = page.scan(&mut doc, i)?;
        // Between the quotes (a string's scanned range includes them).
        let is_items = scan::find_key(&doc.bytes()[1..end - i - 1], &["items"]).is_some();
        i = page.skip_ws(end);
        if page.byte(i) != Some(b':') {
            return Err(scan::ScanError::at(i, "expected `:`").into());
        }
        i = page.skip_ws(i + 1);
        if is_items && std::mem::replace(&mut seen, true) {
            reset(state);
        }
        if is_items && page.byte(i) == Some(b'[') {
            i = page.skip_ws(i + 1);
            let mut more_items = page.byte(i) != Some(b']');
            while more_items {
                let end = page.scan(&mut doc, i)?;
                item(state, &doc)?;
                i = page.skip_ws(end);
                match page.byte(i) {
                    Some(b',') => i = page.skip_ws(i + 1),
                    Some(b']') => more_items = false,
                    _ => return Err(scan::ScanError::at(i, "expected `,` or `]`").into()),
                }
            }
            i += 1;
        } else {
            let end = page.scan(&mut doc, i)?;
            if is_items {
                // `null`, or a wrong type serde reports.
                serde_json::from_slice::<Option<Vec<IgnoredAny>>>(&doc.bytes()[..end - i])?;
            }
            i = end;
        }
        i = page.skip_ws(i);
        match page.byte(i) {
            Some(b',') => i = page.skip_ws(i + 1),
            Some(b'}') => {
                i += 1;
                more = false;
            }
            _ => return Err(scan::ScanError::at(i, "expected `,` or `}`").into()),
        }
    }
    if page.skip_ws(i) != page.len() {
        return Err(scan::ScanError::at(i, "trailing characters").into());
    }
    Ok(())
}

/// The ReplicaSets of a list page, in order: those a Deployment of `deployments` controls
/// reduced to [`owned_replicaset`] (`true`) from the few members it reads, without parsing
/// the rest; the others (`false`) parsed as [`items`] would. Items lack `apiVersion` and
/// `kind` either way (list items do); the reduced ones read them from `api_version` and `kind`.
///
/// # Errors
/// When the page is not a JSON list of objects.
pub fn replica_set_items<C: AsRef<[u8]>>(
    page: &[C],
    deployments: &Grouping,
    api_version: &str,
    kind: &str,
) -> Result<Vec<(bool, Value)>, PageError> {
    let arena = Bump::new();
    let mut out = Vec::new();
    walk_items(
        page,
        &arena,
        usize::MAX,
        &mut out,
        |out, doc| {
            out.push(replica_set_item(doc, deployments, api_version, kind)?);
            Ok(())
        },
        Vec::clear,
    )?;
    Ok(out)
}

/// One ReplicaSet of a list page ([`replica_set_items`]).
fn replica_set_item(
    doc: &Doc<'_>,
    deployments: &Grouping,
    api_version: &str,
    kind: &str,
) -> Result<(bool, Value), PageError> {
    let bytes = doc.bytes();
    let item = doc.root();
    let Some([metadata, spec]) = doc.pick(item.clone(), ["metadata", "spec"])? else {
        // Not an object: what `items` makes of it.
        return Ok((false, filtered(bytes, item, Shape::Root(Status::Skip))?));
    };
    // What `owned_replicaset` and ownership read, each value parsed as `items` would have:
    // its namespace and owners first, the rest only for the owned ones.
    let [name, namespace, refs, labels, annotations] = match metadata {
        Some(range) => doc
            .pick(
                range,
                [
                    "name",
                    "namespace",
                    "ownerReferences",
                    "labels",
                    "annotations",
                ],
            )?
            .unwrap_or_default(),
        None => Default::default(),
    };
    let parse = |range: Option<Range<usize>>| -> Result<Option<Value>, PageError> {
        range.map(|r| filtered(bytes, r, Shape::Any)).transpose()
    };
    let namespace = parse(namespace)?;
    let refs = parse(refs)?.unwrap_or(Value::Null);
    let in_namespace = namespace.as_ref().and_then(Value::as_str).unwrap_or("");
    if !deployments.own_parts(in_namespace, &refs) {
        return Ok((false, filtered(bytes, item, Shape::Root(Status::Skip))?));
    }
    // Of the rest, only what `owned_replicaset` reads: it reduces this as the whole object.
    let mut meta = Map::new();
    if let Some(name) = parse(name)? {
        meta.insert("name".into(), name);
    }
    if let Some(namespace) = namespace {
        meta.insert("namespace".into(), namespace);
    }
    meta.insert("ownerReferences".into(), refs);
    if let Some(labels) = picked_map(doc, labels, &OWNED_POD_LABELS)? {
        meta.insert("labels".into(), labels);
    }
    if let Some(annotations) = picked_map(doc, annotations, &SUPPRESSIONS)? {
        meta.insert("annotations".into(), annotations);
    }
    let mut partial = json_object([
        ("apiVersion", Value::String(api_version.into())),
        ("kind", Value::String(kind.into())),
        ("metadata", Value::Object(meta)),
    ]);
    if let Some(spec) = spec
        && let Some([Some(range)]) = doc.pick(spec, ["template"])?
        && let Some([Some(range)]) = doc.pick(range, ["metadata"])?
        && let Some([annotations]) = doc.pick(range, ["annotations"])?
        && let Some(annotations) = picked_map(doc, annotations, &SUPPRESSIONS)?
    {
        partial["spec"] = json_object([(
            "template",
            json_object([("metadata", json_object([("annotations", annotations)]))]),
        )]);
    }
    Ok((true, owned_replicaset(&partial)))
}

/// The members of the object at `range` named `keys` (the last of duplicates), each parsed as
/// `items` would have: [`pick`] on that object, without parsing the rest of it.
fn picked_map(
    doc: &Doc<'_>,
    range: Option<Range<usize>>,
    keys: &[&str],
) -> Result<Option<Value>, PageError> {
    let Some(members) = range.and_then(|range| doc.iter_members(range)) else {
        return Ok(None);
    };
    let mut picked = Vec::new();
    named_members(members, keys, &mut picked)?;
    if picked.is_empty() {
        return Ok(None);
    }
    let mut map = Map::new();
    for (key, range) in picked {
        map.insert(key.to_string(), filtered(doc.bytes(), range, Shape::Any)?);
    }
    Ok(Some(Value::Object(map)))
}

/// One pod of a list page ([`pod_items`]), scanned in `doc`: grouped in `groups` or added
/// whole to `out`.
fn pod_item<'a>(
    doc: &Doc<'a>,
    grouping: &Grouping,
    groups: &mut PodGroups,
    out: &mut Vec<Value>,
    scratch: &mut Scratch<'a>,
) -> Result<(), PageError> {
    let item = doc.root();
    let [metadata, spec, status] =
        pick_members(doc, item, ["metadata", "spec", "status"], "a Pod")?;
    let phase = match status {
        Some(status) => phase(doc, status)?,
        None => None,
    };
    let fields = match &metadata {
        Some(range) => Some(pick_members(
            doc,
            range.clone(),
            [
                "name",
                "namespace",
                "ownerReferences",
                "labels",
                "annotations",
            ],
            "a Pod's metadata",
        )?),
        None => None,
    };
    let owners = &mut scratch.owners;
    let namespace = match &fields {
        Some([_, namespace, refs, _, _]) => {
            owner_references(doc, refs.clone(), owners, &mut scratch.elements)?;
            string(doc, namespace.clone())?
        }
        None => {
            owners.clear();
            None
        }
    };
    if let Grouping::Only(only) = grouping {
        let name = match &fields {
            Some([name, ..]) => string(doc, name.clone())?,
            None => None,
        };
        let pod = (
            namespace.as_deref().unwrap_or_default().to_string(),
            name.as_deref().unwrap_or_default().to_string(),
        );
        if !only.contains(&pod) {
            return Ok(());
        }
    }
    if let Some([name, _, _, labels, annotations]) = fields
        && grouping.own(namespace.as_deref(), owners)
    {
        let raw = &mut scratch.raw;
        raw.read(doc, labels, annotations, spec, &mut scratch.elements)?;
        let finished = matches!(phase.as_deref(), Some("Succeeded" | "Failed"));
        raw.key(
            doc,
            namespace.as_deref(),
            owners,
            finished,
            &mut scratch.key,
        );
        let name = string(doc, name)?;
        let label: Box<str> = name.as_deref().unwrap_or("").into();
        let raw = &scratch.raw;
        let owners = &scratch.owners;
        groups.add_keyed(&scratch.key, label, || {
            let refs = controlling(owners)
                .map(|(kind, name)| (kind.to_string(), name.to_string()))
                .collect();
            let namespace = namespace.as_deref();
            let group = Group::new(namespace.unwrap_or_default().to_string(), refs);
            let pod = raw.decode(doc, name.as_deref(), namespace, owners, phase.as_deref())?;
            Ok::<_, PageError>((pod, group))
        })?;
    } else {
        let mut whole = Map::new();
        whole.insert("apiVersion".into(), Value::String("v1".into()));
        whole.insert("kind".into(), Value::String("Pod".into()));
        if let Some(range) = metadata {
            whole.insert(
                "metadata".into(),
                filtered(doc.bytes(), range, Shape::Metadata)?,
            );
        }
        if let Some(range) = spec {
            whole.insert("spec".into(), filtered(doc.bytes(), range, Shape::Any)?);
        }
        if let Some(phase) = phase {
            whole.insert("status".into(), json!({ "phase": phase }));
        }
        out.push(Value::Object(whole));
    }
    Ok(())
}

/// One object (a GET), reduced.
///
/// # Errors
/// When the body is not JSON.
pub fn object(body: &[u8], status: Status) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = Filter::<Value>::new(Shape::Root(status)).deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// `(kind, namespace, name)` of an object.
pub type Ref = (String, String, String);

/// The controlling owners `(kind, name)` of an object (JSON).
fn controllers(value: &Value) -> impl Iterator<Item = (&str, &str)> {
    controllers_in(&value["metadata"]["ownerReferences"])
}

/// The controllers `(kind, name)` of a list of owner references.
fn controllers_in(refs: &Value) -> impl Iterator<Item = (&str, &str)> {
    refs.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["controller"] == Value::Bool(true))
        .filter_map(|r| Some((r["kind"].as_str()?, r["name"].as_str()?)))
}

/// Whether `(kind, namespace, name)` is among `present`.
fn is_present(present: &HashSet<Ref>, kind: &str, namespace: &str, name: &str) -> bool {
    present.contains(&(kind.to_string(), namespace.to_string(), name.to_string()))
}

/// The controlling owners `(kind, name)` of a pod's `ownerReferences`.
fn controlling<'o>(owners: &'o [OwnerLite<'_>]) -> impl Iterator<Item = (&'o str, &'o str)> {
    owners
        .iter()
        .filter(|r| r.controller == Some(true))
        .filter_map(|r| Some((r.kind.as_deref()?, r.name.as_deref()?)))
}

/// The controller references, reduced to what ownership is decided by.
fn controller_refs<'a>(controllers: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Array(
        controllers
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

/// The metadata an owned object keeps: name, namespace, controller references and the labels
/// mesh membership reads ([`OWNED_POD_LABELS`]).
fn owned_metadata(value: &Value) -> Map<String, Value> {
    let meta = &value["metadata"];
    let mut metadata = Map::new();
    for key in ["name", "namespace"] {
        if let Some(v) = meta.get(key) {
            metadata.insert(key.into(), v.clone());
        }
    }
    metadata.insert(
        "ownerReferences".into(),
        controller_refs(controllers(value)),
    );
    if let Some(labels) = pick(&meta["labels"], &OWNED_POD_LABELS) {
        metadata.insert("labels".into(), labels);
    }
    metadata
}

/// What the rules read of a Pod that a workload of the snapshot controls (the model drops it in
/// favour of that workload): its owner (pod counts at the top owner), its phase (finished pods
/// are not counted), the labels and annotations mesh membership and suppressions read, whether
/// it runs on the host network, and its Istio containers (injected or not, Istio CNI). Its other
/// containers, volumes, security contexts, node and status are not read.
#[must_use]
pub fn owned_pod(pod: &Value) -> Value {
    let meta = &pod["metadata"];
    let mut metadata = owned_metadata(pod);
    let spec = &pod["spec"];
    let proxy = spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["name"] == istio::ISTIO_PROXY);
    if let Some(annotations) = pick(&meta["annotations"], &owned_pod_annotations(proxy)) {
        metadata.insert("annotations".into(), annotations);
    }
    let mut reduced_spec = Map::new();
    if spec["hostNetwork"] == Value::Bool(true) {
        reduced_spec.insert("hostNetwork".into(), Value::Bool(true));
    }
    for list in ["initContainers", "containers"] {
        let names = spec[list].as_array().into_iter().flatten();
        if let Some(istio) = istio_containers(names.filter_map(|c| c["name"].as_str())) {
            reduced_spec.insert(list.into(), istio);
        }
    }
    owned_pod_object(
        pod["apiVersion"].clone(),
        pod["kind"].clone(),
        metadata,
        reduced_spec,
        pod["status"]["phase"].as_str(),
    )
}

/// An owned pod of these parts; of its status only a finished `phase` (finished pods are not
/// counted).
fn owned_pod_object(
    api_version: Value,
    kind: Value,
    metadata: Map<String, Value>,
    spec: Map<String, Value>,
    phase: Option<&str>,
) -> Value {
    let mut out = Map::new();
    out.insert("apiVersion".into(), api_version);
    out.insert("kind".into(), kind);
    out.insert("metadata".into(), Value::Object(metadata));
    out.insert("spec".into(), Value::Object(spec));
    if let Some(phase @ ("Succeeded" | "Failed")) = phase {
        out.insert("status".into(), json!({ "phase": phase }));
    }
    Value::Object(out)
}

/// The annotations an owned pod keeps: the injector's opt-out and the suppressions, and
/// `sidecar.istio.io/status` when it has no proxy (the status only says "already injected",
/// which the proxy says too).
fn owned_pod_annotations(proxy: bool) -> Vec<&'static str> {
    let mut annotations = vec![
        "sidecar.istio.io/inject",
        IGNORE_ANNOTATION,
        ISTIO_ANNOTATION,
    ];
    if !proxy {
        annotations.push("sidecar.istio.io/status");
    }
    annotations
}

/// The Istio containers among `names` as an owned pod keeps them (`[{"name": ...}]`); none
/// when there are none.
fn istio_containers<'n>(names: impl Iterator<Item = &'n str>) -> Option<Value> {
    let istio: Vec<Value> = names
        .filter(|name| istio::is_injected_container(name))
        .map(|name| json!({ "name": name }))
        .collect();
    (!istio.is_empty()).then_some(Value::Array(istio))
}

/// What the rules read of a ReplicaSet whose Deployment the snapshot holds (the model drops it
/// in favour of the Deployment): its name and owner (the owner chain of its pods), the
/// suppression annotations it carries (copied from the Deployment), and a pod template, empty
/// but for those annotations, so that it still counts as a workload that owns its pods.
#[must_use]
pub fn owned_replicaset(rs: &Value) -> Value {
    let meta = &rs["metadata"];
    let mut metadata = owned_metadata(rs);
    if let Some(annotations) = pick(&meta["annotations"], &SUPPRESSIONS) {
        metadata.insert("annotations".into(), annotations);
    }
    let mut template = Map::new();
    if let Some(annotations) = pick(
        &rs["spec"]["template"]["metadata"]["annotations"],
        &SUPPRESSIONS,
    ) {
        template.insert(
            "metadata".into(),
            json_object([("annotations", annotations)]),
        );
    }
    template.insert("spec".into(), Value::Object(Map::new()));
    json_object([
        ("apiVersion", rs["apiVersion"].clone()),
        ("kind", rs["kind"].clone()),
        ("metadata", Value::Object(metadata)),
        ("spec", json_object([("template", Value::Object(template))])),
    ])
}

/// A JSON object of these members, moved in (`json!` would copy each value).
fn json_object<const N: usize>(members: [(&str, Value); N]) -> Value {
    Value::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Owned pods, identical but for their names, kept once per kind of pod with every name.
#[derive(Debug, Default)]
pub struct PodGroups {
    /// Keys are hashed with FxHash: they are ours, not an attacker's, and long.
    index: FxHashMap<Vec<u8>, usize>,
    /// The group of the last pod added (the pods of a controller come one after another in a
    /// list: most pods are found here without hashing their key).
    last: Option<usize>,
    groups: Vec<Entry>,
    pods: usize,
}

/// A reduced owned pod as the object of its group.
fn template(pod: &Value) -> std::result::Result<Object, String> {
    let mut template = object_from_json(pod, &LoadOptions::default())?;
    // The object's kind, apiVersion, name and namespace are its fields; no rule reads them
    // again from its tree, and without them each of many pods is smaller ([`crate::manifests`]
    // writes them back).
    if let node::Value::Map(entries) = &mut template.root.value {
        entries.retain(|e| !matches!(&*e.key, "apiVersion" | "kind"));
        for entry in entries.iter_mut().filter(|e| &*e.key == "metadata") {
            if let node::Value::Map(meta) = &mut entry.value.value {
                meta.retain(|e| !matches!(&*e.key, "name" | "namespace"));
            }
        }
    }
    Ok(template)
}

/// One group of [`PodGroups`].
#[derive(Debug)]
struct Entry {
    key: Vec<u8>,
    /// The first pod of the group, reduced and converted (as it is read, off the thread that
    /// receives the pages), or why it could not be.
    pod: std::result::Result<Object, String>,
    names: Vec<Box<str>>,
    group: Group,
}

/// The namespace and controllers `(kind, name)` of the pods of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    namespace: String,
    controllers: Vec<(String, String)>,
}

impl Group {
    /// The group of pods in `namespace` controlled by `controllers`.
    #[must_use]
    pub fn new(namespace: String, controllers: Vec<(String, String)>) -> Self {
        Self {
            namespace,
            controllers,
        }
    }
}

impl PodGroups {
    /// Adds an owned pod named `name` under `key`, which must identify everything of the
    /// reduced pod but its name; `make` builds that pod and its [`Group`], only for the first
    /// pod of the group.
    ///
    /// # Errors
    /// What `make` fails with (the pod is then not added).
    pub fn add_keyed<E>(
        &mut self,
        key: &[u8],
        name: Box<str>,
        make: impl FnOnce() -> Result<(Value, Group), E>,
    ) -> Result<(), E> {
        let found = match self.last {
            Some(i) if self.groups.get(i).is_some_and(|g| g.key == key) => Some(i),
            _ => self.index.get(key).copied(),
        };
        match found {
            Some(i) => {
                self.groups[i].names.push(name);
                self.last = Some(i);
            }
            None => {
                let (pod, group) = make()?;
                let pod = template(&pod);
                self.index.insert(key.to_vec(), self.groups.len());
                self.last = Some(self.groups.len());
                self.groups.push(Entry {
                    key: key.to_vec(),
                    pod,
                    names: vec![name],
                    group,
                });
            }
        }
        self.pods += 1;
        Ok(())
    }

    /// Removes the pods none of whose controllers `present` says exists (read as grouped with
    /// [`Grouping::Kinds`], their controller turned out not to exist): their namespaces and
    /// names, to be read whole. `present` is asked `(kind, namespace, name)`.
    pub fn take_orphans(
        &mut self,
        present: impl Fn(&str, &str, &str) -> bool,
    ) -> Vec<(String, String)> {
        let mut orphans = Vec::new();
        self.groups.retain(|Entry { names, group, .. }| {
            let owned = group
                .controllers
                .iter()
                .any(|(kind, name)| present(kind, &group.namespace, name));
            if !owned {
                orphans.extend(
                    names
                        .iter()
                        .map(|name| (group.namespace.clone(), name.to_string())),
                );
            }
            owned
        });
        if orphans.is_empty() {
            // Nothing moved: the index still holds.
            return orphans;
        }
        self.pods -= orphans.len();
        self.last = None;
        self.index = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, entry)| (entry.key.clone(), i))
            .collect();
        orphans
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
        if self.groups.is_empty() {
            // Nothing to merge with (the list of Pods joins the other kinds' empty groups).
            *self = other;
            return;
        }
        for entry in other.groups {
            self.pods += entry.names.len();
            match self.index.get(&entry.key) {
                Some(&i) => self.groups[i].names.extend(entry.names),
                None => {
                    self.index.insert(entry.key.clone(), self.groups.len());
                    self.groups.push(entry);
                }
            }
        }
    }

    /// One object per group: built once, its first pod's name its name, the others its
    /// [`Object::copies`].
    pub fn into_objects(self, out: &mut Vec<Object>, invalid: &mut Vec<String>) {
        for Entry { pod, names, .. } in self.groups {
            let Some(first) = names.first() else {
                continue;
            };
            let mut template = match pod {
                Ok(object) => object,
                Err(message) => {
                    invalid.push(format!("Pod {first}: {message}"));
                    continue;
                }
            };
            let mut names = names.into_iter().map(String::from);
            if let Some(name) = names.next() {
                template.name = name;
            }
            template.copies = names.collect();
            out.push(template);
        }
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
        let page = format!(
            r#"{{"kind": "PodList", "metadata": {{"continue": "next"}}, "items": [{POD}]}}"#
        );
        assert_eq!(
            continue_token(&[page.as_bytes()]).unwrap().as_deref(),
            Some("next")
        );
        let last = r#"{"kind": "PodList", "items": [], "metadata": {"continue": "after"}}"#;
        assert_eq!(
            continue_token(&[last.as_bytes()]).unwrap().as_deref(),
            Some("after")
        );
        assert_eq!(
            continue_token(&[br#"{"metadata": {}, "items": []}"#]).unwrap(),
            None
        );
        assert!(continue_token(&[b"<html>"]).is_err());
        // In pieces: read from the first alone when it holds the metadata, else from all.
        for cut in [0, 10, 40, page.len() - 1] {
            let (a, b) = page.as_bytes().split_at(cut);
            assert_eq!(continue_token(&[a, b]).unwrap().as_deref(), Some("next"));
            let (a, b) = last.as_bytes().split_at(cut.min(last.len()));
            assert_eq!(continue_token(&[a, b]).unwrap().as_deref(), Some("after"));
        }
        assert!(continue_token(&[&b"<ht"[..], b"ml>"]).is_err());
        let items = items(page.as_bytes(), Status::Phase).unwrap();
        let pod = &items[0];
        assert!(pod["metadata"].get("managedFields").is_none());
        assert!(
            pod["metadata"]["annotations"]
                .get("kubectl.kubernetes.io/last-applied-configuration")
                .is_none()
        );
        assert_eq!(pod["status"], json!({"phase": "Running"}));
        assert!(pod["spec"]["containers"][0].get("env").is_none());
        assert_eq!(
            pod["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
        assert!(pod["spec"]["initContainers"][0].get("args").is_none());
        let deployment = object(br#"{"metadata": {"name": "d"}, "spec": {"template": {"metadata": {"managedFields": []}, "spec": {"containers": [{"name": "a", "env": []}]}}}, "status": {"replicas": 1}}"#, Status::of("Deployment")).unwrap();
        assert_eq!(
            deployment,
            // Of another object's status nothing stays (of a Node's only `nodeInfo`).
            json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "a"}]}}}})
        );
        let node = object(br#"{"metadata": {"name": "n"}, "status": {"nodeInfo": {"kubeletVersion": "v1.33.1"}, "conditions": [{"type": "Ready"}]}}"#, Status::of("Node")).unwrap();
        assert_eq!(
            node["status"],
            json!({"nodeInfo": {"kubeletVersion": "v1.33.1"}})
        );
    }

    #[test]
    fn pod_pages_group_owned_pods_in_any_field_order() {
        let present: HashSet<Ref> =
            HashSet::from([("ReplicaSet".into(), "shop".into(), "web-1".into())]);
        // The same pod, its spec before its metadata.
        let spec_first = r#"{"spec": {"initContainers": [{"name": "istio-validation"}],
              "containers": [{"name": "web", "env": []}, {"name": "istio-proxy"}]},
            "metadata": {"name": "web-1-b", "namespace": "shop",
              "labels": {"sidecar.istio.io/inject": "true"},
              "annotations": {"sidecar.istio.io/status": "{}", "meshready.io/ignore": "MR0001"},
              "ownerReferences": [{"kind": "ReplicaSet", "name": "web-1", "controller": true}]},
            "status": {"phase": "Running"}}"#;
        let orphan = POD.replace(r#""name": "web-1", "uid""#, r#""name": "gone", "uid""#);
        let page = format!(r#"{{"items": [{POD}, {spec_first}, {orphan}], "metadata": {{}}}}"#);
        let mut groups = PodGroups::default();
        let whole = pod_items(
            &[page.as_bytes()],
            &Grouping::Present(present.clone()),
            &mut groups,
        )
        .unwrap();
        assert_eq!((groups.pods(), groups.groups()), (2, 1));
        assert_eq!(whole.len(), 1);
        assert_eq!(
            whole[0]["spec"]["containers"][0]["ports"][0]["containerPort"],
            80
        );
        assert!(whole[0]["metadata"].get("managedFields").is_none());
        assert_eq!(whole[0]["status"], json!({"phase": "Running"}));

        // Read before the ReplicaSets are known, every pod with a ReplicaSet controller is
        // grouped; the orphan is then taken out, to be read whole.
        let mut speculative = PodGroups::default();
        let kinds = Grouping::Kinds(HashSet::from(["ReplicaSet".to_string()]));
        let whole = pod_items(&[page.as_bytes()], &kinds, &mut speculative).unwrap();
        assert_eq!(
            (speculative.pods(), speculative.groups(), whole.len()),
            (3, 2, 0)
        );
        let orphans = speculative.take_orphans(|kind, namespace, name| {
            present.contains(&(kind.to_string(), namespace.to_string(), name.to_string()))
        });
        assert_eq!(orphans, [("shop".to_string(), "web-1-a".to_string())]);
        assert_eq!((speculative.pods(), speculative.groups()), (2, 1));
        // The remaining group is the one read with the ReplicaSets known.
        let (mut a, mut b) = (Vec::new(), Vec::new());
        groups.into_objects(&mut a, &mut Vec::new());
        speculative.into_objects(&mut b, &mut Vec::new());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn pod_pages_are_read_as_json_parsers_read_them() {
        let present = Grouping::Present(HashSet::from([(
            "ReplicaSet".into(),
            "shop".into(),
            "web-1".into(),
        )]));
        let read = |page: &str| {
            let mut groups = PodGroups::default();
            let whole = pod_items(&[page.as_bytes()], &present, &mut groups).map(|w| w.len());
            whole.map(|whole| (groups.pods(), whole))
        };
        let bare = POD.replace(r#""kind": "ReplicaSet""#, r#""kind": "Node""#);
        // The last `items` counts; a key may be spelt with escapes; members in any order.
        assert_eq!(
            read(&format!(
                r#" {{"items": [{bare}], "kind": "PodList", "it\u0065ms" : [ {POD} , {POD} ], "metadata": {{"continue": "x"}}}} "#
            ))
            .unwrap(),
            (2, 0)
        );
        assert_eq!(
            read(&format!(r#"{{"items": [{POD}], "items": null}}"#)).unwrap(),
            (0, 0)
        );
        assert_eq!(read(r#"{"items": []}"#).unwrap(), (0, 0));
        assert_eq!(read("{}").unwrap(), (0, 0));
        assert_eq!(read(&format!(r#"{{"items": [{bare}]}}"#)).unwrap(), (0, 1));
        for bad in [
            "[]".to_string(),
            r#"{"items": 3}"#.into(),
            r#"{"items": [1]}"#.into(),
            format!(r#"{{"items": [{POD}}}"#),
            format!(r#"{{"items": [{POD}] x}}"#),
            format!(r#"{{"items": [{POD}]}} {{}}"#),
            r#"{"items" [], "a": 1}"#.into(),
            r#"{3: []}"#.into(),
        ] {
            assert!(read(&bad).is_err(), "{bad}");
        }
    }

    /// Adds a reduced owned pod ([`owned_pod`]) to `groups`, keyed by its JSON text.
    fn add(groups: &mut PodGroups, pod: Value) {
        let name: Box<str> = pod["metadata"]["name"].as_str().unwrap_or("").into();
        let group = Group::new(
            pod["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            controllers(&pod)
                .map(|(k, n)| (k.to_string(), n.to_string()))
                .collect(),
        );
        let mut key_pod = pod.clone();
        if let Some(meta) = key_pod["metadata"].as_object_mut() {
            meta.remove("name");
        }
        let key = key_pod.to_string().into_bytes();
        let added: Result<(), std::convert::Infallible> =
            groups.add_keyed(&key, name, || Ok((pod, group)));
        let Ok(()) = added;
    }

    /// [`POD`] as a list item typed as a Pod.
    fn typed_pod() -> Value {
        let mut pod: Value = serde_json::from_str(POD).unwrap();
        pod["apiVersion"] = json!("v1");
        pod["kind"] = json!("Pod");
        pod
    }

    #[test]
    fn groups_stay_found_after_no_orphan_is_taken_and_after_a_merge_into_nothing() {
        let owned = owned_pod(&typed_pod());
        let named = |name: &str| {
            let mut pod = owned.clone();
            pod["metadata"]["name"] = json!(name);
            pod
        };
        // Merged into empty groups: moved as they are.
        let mut first = PodGroups::default();
        add(&mut first, named("web-1-a"));
        let mut groups = PodGroups::default();
        groups.append(first);
        assert_eq!((groups.pods(), groups.groups()), (1, 1));
        // Its controller exists: nothing is taken, and the group is still found by its key.
        let orphans = groups.take_orphans(|kind, namespace, name| {
            (kind, namespace, name) == ("ReplicaSet", "shop", "web-1")
        });
        assert!(orphans.is_empty());
        // A finished pod is another group; the next running one is found by the index.
        let mut finished = named("web-1-x");
        finished["status"] = json!({"phase": "Succeeded"});
        add(&mut groups, finished);
        add(&mut groups, named("web-1-b"));
        let mut later = PodGroups::default();
        add(&mut later, named("web-1-c"));
        groups.append(later);
        assert_eq!((groups.pods(), groups.groups()), (4, 2));
        // Their controller is gone: every pod is an orphan.
        let orphans = groups.take_orphans(|_, _, _| false);
        assert_eq!(orphans.len(), 4);
        assert_eq!((groups.pods(), groups.groups()), (0, 0));
    }

    #[test]
    fn owned_pods_keep_their_facts_and_group() {
        let pod = typed_pod();
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
        let present = Grouping::Present(HashSet::from([(
            "ReplicaSet".into(),
            "shop".into(),
            "web-1".into(),
        )]));
        assert!(present.own_json(&pod));
        assert!(!Grouping::Present(HashSet::new()).own_json(&pod));
        let mut groups = PodGroups::default();
        add(&mut groups, owned.clone());
        let mut other = owned.clone();
        other["metadata"]["name"] = json!("web-1-b");
        add(&mut groups, other);
        let mut finished = owned;
        finished["status"] = json!({"phase": "Succeeded"});
        add(&mut groups, finished);
        assert_eq!((groups.pods(), groups.groups()), (3, 2));
        let mut objects = Vec::new();
        let mut invalid = Vec::new();
        groups.into_objects(&mut objects, &mut invalid);
        assert!(invalid.is_empty());
        let names: Vec<(&str, &[String])> = objects
            .iter()
            .map(|o| (o.name.as_str(), o.copies.as_slice()))
            .collect();
        assert_eq!(
            names,
            [
                ("web-1-a", &["web-1-b".to_string()][..]),
                ("web-1-a", &[][..])
            ]
        );
        assert!(objects[0].root.at(&["metadata", "name"]).is_none());
        assert!(
            objects[0]
                .root
                .at(&["metadata", "ownerReferences"])
                .is_some()
        );
        assert_eq!(objects[1].namespace, "shop");
        assert_eq!(
            (objects[1].kind.as_str(), objects[1].api_version.as_str()),
            ("Pod", "v1")
        );
    }
}
