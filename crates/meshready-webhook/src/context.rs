//! The cross-object context a review is judged against: Services, Namespaces, the injector
//! ConfigMap, RBAC and pod-security objects, indexed by namespace so a review copies only what
//! its namespace needs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use meshready_core::source::{Input, LoadError, LoadOptions, Object, is_cluster_scoped, load};

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

/// An immutable snapshot of the context objects.
#[derive(Debug, Default)]
pub struct Context {
    objects: Vec<Object>,
    /// Namespaced objects by namespace (indices into `objects`).
    by_namespace: HashMap<String, Vec<usize>>,
    /// Namespace objects by name.
    namespaces: HashMap<String, usize>,
    /// Objects every review sees: cluster-wide RBAC and policies, the injector ConfigMaps and
    /// the CNI DaemonSet.
    global: Vec<usize>,
}

impl Context {
    /// Indexes context objects. Objects of other cluster-scoped kinds are dropped.
    #[must_use]
    pub fn new(objects: Vec<Object>) -> Self {
        let mut context = Self::default();
        for object in objects {
            let i = context.objects.len();
            if object.kind == "Namespace" {
                context.namespaces.insert(object.name.clone(), i);
            } else if is_cluster_scoped(&object.kind) {
                if !GLOBAL_KINDS.contains(&object.kind.as_str()) {
                    continue;
                }
                context.global.push(i);
            } else if is_mesh_wide(&object) {
                context.global.push(i);
            } else {
                context
                    .by_namespace
                    .entry(object.namespace.clone())
                    .or_default()
                    .push(i);
            }
            context.objects.push(object);
        }
        context
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
        self.objects.len()
    }

    /// Whether the context is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The context objects a review of an object in `namespace` needs (for a Namespace review,
    /// `namespace` is its name), leaving out the context's copy of the reviewed object itself
    /// (`(kind, name)`), which the request replaces.
    pub fn relevant<'a>(
        &'a self,
        namespace: &'a str,
        reviewed: (&'a str, &'a str),
    ) -> impl Iterator<Item = &'a Object> + 'a {
        let local = self
            .by_namespace
            .get(namespace)
            .map_or(&[][..], Vec::as_slice);
        let ns = self.namespaces.get(namespace).copied();
        local
            .iter()
            .copied()
            .chain(ns)
            .chain(self.global.iter().copied())
            .map(|i| &self.objects[i])
            .filter(move |o| {
                !(o.kind == reviewed.0
                    && o.name == reviewed.1
                    && (o.namespace == namespace || o.kind == "Namespace"))
            })
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
