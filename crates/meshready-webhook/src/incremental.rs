//! The live context kept converted between rebuilds: watch events are recorded per kind as they
//! arrive, a rebuild converts only the objects whose resourceVersion changed and re-indexes only
//! the namespaces they are in, sharing everything else with the previous snapshot.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use meshready_core::source::{LoadOptions, Object, object_from_json};
use serde::Serialize;

use crate::context::{Context, Place, deciding_node, estimated_bytes, place};

/// An object as the watch delivered it, converted to an [`Object`] only when a rebuild needs it.
pub trait Source: Send {
    /// The object in the core's form, or `None` when it is not a Kubernetes object.
    fn to_object(&self) -> Option<Object>;
}

impl<K: Serialize + Send> Source for K {
    /// Converts with the rules' prune policy, as offline context files are loaded (no
    /// `managedFields`, no kubectl last-applied annotation, nothing no rule reads).
    fn to_object(&self) -> Option<Object> {
        let value = serde_json::to_value(self).ok()?;
        let options = LoadOptions::default().with_prune(meshready_core::rules::PRUNE);
        object_from_json(&value, &options).ok()
    }
}

/// An object's identity within its kind: (namespace, name).
pub type Key = (String, String);

/// One watched object version.
pub struct Item {
    resource_version: String,
    object: Pending,
}

/// An object converted when it arrived, or to convert at the next rebuild.
enum Pending {
    Converted(Option<Arc<Object>>),
    Later(Box<dyn Source>),
}

impl Item {
    /// An object at `resource_version`, converted by the rebuild that needs it (for lists: a
    /// relisted object whose resourceVersion did not change is not converted again).
    pub fn new(resource_version: String, source: Box<dyn Source>) -> Self {
        Self {
            resource_version,
            object: Pending::Later(source),
        }
    }

    /// An object at `resource_version`, converted now (for single watch events: the cost is
    /// spread over the events instead of bunched in a rebuild).
    pub fn converted(resource_version: String, source: &dyn Source) -> Self {
        Self {
            resource_version,
            object: Pending::Converted(source.to_object().map(Arc::new)),
        }
    }

    fn into_object(self) -> Option<Arc<Object>> {
        match self.object {
            Pending::Converted(object) => object,
            Pending::Later(source) => source.to_object().map(Arc::new),
        }
    }
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("resource_version", &self.resource_version)
            .field("converted", &matches!(self.object, Pending::Converted(_)))
            .finish_non_exhaustive()
    }
}

/// What happened to one kind since the last rebuild, as told by its watch: the latest version
/// of every changed object, and a complete relist when the watch (re)started.
#[derive(Debug, Default)]
pub struct Changes {
    /// A list in progress (between `Init` and `InitDone`).
    listing: Option<BTreeMap<Key, Item>>,
    /// A complete list not yet taken by a rebuild: it replaces the kind's objects.
    relisted: Option<BTreeMap<Key, Item>>,
    /// Changes after the last complete list (`None`: deleted).
    changed: BTreeMap<Key, Option<Item>>,
    /// Whether a complete list has arrived once.
    listed: bool,
}

/// The changes of one kind taken by a rebuild.
#[derive(Debug, Default)]
pub struct Taken {
    relisted: Option<BTreeMap<Key, Item>>,
    changed: BTreeMap<Key, Option<Item>>,
}

impl Taken {
    /// Whether there is nothing to apply.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.relisted.is_none() && self.changed.is_empty()
    }
}

impl Changes {
    /// The watch (re)starts listing.
    pub fn init(&mut self) {
        self.listing = Some(BTreeMap::new());
    }

    /// An object of the list in progress.
    pub fn init_apply(&mut self, key: Key, item: Item) {
        self.listing.get_or_insert_default().insert(key, item);
    }

    /// The list is complete: it replaces everything recorded before.
    pub fn init_done(&mut self) {
        self.relisted = Some(self.listing.take().unwrap_or_default());
        self.changed.clear();
        self.listed = true;
    }

    /// An object was added or modified.
    pub fn apply(&mut self, key: Key, item: Item) {
        self.changed.insert(key, Some(item));
    }

    /// An object was deleted.
    pub fn delete(&mut self, key: Key) {
        self.changed.insert(key, None);
    }

    /// Whether a complete list has arrived (the kind is synced).
    #[must_use]
    pub fn is_listed(&self) -> bool {
        self.listed
    }

    /// Counts a kind that could not be listed as listed and empty, until a list succeeds (for
    /// a kind reviews can do without).
    pub fn listed_empty_unless_listed(&mut self) {
        if !self.listed {
            self.listing = None;
            self.init_done();
        }
    }

