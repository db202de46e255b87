//! The mesh model: workloads, Services, Namespaces and their relations, indexed so that every
//! rule runs in time linear in the input.

pub mod cni;
pub mod injector;
pub mod mesh;
pub mod network_policy;
pub mod owners;
pub mod protocol;
pub mod service;
pub mod workload;

use std::collections::HashMap;

use rayon::prelude::*;

pub use mesh::{InjectorConfig, Membership};
pub use protocol::Protocol;
pub use service::{ResolvedPort, Service, ServicePort, TargetPort, resolve_target};
pub use workload::{Container, ContainerList, Workload, is_istio_control_plane};

use crate::settings::Settings;
use crate::source::{Node, Object};
use crate::suppress::AnnotationIndex;

/// The analysed input.
#[derive(Debug)]
pub struct Model<'a> {
    /// All objects.
    pub objects: &'a [Object],
    /// Workloads that are not owned by another workload of the input.
    pub workloads: Vec<Workload<'a>>,
    /// Mesh membership of each workload (same order).
    pub membership: Vec<Membership>,
    /// Services.
    pub services: Vec<Service<'a>>,
    /// Namespace objects by name.
    pub namespaces: HashMap<&'a str, &'a Object>,
    /// The injector's configuration, from the `istio-sidecar-injector` ConfigMap.
    pub injector: InjectorConfig,
    /// The settings used.
    pub settings: Settings,
    /// Whether injected pods use Istio CNI (`istio-validation`) rather than `istio-init`:
    /// `--istio-cni`, or detected from the input once for every rule.
    pub cni: bool,
    /// The injector's mesh-wide configuration (versions, native sidecars, platform, ...),
    /// resolved once for every rule.
    pub inject: injector::InjectConfig,
    /// Whether each object (by index) belongs to Istio's control plane.
    control_plane: Vec<bool>,
    /// Indices into `services` of the Services selecting each workload (same order as `workloads`).
    selected_by: Vec<Vec<usize>>,
    /// Whether each object's workload is one of Istio's own components
    /// ([`mesh::is_istio_component`]), worked out once for the rules that all ask it: for objects
    /// with one pod template among `workloads` (`None` for the others, which are asked again).
    istio_component: Vec<Option<bool>>,
    /// The objects' indexes: the check's, or each built when a rule first asks for it.
    indexes: SharedIndexes<'a>,
}

/// What [`crate::check`] works out once about its objects, for the rules (through the model)
/// and for what comes after them (suppressions, pod counts).
#[derive(Debug)]
pub struct Indexes<'a> {
    /// The objects by `(kind, namespace, name)`, to walk owner chains.
    pub owners: owners::Owners<'a>,
    /// Their suppression annotations.
    pub annotated: AnnotationIndex,
}

impl<'a> Indexes<'a> {
    /// Indexes `objects`.
    #[must_use]
    pub fn new(objects: &'a [Object]) -> Self {
        Self {
            owners: owners::Owners::new(objects),
            annotated: AnnotationIndex::new(objects),
        }
    }
}

/// [`Model::owners`] and [`Model::annotated`]: lent by the check, or built when first asked.
#[derive(Debug)]
enum SharedIndexes<'a> {
    Lent(&'a Indexes<'a>),
    Own {
        owners: std::sync::OnceLock<owners::Owners<'a>>,
        annotated: std::sync::OnceLock<AnnotationIndex>,
    },
}

impl<'a> Model<'a> {
    /// Builds the model.
    #[must_use]
    pub fn new(objects: &'a [Object], settings: Settings) -> Self {
        // What each object is to the model, found in parallel (a live cluster gives tens of
        // thousands of objects), then gathered in input order.
        let roles: Vec<Role<'a>> = objects
            .par_iter()
            .enumerate()
            .map(|(i, object)| match object.kind.as_str() {
                "Namespace" => Role::Namespace(object),
                "Service" if crate::source::kinds::group(&object.api_version).is_empty() => {
                    Role::Service(Service::new(i, object))
                }
                "ConfigMap" if object.name == "istio-sidecar-injector" => {
                    Role::Injector(injector_enables_namespaces_by_default(object))
                }
                _ => Role::Workloads(Workload::all(i, object).collect()),
            })
            .collect();
        let mut namespaces = HashMap::new();
        let mut services = Vec::new();
        let mut candidates = Vec::new();
        let mut injector = InjectorConfig::default();
        for role in roles {
            match role {
                Role::Namespace(object) => {
                    namespaces.insert(object.name.as_str(), object);
                }
                Role::Service(service) => services.push(service),
                Role::Injector(by_default) => injector.enable_namespaces_by_default |= by_default,
                Role::Workloads(workloads) => candidates.extend(workloads),
            }
        }
        let workloads = drop_owned(candidates);
        let membership = workloads
            .par_iter()
            .map(|w| {
                mesh::membership(
                    w,
                    namespaces.get(w.object.namespace.as_str()).copied(),
                    settings.mesh,
                    injector,
                )
            })
            .collect();
        let membership = failed_open(&workloads, membership, settings.live);
        let selected_by = associate(&workloads, &services);
        let control_plane = objects.par_iter().map(is_istio_control_plane).collect();
        let components: Vec<bool> = workloads.par_iter().map(mesh::is_istio_component).collect();
        let mut istio_component = vec![None; objects.len()];
        for (w, component) in workloads.iter().zip(components) {
            if w.object.templates.as_ref().is_some_and(|t| t.len() == 1) {
                istio_component[w.object_index] = Some(component);
            }
        }
        let cni = cni::cni_enabled(objects, &settings.admission);
        let inject = injector::InjectConfig::resolve(objects, &settings, cni);
        Self {
            objects,
            workloads,
            membership,
            services,
            namespaces,
            injector,
            settings,
            cni,
            inject,
            control_plane,
            selected_by,
            istio_component,
            indexes: SharedIndexes::Own {
                owners: std::sync::OnceLock::new(),
                annotated: std::sync::OnceLock::new(),
            },
        }
    }

