//! The live context kept converted between rebuilds: watch events are recorded per kind as they
//! arrive (cheap), and a rebuild converts only the objects whose resourceVersion changed, sharing
//! every unchanged object with the previous snapshot.

use std::collections::BTreeMap;
use std::sync::Arc;

use meshready_core::source::{LoadOptions, Object, object_from_json};
use serde::Serialize;

use crate::context::{Context, estimated_bytes};

/// An object as the watch delivered it, converted to an [`Object`] only when a rebuild needs it.
pub trait Source: Send {
    /// The object in the core's form, or `None` when it is not a Kubernetes object.
    fn to_object(&self) -> Option<Object>;
}

impl<K: Serialize + Send> Source for K {
    fn to_object(&self) -> Option<Object> {
        let value = serde_json::to_value(self).ok()?;
        object_from_json(&value, &LoadOptions::default()).ok()
    }
}

/// An object's identity within its kind: (namespace, name).
pub type Key = (String, String);

/// One watched object version.
pub struct Item {
    resource_version: String,
    source: Box<dyn Source>,
}

impl Item {
    /// An object at `resource_version`.
    pub fn new(resource_version: String, source: Box<dyn Source>) -> Self {
        Self {
            resource_version,
            source,
        }
    }
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Item")
            .field("resource_version", &self.resource_version)
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

/// The converted objects of every kind, by identity.
#[derive(Debug, Default)]
pub struct Incremental {
    kinds: Vec<BTreeMap<Key, Entry>>,
}

/// What one rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rebuilt {
    /// Objects converted (new or changed resourceVersion).
    pub converted: usize,
    /// Objects removed.
    pub removed: usize,
}

impl Incremental {
    /// Applies each kind's taken changes (in the order the kinds were registered) and builds a
    /// new snapshot that shares every unchanged object with the previous one.
    pub fn rebuild(&mut self, taken: Vec<Taken>) -> (Context, Rebuilt) {
        if self.kinds.len() < taken.len() {
            self.kinds.resize_with(taken.len(), BTreeMap::new);
        }
        let mut rebuilt = Rebuilt::default();
        for (entries, taken) in self.kinds.iter_mut().zip(taken) {
            apply(entries, taken, &mut rebuilt);
        }
        let mut bytes = 0;
        let objects: Vec<Arc<Object>> = self
            .kinds
            .iter()
            .flat_map(BTreeMap::values)
            .filter_map(|e| {
                bytes += e.bytes;
                e.object.clone()
            })
            .collect();
        (Context::from_shared(objects, Some(bytes)), rebuilt)
    }
}

fn apply(entries: &mut BTreeMap<Key, Entry>, taken: Taken, rebuilt: &mut Rebuilt) {
    if let Some(relisted) = taken.relisted {
        let before = entries.len();
        entries.retain(|key, _| relisted.contains_key(key));
        rebuilt.removed += before - entries.len();
        for (key, item) in relisted {
            upsert(entries, key, item, rebuilt);
        }
    }
    for (key, item) in taken.changed {
        match item {
            Some(item) => upsert(entries, key, item, rebuilt),
            None => rebuilt.removed += usize::from(entries.remove(&key).is_some()),
        }
    }
}

fn upsert(entries: &mut BTreeMap<Key, Entry>, key: Key, item: Item, rebuilt: &mut Rebuilt) {
    if entries.get(&key).is_some_and(|e| {
        !item.resource_version.is_empty() && e.resource_version == item.resource_version
    }) {
        return;
    }
    let object = item.source.to_object().map(Arc::new);
    let bytes = object.as_deref().map_or(0, estimated_bytes);
    rebuilt.converted += 1;
    entries.insert(
        key,
        Entry {
            resource_version: item.resource_version,
            object,
            bytes,
        },
    );
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

    fn value(item: &(Key, Item)) -> Option<Object> {
        item.1.source.to_object()
    }

    #[test]
    fn incremental_rebuilds_equal_full_rebuilds_after_adds_modifies_deletes_and_a_relist() {
        const NS: &[&str] = &["a", "b", "c"];
        let mut services = Changes::default();
        let mut namespaces = Changes::default();
        let mut incremental = Incremental::default();

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
        let (first, rebuilt) = incremental.rebuild(vec![namespaces.take(), services.take()]);
        assert_eq!(
            rebuilt,
            Rebuilt {
                converted: 5,
                removed: 0
            }
        );
        let expected = |items: Vec<(Key, Item)>| {
            let objects: Vec<Object> = items.iter().filter_map(value).collect();
            Context::new(objects)
        };
        let want = expected(vec![
            namespace("a", 1),
            namespace("b", 2),
            service("a", "web", 3, 80),
            service("a", "api", 4, 80),
            service("b", "db", 5, 5432),
        ]);
        assert_eq!(view(&first, NS), view(&want, NS));
        assert_eq!(first.len(), 5);
        assert_eq!(first.estimated_bytes(), want.estimated_bytes());

        // Modify one, add one (twice: only the last version counts), delete one.
        let modified = service("a", "web", 6, 8080);
        services.apply(modified.0, modified.1);
        let added = service("c", "new", 7, 80);
        services.apply(added.0, added.1);
        let added = service("c", "new", 8, 9090);
        services.apply(added.0, added.1);
        services.delete(("b".into(), "db".into()));
        let ns = namespace("c", 9);
        namespaces.apply(ns.0, ns.1);
        let (second, rebuilt) = incremental.rebuild(vec![namespaces.take(), services.take()]);
        assert_eq!(
            rebuilt,
            Rebuilt {
                converted: 3,
                removed: 1
            }
        );
        let want = expected(vec![
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
        assert_eq!(view(&first, NS)[1].1.len(), 2, "namespace b still has db");

        // A relist after a dropped watch: `api` vanished meanwhile, `web` unchanged (not
        // converted again), and a change recorded before the relist is superseded by it.
        let stale = service("a", "api", 10, 1);
        services.apply(stale.0, stale.1);
        services.init();
        for item in [service("a", "web", 6, 8080), service("c", "new", 11, 81)] {
            services.init_apply(item.0, item.1);
        }
        services.init_done();
        let (third, rebuilt) = incremental.rebuild(vec![namespaces.take(), services.take()]);
        assert_eq!(
            rebuilt,
            Rebuilt {
                converted: 1,
                removed: 1
            }
        );
        let want = full(&[
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a", "resourceVersion": "1", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b", "resourceVersion": "2", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c", "resourceVersion": "9", "labels": {"istio-injection": "enabled"}}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "a", "resourceVersion": "6"}, "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080}]}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "new", "namespace": "c", "resourceVersion": "11"}, "spec": {"selector": {"app": "new"}, "ports": [{"name": "http", "port": 81}]}}),
        ]);
        assert_eq!(view(&third, NS), view(&want, NS));
        assert_eq!(third.len(), 5);

        // Nothing changed: nothing converted, same view.
        let (fourth, rebuilt) = incremental.rebuild(vec![namespaces.take(), services.take()]);
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
