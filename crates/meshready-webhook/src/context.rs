//! The cross-object context a review is judged against: Services, Namespaces, the injector
//! ConfigMap, RBAC and pod-security objects, indexed by namespace so a review copies only what
//! its namespace needs.

use std::collections::HashMap;
use std::mem::{size_of, size_of_val};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use meshready_core::model::injector::kubelet_minor;
use meshready_core::source::{
    Input, LoadError, LoadOptions, Node, Object, Value, is_cluster_scoped, load,
};

use crate::metrics::{Histogram, REBUILD_BUCKETS};

/// Cluster-scoped kinds that matter to every namespace (RBAC, pod-security policies).
const GLOBAL_KINDS: &[&str] = &[
    "ClusterRole",
    "ClusterRoleBinding",
    "PodSecurityPolicy",
    "SecurityContextConstraints",
];

/// Whether a namespaced object matters to reviews in every namespace (the injector's
/// configuration, the Istio CNI node agent).
fn is_mesh_wide(object: &Object) -> bool {
    (object.kind == "ConfigMap" && object.name.starts_with("istio-sidecar-injector"))
        || (object.kind == "DaemonSet" && object.name == "istio-cni-node")
}

/// Where a context object is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// A Namespace: seen by reviews in that namespace.
    Namespace,
    /// Seen by every review: cluster-wide RBAC and policies, the injector ConfigMaps and the
    /// CNI DaemonSet.
    Global,
    /// Seen by reviews in its own namespace.
    Local,
    /// A Node: of all of them, every review sees only the one that decides whether Istio
    /// injects native sidecars ([`deciding_node`]).
    Node,
    /// Not kept (other cluster-scoped kinds).
    Dropped,
}

/// Of a cluster's Nodes, the one that decides `--native-sidecars auto` (native only when every
/// kubelet is 1.33 or newer): the one with the oldest kubelet, a Node without a readable
/// version first, then by name. A review sees it alone, so that its cost does not grow with the
/// number of Nodes, and the core decides from it as it would from all of them.
pub fn deciding_node<'a>(nodes: impl IntoIterator<Item = &'a Arc<Object>>) -> Option<Arc<Object>> {
    nodes
        .into_iter()
        .min_by_key(|n| {
            (
                kubelet_minor(n).map_or(0, |m| u64::from(m) + 1),
                n.name.as_str(),
            )
        })
        .cloned()
}

/// Where `object` belongs in a [`Context`].
#[must_use]
pub fn place(object: &Object) -> Place {
    if object.kind == "Namespace" {
        Place::Namespace
    } else if object.kind == "Node" {
        Place::Node
    } else if is_cluster_scoped(&object.kind) {
        if GLOBAL_KINDS.contains(&object.kind.as_str()) {
            Place::Global
        } else {
            Place::Dropped
        }
    } else if is_mesh_wide(object) {
        Place::Global
    } else {
        Place::Local
    }
}

/// An immutable snapshot of the context objects. Objects, and whole namespaces' lists of them,
/// are shared (`Arc`) between successive snapshots of a live context, so a rebuild copies only
/// what changed.
#[derive(Debug, Default)]
pub struct Context {
    /// Namespaced objects by namespace.
    by_namespace: HashMap<String, Arc<[Arc<Object>]>>,
    /// Namespace objects by name.
    namespaces: HashMap<String, Arc<Object>>,
    /// Objects every review sees ([`Place::Global`]).
    global: Vec<Arc<Object>>,
    /// Objects kept.
    len: usize,
    /// Estimated heap bytes of the kept objects ([`estimated_bytes`]).
    bytes: usize,
}