    /// Uses `indexes`, of these same objects, rather than building them (ignored when they
    /// index other objects).
    #[must_use]
    pub fn with_indexes(mut self, indexes: &'a Indexes<'a>) -> Self {
        if indexes.owners.indexes(self.objects) {
            self.indexes = SharedIndexes::Lent(indexes);
        }
        self
    }

    /// The objects indexed by `(kind, namespace, name)`, to walk owner chains.
    pub fn owners(&self) -> &owners::Owners<'a> {
        match &self.indexes {
            SharedIndexes::Lent(indexes) => &indexes.owners,
            SharedIndexes::Own { owners, .. } => {
                owners.get_or_init(|| owners::Owners::new(self.objects))
            }
        }
    }

    /// The suppression annotations of the objects, by object index.
    pub fn annotated(&self) -> &AnnotationIndex {
        match &self.indexes {
            SharedIndexes::Lent(indexes) => &indexes.annotated,
            SharedIndexes::Own { annotated, .. } => {
                annotated.get_or_init(|| AnnotationIndex::new(self.objects))
            }
        }
    }

    /// The Services selecting workload number `i`, in input order.
    pub fn services_of(&self, i: usize) -> impl Iterator<Item = &Service<'a>> {
        self.selected_by[i].iter().map(|&s| &self.services[s])
    }

    /// Whether a workload belongs to Istio's control plane or is one of Istio's own components
    /// (ztunnel, istio-cni-node, gateways, waypoints): never an application problem.
    #[must_use]
    pub fn is_control_plane(&self, w: &Workload<'_>) -> bool {
        self.control_plane
            .get(w.object_index)
            .copied()
            .unwrap_or(false)
            || self
                .istio_component
                .get(w.object_index)
                .copied()
                .flatten()
                .filter(|_| {
                    self.objects
                        .get(w.object_index)
                        .is_some_and(|o| std::ptr::eq(o, w.object))
                })
                .unwrap_or_else(|| mesh::is_istio_component(w))
    }

    /// Workloads with a sidecar, with their index.
    pub fn meshed(&self) -> impl Iterator<Item = (usize, &Workload<'a>)> {
        self.workloads
            .iter()
            .enumerate()
            .filter(|(i, _)| self.membership[*i].has_sidecar())
    }
}