    /// Takes what a rebuild must apply (a list in progress stays).
    pub fn take(&mut self) -> Taken {
        Taken {
            relisted: self.relisted.take(),
            changed: std::mem::take(&mut self.changed),
        }
    }
}

#[derive(Debug)]
struct Entry {
    resource_version: String,
    /// `None` when the object does not convert (it is left out of the context).
    object: Option<Arc<Object>>,
    bytes: usize,
}

/// The converted objects of every kind, by identity, and the index of the last snapshot.
#[derive(Debug, Default)]
pub struct Incremental {
    kinds: Vec<BTreeMap<Key, Entry>>,
    /// Whether a snapshot was built (later rebuilds re-index only what changed).
    built: bool,
    /// Namespaced objects by namespace, as in the last snapshot.
    local: HashMap<String, Arc<[Arc<Object>]>>,
    /// Namespace objects by name.
    namespaces: HashMap<String, Arc<Object>>,
    /// Objects every review sees, by the namespace they are in (`""`: cluster-scoped).
    global: BTreeMap<String, Vec<Arc<Object>>>,
    /// Estimated bytes of every converted object.
    bytes: usize,
}

/// What one rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Objects converted (new or changed resourceVersion).
    pub converted: usize,
    /// Objects removed.
    pub removed: usize,
    /// Namespaces re-indexed (`""`, the cluster-scoped objects, counts as one).
    pub reindexed: usize,
}

impl Incremental {
    /// Applies each kind's taken changes (in the order the kinds were registered) and builds a
    /// new snapshot that shares every unchanged object, and every unchanged namespace's list of
    /// objects, with the previous one.
    pub fn rebuild(&mut self, taken: Vec<Taken>) -> (Context, Rebuilt) {
        if self.kinds.len() < taken.len() {
            self.kinds.resize_with(taken.len(), BTreeMap::new);
        }
        let mut rebuilt = Rebuilt::default();
        let mut dirty = BTreeSet::new();
        let mut everything = !self.built;
        for (entries, taken) in self.kinds.iter_mut().zip(taken) {
            everything |= taken.relisted.is_some();
            self.bytes = apply(entries, taken, self.bytes, &mut rebuilt, &mut dirty);
        }
        if everything {
            self.local.clear();
            self.namespaces.clear();
            self.global.clear();
            dirty = self
                .kinds
                .iter()
                .flat_map(BTreeMap::keys)
                .map(|(ns, _)| ns.clone())
                .collect();
        }
        rebuilt.reindexed = dirty.len();
        for namespace in dirty {
            self.reindex(namespace);
        }
        self.built = true;
        let global = self.global.values().flatten().cloned().collect();
        let context = Context::from_parts(
            self.local.clone(),
            self.namespaces.clone(),
            global,
            self.bytes,
        );
        (context, rebuilt)
    }

    /// Rebuilds the index of the objects keyed in `namespace` (`""`: the cluster-scoped ones).
    fn reindex(&mut self, namespace: String) {
        let mut local = Vec::new();
        let mut global = Vec::new();
        let mut nodes = Vec::new();
        if namespace.is_empty() {
            self.namespaces.clear();
        }
        let from = (namespace.clone(), String::new());
        for entries in &self.kinds {
            let here = entries
                .range(&from..)
                .take_while(|((ns, _), _)| *ns == namespace);
            for (_, entry) in here {
                let Some(object) = &entry.object else {
                    continue;
                };
                match place(object) {
                    Place::Namespace => {
                        self.namespaces
                            .insert(object.name.clone(), Arc::clone(object));
                    }
                    Place::Global => global.push(Arc::clone(object)),
                    Place::Local => local.push(Arc::clone(object)),
                    Place::Node => nodes.push(object),
                    Place::Dropped => {}
                }
            }
        }
        global.extend(deciding_node(nodes));
        if global.is_empty() {
            self.global.remove(&namespace);
        } else {
            self.global.insert(namespace.clone(), global);
        }
        if local.is_empty() {
            self.local.remove(&namespace);
        } else {
            self.local.insert(namespace, Arc::from(local));
        }
    }
}