impl Context {
    /// Indexes context objects. Objects of other cluster-scoped kinds are dropped.
    #[must_use]
    pub fn new(objects: Vec<Object>) -> Self {
        let mut local: HashMap<String, Vec<Arc<Object>>> = HashMap::new();
        let mut namespaces = HashMap::new();
        let mut global = Vec::new();
        let mut nodes = Vec::new();
        let mut bytes = 0;
        for object in objects {
            let object = Arc::new(object);
            match place(&object) {
                Place::Namespace => {
                    namespaces.insert(object.name.clone(), Arc::clone(&object));
                }
                Place::Global => global.push(Arc::clone(&object)),
                Place::Local => local
                    .entry(object.namespace.clone())
                    .or_default()
                    .push(Arc::clone(&object)),
                Place::Node => {
                    nodes.push(object);
                    continue;
                }
                Place::Dropped => continue,
            }
            bytes += estimated_bytes(&object);
        }
        if let Some(node) = deciding_node(&nodes) {
            bytes += estimated_bytes(&node);
            global.push(node);
        }
        let by_namespace = local
            .into_iter()
            .map(|(ns, objects)| (ns, Arc::from(objects)))
            .collect();
        Self::from_parts(by_namespace, namespaces, global, bytes)
    }

    /// A context from its indexes (objects already placed with [`place`]); `bytes` is the
    /// caller's estimate of their size.
    #[must_use]
    pub fn from_parts(
        by_namespace: HashMap<String, Arc<[Arc<Object>]>>,
        namespaces: HashMap<String, Arc<Object>>,
        global: Vec<Arc<Object>>,
        bytes: usize,
    ) -> Self {
        let len =
            by_namespace.values().map(|l| l.len()).sum::<usize>() + namespaces.len() + global.len();
        Self {
            by_namespace,
            namespaces,
            global,
            len,
            bytes,
        }
    }

    /// Loads the context from manifest inputs with the core loader. Documents that cannot be
    /// read are returned so the caller can report them.
    #[must_use]
    pub fn load(inputs: Vec<Input>) -> (Self, Vec<LoadError>) {
        let loaded = load(
            inputs,
            &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
        );
        (Self::new(loaded.objects), loaded.errors)
    }

    /// Number of objects kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the context is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// An estimate of the heap bytes the objects take ([`estimated_bytes`]; the indexes and
    /// allocator overhead are not counted).
    #[must_use]
    pub fn estimated_bytes(&self) -> usize {
        self.bytes
    }

    /// The context objects a review of an object in `namespace` needs (for a Namespace review,
    /// `namespace` is its name), leaving out the context's copy of the reviewed object itself
    /// (`(kind, name)`), which the request replaces.
    pub fn relevant<'a>(
        &'a self,
        namespace: &'a str,
        reviewed: (&'a str, &'a str),
    ) -> impl Iterator<Item = &'a Object> + 'a {
        let local = self.by_namespace.get(namespace).map_or(&[][..], |l| &l[..]);
        local
            .iter()
            .chain(self.namespaces.get(namespace))
            .chain(&self.global)
            .map(|o| &**o)
            .filter(move |o| {
                !(o.kind == reviewed.0
                    && o.name == reviewed.1
                    && (o.namespace == namespace || o.kind == "Namespace"))
            })
    }
}

/// An estimate of the heap bytes one shared context object takes: the `Arc`'d [`Object`], its
/// strings and its parsed tree (every node, string and mapping key counted where it is used;
/// allocator overhead and unused capacity are not).
#[must_use]
pub fn estimated_bytes(object: &Object) -> usize {
    2 * size_of::<usize>()
        + size_of::<Object>()
        + object.kind.len()
        + object.api_version.len()
        + object.name.len()
        + object.namespace.len()
        + object.origin.helm_source.as_ref().map_or(0, String::len)
        + size_of_val(object.quirks.as_slice())
        + object
            .templates
            .as_ref()
            .map_or(0, |t| t.iter().map(|p| size_of::<String>() + p.len()).sum())
        + node_bytes(&object.root)
}

/// Heap bytes below a node (the node itself is counted by its parent).
fn node_bytes(node: &Node) -> usize {
    match &node.value {
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) => 0,
        Value::Str(s) | Value::Yaml11Bool(s, _) => s.len(),
        Value::Seq(items) => items
            .iter()
            .map(|n| size_of::<Node>() + node_bytes(n))
            .sum(),
        Value::Map(entries) => entries
            .iter()
            .map(|e| size_of_val(e) + 2 * size_of::<usize>() + e.key.len() + node_bytes(&e.value))
            .sum(),
    }
}