/// A live Pod (running, or at admission after the mutating webhooks) that the injector should
/// have injected but that carries no proxy runs without a sidecar: the injector failed open
/// (down, with `failurePolicy: Ignore`). IST0103 reports it; the sidecar rules must not judge
/// containers it does not have.
fn failed_open(
    workloads: &[Workload<'_>],
    membership: Vec<Membership>,
    live: bool,
) -> Vec<Membership> {
    if !live {
        return membership;
    }
    membership
        .into_iter()
        .zip(workloads)
        .map(|(m, w)| match m {
            Membership::Injected(_) if w.object.kind == "Pod" => Membership::NotInjected(
                "the pod arrived without the proxy (the injector failed open)",
            ),
            m => m,
        })
        .collect()
}

/// What one object is to [`Model::new`].
enum Role<'a> {
    Namespace(&'a Object),
    Service(Service<'a>),
    /// The injector's ConfigMap: whether it enables injection in every namespace by default.
    Injector(bool),
    /// Its pod templates (none for kinds that make no pods).
    Workloads(Vec<Workload<'a>>),
}

/// Drops workloads whose controlling owner is also in the input (a ReplicaSet of a Deployment,
/// the Pods of a ReplicaSet, the Jobs of a CronJob), so that each problem is reported once, at
/// the top owner.
fn drop_owned<'a>(candidates: Vec<Workload<'a>>) -> Vec<Workload<'a>> {
    let present: rustc_hash::FxHashSet<(&str, &str, &str)> = candidates
        .iter()
        .map(|w| {
            (
                w.object.kind.as_str(),
                w.object.namespace.as_str(),
                w.object.name.as_str(),
            )
        })
        .collect();
    // In parallel: on a live cluster most candidates are owned (ReplicaSets, pods), and each
    // filter reads an object's owners from memory no other pass has touched.
    candidates
        .into_par_iter()
        .filter(|w| {
            !w.object
                .root
                .at(&["metadata", "ownerReferences"])
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .any(|r| {
                    r.get("controller").and_then(Node::as_bool) == Some(true)
                        && match (
                            r.get("kind").and_then(Node::as_str),
                            r.get("name").and_then(Node::as_str),
                        ) {
                            (Some(kind), Some(name)) => {
                                present.contains(&(kind, w.object.namespace.as_str(), name))
                            }
                            _ => false,
                        }
                })
        })
        .collect()
}

/// For each workload, the Services that select it. Services are indexed by (namespace, first
/// selector pair), so each workload only looks at Services that share one of its labels.
fn associate(workloads: &[Workload<'_>], services: &[Service<'_>]) -> Vec<Vec<usize>> {
    let mut index: rustc_hash::FxHashMap<(&str, &str, &str), Vec<usize>> =
        rustc_hash::FxHashMap::default();
    for (i, s) in services.iter().enumerate() {
        if let Some((k, v)) = s.selector.first() {
            index
                .entry((s.object.namespace.as_str(), k, &**v))
                .or_default()
                .push(i);
        }
    }
    workloads
        .par_iter()
        .map(|w| {
            let labels: Vec<(&str, std::borrow::Cow<'_, str>)> = w.labels().collect();
            let mut hits: Vec<usize> = labels
                .iter()
                .filter_map(|(k, v)| index.get(&(w.object.namespace.as_str(), *k, &**v)))
                .flatten()
                .copied()
                .filter(|&s| services[s].selects(&labels))
                .collect();
            hits.sort_unstable();
            hits.dedup();
            hits
        })
        .collect()
}

/// Reads `sidecarInjectorWebhook.enableNamespacesByDefault` from the injector ConfigMap's
/// `values` JSON.
fn injector_enables_namespaces_by_default(object: &Object) -> bool {
    let Some(values) = object.root.at(&["data", "values"]).and_then(Node::as_str) else {
        return false;
    };
    serde_json::from_str::<serde_json::Value>(values)
        .ok()
        .and_then(|v| {
            v.pointer("/sidecarInjectorWebhook/enableNamespacesByDefault")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{LoadOptions, load_str};

    #[test]
    fn control_plane_answers_are_the_same_from_the_index_and_without_it() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gw}\nspec:\n  template:\n    metadata: {labels: {istio: ingressgateway}}\n    spec: {containers: [{name: a}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a}]}\n";
        let loaded = load_str("t.yaml", text, &LoadOptions::default());
        let model = Model::new(&loaded.objects, Settings::default());
        let indexed: Vec<bool> = model
            .workloads
            .iter()
            .map(|w| model.is_control_plane(w))
            .collect();
        assert_eq!(indexed, [true, false]);
        // A workload of another copy of the objects is not in the index: asked again.
        let other = load_str("t.yaml", text, &LoadOptions::default());
        let asked: Vec<bool> = (0..2)
            .map(|i| model.is_control_plane(&Workload::new(i, &other.objects[i]).unwrap()))
            .collect();
        assert_eq!(asked, indexed);
    }

    #[test]
    fn indexes_lent_by_the_check_serve_only_the_objects_they_index() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {meshready.io/ignore: \"MR0001,NOPE=why\"}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a}]}\n";
        let loaded = load_str("t.yaml", text, &LoadOptions::default());
        let indexes = Indexes::new(&loaded.objects);
        let namespace = loaded.objects[1].namespace.as_str();
        assert_eq!(indexes.owners.find("Deployment", namespace, "web"), Some(1));
        assert!(indexes.annotated.of(0).is_empty());
        assert_eq!(indexes.annotated.of(1)[0].codes, ["MR0001", "NOPE"]);
        let lent = Model::new(&loaded.objects, Settings::default()).with_indexes(&indexes);
        assert!(std::ptr::eq(lent.owners(), &indexes.owners));
        assert!(std::ptr::eq(lent.annotated(), &indexes.annotated));
        // A copy of the objects (a scope's part) builds its own, with the same answers.
        let copy = loaded.objects.clone();
        let own = Model::new(&copy, Settings::default()).with_indexes(&indexes);
        assert!(own.owners().indexes(&copy));
        assert_eq!(own.owners().find("Deployment", namespace, "web"), Some(1));
        assert!(
            !std::ptr::eq(own.annotated(), &indexes.annotated),
            "the copy's annotations were lent"
        );
        assert_eq!(
            own.annotated().iter().collect::<Vec<_>>(),
            indexes.annotated.iter().collect::<Vec<_>>()
        );
    }
}