/// Applies one kind's changes; returns the new byte total.
fn apply(
    entries: &mut BTreeMap<Key, Entry>,
    taken: Taken,
    mut bytes: usize,
    rebuilt: &mut Rebuilt,
    dirty: &mut BTreeSet<String>,
) -> usize {
    if let Some(relisted) = taken.relisted {
        entries.retain(|key, entry| {
            let keep = relisted.contains_key(key);
            if !keep {
                bytes = bytes.saturating_sub(entry.bytes);
                rebuilt.removed += 1;
            }
            keep
        });
        for (key, item) in relisted {
            bytes = upsert(entries, key, item, bytes, rebuilt, dirty);
        }
    }
    for (key, item) in taken.changed {
        match item {
            Some(item) => bytes = upsert(entries, key, item, bytes, rebuilt, dirty),
            None => {
                if let Some(old) = entries.remove(&key) {
                    bytes = bytes.saturating_sub(old.bytes);
                    rebuilt.removed += 1;
                    dirty.insert(key.0);
                }
            }
        }
    }
    bytes
}

fn upsert(
    entries: &mut BTreeMap<Key, Entry>,
    key: Key,
    item: Item,
    mut bytes: usize,
    rebuilt: &mut Rebuilt,
    dirty: &mut BTreeSet<String>,
) -> usize {
    if entries.get(&key).is_some_and(|e| {
        !item.resource_version.is_empty() && e.resource_version == item.resource_version
    }) {
        return bytes;
    }
    let resource_version = item.resource_version.clone();
    let object = item.into_object();
    let size = object.as_deref().map_or(0, estimated_bytes);
    rebuilt.converted += 1;
    dirty.insert(key.0.clone());
    let entry = Entry {
        resource_version,
        object,
        bytes: size,
    };
    if let Some(old) = entries.insert(key, entry) {
        bytes = bytes.saturating_sub(old.bytes);
    }
    bytes + size
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn service(namespace: &str, name: &str, rv: u32, port: u16) -> (Key, Item) {
        let value = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv.to_string()},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": port}]}
        });
        (
            (namespace.into(), name.into()),
            Item::new(rv.to_string(), Box::new(value)),
        )
    }

    fn namespace(name: &str, rv: u32) -> (Key, Item) {
        let value = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "resourceVersion": rv.to_string(), "labels": {"istio-injection": "enabled"}}});
        (
            (String::new(), name.into()),
            Item::new(rv.to_string(), Box::new(value)),
        )
    }

    /// Everything a review can see, per namespace, in a comparable form.
    fn view(context: &Context, namespaces: &[&str]) -> Vec<(String, Vec<(String, String)>)> {
        namespaces
            .iter()
            .map(|ns| {
                let mut seen: Vec<(String, String)> = context
                    .relevant(ns, ("Pod", "reviewed"))
                    .map(|o| (o.display_name(), format!("{:?}", o.root)))
                    .collect();
                seen.sort();
                ((*ns).to_string(), seen)
            })
            .collect()
    }

    /// The context a full rebuild makes from the final objects.
    fn full(values: &[Value]) -> Context {
        Context::new(values.iter().filter_map(Source::to_object).collect())
    }

    fn configmap(name: &str, rv: u32, data: &str) -> (Key, Item) {
        let value = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "istio-system", "resourceVersion": rv.to_string()},
            "data": {"values": data}});
        (
            ("istio-system".into(), name.into()),
            Item::new(rv.to_string(), Box::new(value)),
        )
    }

    fn value(item: &(Key, Item)) -> Option<Object> {
        match &item.1.object {
            Pending::Converted(object) => object.as_deref().cloned(),
            Pending::Later(source) => source.to_object(),
        }
    }

    #[test]
    fn incremental_rebuilds_equal_full_rebuilds_after_adds_modifies_deletes_and_a_relist() {
        const NS: &[&str] = &["a", "b", "c", "istio-system"];
        let mut services = Changes::default();
        let mut namespaces = Changes::default();
        let mut configmaps = Changes::default();
        let mut incremental = Incremental::default();

        configmaps.init();
        for item in [
            configmap("istio-sidecar-injector", 20, "v1"),
            configmap("unrelated", 21, "x"),
        ] {
            configmaps.init_apply(item.0, item.1);
        }
        configmaps.init_done();

        namespaces.init();
        services.init();
        for item in [namespace("a", 1), namespace("b", 2)] {
            namespaces.init_apply(item.0, item.1);
        }
        for item in [
            service("a", "web", 3, 80),
            service("a", "api", 4, 80),
            service("b", "db", 5, 5432),
        ] {
            services.init_apply(item.0, item.1);
        }
        assert!(!services.is_listed(), "not listed before InitDone");
        namespaces.init_done();
        services.init_done();
        assert!(services.is_listed());
        let (first, rebuilt) =
            incremental.rebuild(vec![namespaces.take(), services.take(), configmaps.take()]);
        assert_eq!(
            (rebuilt.converted, rebuilt.removed, rebuilt.reindexed),
            (7, 0, 4)
        );
        let expected = |items: Vec<(Key, Item)>| {
            let objects: Vec<Object> = items.iter().filter_map(value).collect();
            Context::new(objects)
        };
        let want = expected(vec![
            configmap("istio-sidecar-injector", 20, "v1"),
            configmap("unrelated", 21, "x"),
            namespace("a", 1),
            namespace("b", 2),
            service("a", "web", 3, 80),
            service("a", "api", 4, 80),
            service("b", "db", 5, 5432),
        ]);
        assert_eq!(view(&first, NS), view(&want, NS));
        assert_eq!(first.len(), 7);
        assert_eq!(first.estimated_bytes(), want.estimated_bytes());

        // Modify one, add one (twice: only the last version counts), delete one.
        let modified = service("a", "web", 6, 8080);
        let eager = Item::converted(
            "6".into(),
            &json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "a", "resourceVersion": "6"},
                "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]}}),
        );
        services.apply(modified.0, eager);
        let added = service("c", "new", 7, 80);
        services.apply(added.0, added.1);
        let added = service("c", "new", 8, 9090);
        services.apply(added.0, added.1);
        services.delete(("b".into(), "db".into()));
        let ns = namespace("c", 9);
        namespaces.apply(ns.0, ns.1);
        let injector = configmap("istio-sidecar-injector", 22, "v2");
        configmaps.apply(injector.0, injector.1);
        let (second, rebuilt) =
            incremental.rebuild(vec![namespaces.take(), services.take(), configmaps.take()]);
        assert_eq!((rebuilt.converted, rebuilt.removed), (4, 1));
        assert_eq!(
            rebuilt.reindexed, 5,
            "a, b, c, istio-system and the cluster-scoped objects"
        );
        let want = expected(vec![
            configmap("istio-sidecar-injector", 22, "v2"),
            configmap("unrelated", 21, "x"),
            namespace("a", 1),
            namespace("b", 2),
            namespace("c", 9),
            service("a", "web", 6, 8080),
            service("a", "api", 4, 80),
            service("c", "new", 8, 9090),
        ]);
        assert_eq!(view(&second, NS), view(&want, NS));
        assert_eq!(second.len(), want.len());
        assert_eq!(second.estimated_bytes(), want.estimated_bytes());
        // The older snapshot is untouched.
        assert!(
            view(&first, NS)[1]
                .1
                .iter()
                .any(|(name, _)| name == "Service b/db"),
            "namespace b still has db in the first snapshot"
        );

        // A relist after a dropped watch: `api` vanished meanwhile, `web` unchanged (not
        // converted again), and a change recorded before the relist is superseded by it.
        let stale = service("a", "api", 10, 1);
        services.apply(stale.0, stale.1);
        services.init();
        for item in [service("a", "web", 6, 8080), service("c", "new", 11, 81)] {
            services.init_apply(item.0, item.1);
        }
        services.init_done();
        let (third, rebuilt) =
            incremental.rebuild(vec![namespaces.take(), services.take(), configmaps.take()]);
        assert_eq!((rebuilt.converted, rebuilt.removed), (1, 1));
        let want = full(&[
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system", "resourceVersion": "22"}, "data": {"values": "v2"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": "istio-system", "resourceVersion": "21"}, "data": {"values": "x"}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "resourceVersion": "1", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b", "resourceVersion": "2", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c", "resourceVersion": "9", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a", "resourceVersion": "6"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "new", "namespace": "c", "resourceVersion": "11"}, "spec": {"selector": {"app": "new"}, "ports": [{"name": "http", "port": 81}]}}),
        ]);
        assert_eq!(view(&third, NS), view(&want, NS));
        assert_eq!(third.len(), 7);
        assert_eq!(third.estimated_bytes(), want.estimated_bytes());

        // Nothing changed: nothing converted, same view.
        let (fourth, rebuilt) =
            incremental.rebuild(vec![namespaces.take(), services.take(), configmaps.take()]);
        assert_eq!(rebuilt, Rebuilt::default());
        assert_eq!(view(&fourth, NS), view(&third, NS));
    }

    #[test]
    fn objects_that_do_not_convert_are_left_out() {
        let mut changes = Changes::default();
        changes.init();
        changes.init_apply(
            ("a".into(), "x".into()),
            Item::new("1".into(), Box::new(json!({"metadata": {"name": "x"}}))),
        );
        changes.init_done();
        let (context, rebuilt) = Incremental::default().rebuild(vec![changes.take()]);
        assert_eq!(rebuilt.converted, 1);
        assert!(context.is_empty());
    }
}