/// How the live context's rebuilds went.
#[derive(Debug)]
pub struct RebuildStats {
    /// Rebuild durations (seconds).
    pub durations: Histogram,
    /// The longest rebuild.
    pub max: Duration,
    /// Objects converted over all rebuilds.
    pub converted: u64,
}

impl Default for RebuildStats {
    fn default() -> Self {
        Self {
            durations: Histogram::new(REBUILD_BUCKETS),
            max: Duration::ZERO,
            converted: 0,
        }
    }
}

/// The context shared by the server and whatever keeps it up to date (a reflector, or nothing
/// for an offline context), with the readiness flag behind `/readyz`.
#[derive(Debug, Clone, Default)]
pub struct SharedContext {
    inner: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    current: RwLock<Arc<Context>>,
    ready: AtomicBool,
    rebuilds: Mutex<RebuildStats>,
}

impl SharedContext {
    /// A context that is not ready yet (a reflector will fill it).
    #[must_use]
    pub fn pending() -> Self {
        Self::default()
    }

    /// A ready context that never changes (offline context files, or none at all).
    #[must_use]
    pub fn fixed(context: Context) -> Self {
        let shared = Self::default();
        shared.replace(context);
        shared.set_ready();
        shared
    }

    /// The current snapshot.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Context> {
        match self.inner.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the snapshot.
    pub fn replace(&self, context: Context) {
        let context = Arc::new(context);
        match self.inner.current.write() {
            Ok(mut guard) => *guard = context,
            Err(poisoned) => *poisoned.into_inner() = context,
        }
    }

    /// Replaces the snapshot with a rebuilt one and records how long the rebuild took and how
    /// many objects it converted.
    pub fn replace_rebuilt(&self, context: Context, took: Duration, converted: usize) {
        self.replace(context);
        let mut stats = match self.inner.rebuilds.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        stats.durations.observe(took.as_secs_f64());
        stats.max = stats.max.max(took);
        stats.converted += converted as u64;
    }

    /// Calls `f` with the rebuild statistics.
    pub fn with_rebuild_stats<T>(&self, f: impl FnOnce(&RebuildStats) -> T) -> T {
        match self.inner.rebuilds.lock() {
            Ok(guard) => f(&guard),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Marks the context ready (`/readyz` answers 200 from now on).
    pub fn set_ready(&self) {
        self.inner.ready.store(true, Ordering::Release);
    }

    /// Whether the context has been loaded or synced.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use meshready_core::source::load_str;

    use super::*;

    const OBJECTS: &str = "\
apiVersion: v1
kind: Service
metadata: {name: a, namespace: shop}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: other}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: istio-sidecar-injector, namespace: istio-system}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated, namespace: istio-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: psp-use}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
";

    fn names<'a>(it: impl Iterator<Item = &'a Object>) -> Vec<String> {
        let mut v: Vec<String> = it.map(Object::display_name).collect();
        v.sort();
        v
    }

    #[test]
    fn a_review_sees_its_namespace_and_the_mesh_wide_objects() {
        let loaded = load_str("ctx.yaml", OBJECTS, &LoadOptions::default());
        let context = Context::new(loaded.objects);
        assert_eq!(context.len(), 7, "the StorageClass is dropped");
        assert_eq!(
            names(context.relevant("shop", ("Deployment", "web"))),
            [
                "ClusterRole psp-use",
                "ConfigMap istio-system/istio-sidecar-injector",
                "Namespace shop",
                "Service shop/a"
            ]
        );
    }

    #[test]
    fn the_reviewed_object_is_left_out() {
        let loaded = load_str("ctx.yaml", OBJECTS, &LoadOptions::default());
        let context = Context::new(loaded.objects);
        assert!(
            !names(context.relevant("shop", ("Service", "a"))).contains(&"Service shop/a".into())
        );
        assert!(
            !names(context.relevant("shop", ("Namespace", "shop")))
                .contains(&"Namespace shop".into())
        );
    }

    #[test]
    fn fixed_contexts_are_ready_and_pending_ones_are_not() {
        assert!(SharedContext::fixed(Context::default()).is_ready());
        let pending = SharedContext::pending();
        assert!(!pending.is_ready());
        pending.set_ready();
        assert!(pending.is_ready());
    }
}
