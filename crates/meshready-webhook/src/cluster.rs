//! The live context: kube-rs watchers (list + watch, read-only) on the few kinds a review needs.
//! Watch events are recorded per kind as they arrive; shortly after a change, a new
//! [`Context`](crate::Context) snapshot is built off the async worker threads, converting only
//! the objects whose resourceVersion changed (see [`crate::incremental`]).

use std::fmt::Debug;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, NodeStatus, NodeSystemInfo, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::context::SharedContext;
use crate::incremental::{Changes, Incremental, Item, Key, Taken};

/// How long to wait after a change before rebuilding the snapshot (changes come in bursts).
const DEBOUNCE: Duration = Duration::from_millis(500);

/// The watched kinds' recorded changes, in registration order.
type Recorded = Arc<Vec<Mutex<Changes>>>;

fn lock(changes: &Mutex<Changes>) -> MutexGuard<'_, Changes> {
    match changes.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// What a watched kind is: a typed Kubernetes object that kube-rs can list and watch.
trait Watched:
    Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Serialize + Send + Sync + 'static
{
}

impl<K> Watched for K where
    K: Resource<DynamicType = ()>
        + Clone
        + Debug
        + DeserializeOwned
        + Serialize
        + Send
        + Sync
        + 'static
{
}

#[derive(Default)]
struct Parts {
    /// One recorder per kind, pushed into `Recorded` in this order.
    streams: Vec<BoxStream<'static, ()>>,
    count: usize,
}

/// A watched kind's stream, recording into slot `index` and notifying `changed`.
type Wire = (Recorded, Arc<Notify>);

impl Parts {
    /// Watches `api`: a kind the replica is not ready without, kept whole (but `managedFields`).
    fn watch<K: Watched>(&mut self, api: Api<K>, config: watcher::Config, wire: &Wire) {
        self.watch_with(api, config, |_| {}, false, wire);
    }

    /// Watches `api`, keeping of each object what `trim` leaves (and never `managedFields`). An
    /// `optional` kind that cannot be listed (forbidden) counts as listed and empty until it
    /// can: it does not keep the replica unready.
    fn watch_with<K: Watched>(
        &mut self,
        api: Api<K>,
        config: watcher::Config,
        trim: fn(&mut K),
        optional: bool,
        wire: &Wire,
    ) {
        let index = self.count;
        self.count += 1;
        let kind = K::kind(&()).into_owned();
        let (recorded, changed) = (Arc::clone(&wire.0), Arc::clone(&wire.1));
        let stream = watcher(api, config)
            .default_backoff()
            .modify(move |o| {
                o.managed_fields_mut().clear();
                trim(o);
            })
            .map(move |event| match event {
                Ok(event) => {
                    let event = Event::from(event);
                    if let Some(changes) = recorded.get(index) {
                        event.record(&mut lock(changes));
                    }
                    changed.notify_one();
                }
                Err(error) => {
                    tracing::warn!(%error, kind, "watch failed; retrying");
                    if optional && let Some(changes) = recorded.get(index) {
                        lock(changes).listed_empty_unless_listed();
                        changed.notify_one();
                    }
                }
            })
            .boxed();
        self.streams.push(stream);
    }
}

fn key<K: Resource>(object: &K) -> Key {
    (object.namespace().unwrap_or_default(), object.name_any())
}

fn item<K: Resource + Serialize + Send + 'static>(object: K) -> Item {
    Item::new(
        object.resource_version().unwrap_or_default(),
        Box::new(object),
    )
}

/// A watch event ready to record: single changes are converted here, as they arrive (outside
/// the lock); listed objects are converted by the rebuild, only when their resourceVersion
/// changed.
enum Event {
    Init,
    InitApply(Key, Item),
    InitDone,
    Apply(Key, Item),
    Delete(Key),
}

impl<K: Resource + Serialize + Send + 'static> From<watcher::Event<K>> for Event {
    fn from(event: watcher::Event<K>) -> Self {
        match event {
            watcher::Event::Init => Self::Init,
            watcher::Event::InitApply(object) => Self::InitApply(key(&object), item(object)),
            watcher::Event::InitDone => Self::InitDone,
            watcher::Event::Apply(object) => Self::Apply(
                key(&object),
                Item::converted(object.resource_version().unwrap_or_default(), &object),
            ),
            watcher::Event::Delete(object) => Self::Delete(key(&object)),
        }
    }
}

impl Event {
    fn record(self, changes: &mut Changes) {
        match self {
            Self::Init => changes.init(),
            Self::InitApply(key, item) => changes.init_apply(key, item),
            Self::InitDone => changes.init_done(),
            Self::Apply(key, item) => changes.apply(key, item),
            Self::Delete(key) => changes.delete(key),
        }
    }
}

/// The number of kinds [`sync`] watches.
const KINDS: usize = 9;

/// Keeps of a Node only its name and kubelet version, what `--native-sidecars auto` reads: a
/// Node's status lists every image it holds, tens of kilobytes on a busy node.
fn kubelet_only(node: &mut Node) {
    let kubelet_version = node
        .status
        .take()
        .and_then(|status| status.node_info)
        .map(|info| info.kubelet_version);
    node.spec = None;
    node.metadata.labels = None;
    node.metadata.annotations = None;
    node.status = kubelet_version.map(|kubelet_version| NodeStatus {
        node_info: Some(NodeSystemInfo {
            kubelet_version,
            ..NodeSystemInfo::default()
        }),
        ..NodeStatus::default()
    });
}

/// Keeps `context` in sync with the cluster, and marks it ready once every kind has been listed.
/// Watches Namespaces, Services, Roles, ClusterRoles and their bindings, the `istio-cni-node`
/// DaemonSet (by name), the ConfigMaps of `istio_namespace` only (never every ConfigMap, never
/// Secrets), and Nodes (only their kubelet versions are kept; reviews see the Node with the
/// oldest, which decides `--native-sidecars auto`; a replica that may not list Nodes is ready
/// without them, and the Kubernetes version decides). Runs until the task is dropped; watch
/// errors are logged and retried with backoff.
pub async fn sync(client: Client, context: SharedContext, istio_namespace: &str) {
    let recorded: Recorded = Arc::new((0..KINDS).map(|_| Mutex::default()).collect());
    let changed = Arc::new(Notify::new());
    let wire: Wire = (Arc::clone(&recorded), Arc::clone(&changed));
    let mut parts = Parts::default();
    let all = watcher::Config::default();
    parts.watch(Api::<Namespace>::all(client.clone()), all.clone(), &wire);
    parts.watch(Api::<Service>::all(client.clone()), all.clone(), &wire);
    parts.watch(
        Api::<ConfigMap>::namespaced(client.clone(), istio_namespace),
        all.clone(),
        &wire,
    );
    parts.watch(Api::<Role>::all(client.clone()), all.clone(), &wire);
    parts.watch(Api::<RoleBinding>::all(client.clone()), all.clone(), &wire);
    parts.watch(Api::<ClusterRole>::all(client.clone()), all.clone(), &wire);
    parts.watch(
        Api::<ClusterRoleBinding>::all(client.clone()),
        all.clone(),
        &wire,
    );
    parts.watch(
        Api::<DaemonSet>::all(client.clone()),
        all.clone().fields("metadata.name=istio-cni-node"),
        &wire,
    );
    parts.watch_with(Api::<Node>::all(client), all, kubelet_only, true, &wire);
    debug_assert_eq!(parts.count, KINDS);
    let driver = tokio::spawn(
        futures::stream::select_all(parts.streams).for_each(|()| futures::future::ready(())),
    );
    // Ready once every kind has been listed.
    loop {
        changed.notified().await;
        if driver.is_finished() {
            return;
        }
        if recorded.iter().all(|c| lock(c).is_listed()) {
            break;
        }
    }
    let mut incremental = Some(Incremental::default());
    if !rebuild(&mut incremental, &recorded, &context).await {
        return;
    }
    context.set_ready();
    tracing::info!(
        objects = context.snapshot().len(),
        "context synced from the cluster"
    );
    loop {
        changed.notified().await;
        if driver.is_finished() {
            return;
        }
        tokio::time::sleep(DEBOUNCE).await;
        if !rebuild(&mut incremental, &recorded, &context).await {
            return;
        }
    }
}

/// Applies the recorded changes and publishes a new snapshot, off the async worker threads.
/// Returns false when the rebuild could not run (the task panicked), which ends the sync.
async fn rebuild(
    incremental: &mut Option<Incremental>,
    recorded: &Recorded,
    context: &SharedContext,
) -> bool {
    let taken: Vec<Taken> = recorded.iter().map(|c| lock(c).take()).collect();
    if taken.iter().all(Taken::is_empty) && context.is_ready() {
        return true;
    }
    let Some(mut state) = incremental.take() else {
        return false;
    };
    let started = Instant::now();
    let built = tokio::task::spawn_blocking(move || {
        let (snapshot, rebuilt) = state.rebuild(taken);
        (state, snapshot, rebuilt)
    })
    .await;
    let Ok((state, snapshot, rebuilt)) = built else {
        tracing::error!("the context rebuild failed; the context is no longer updated");
        return false;
    };
    let took = started.elapsed();
    let (objects, bytes) = (snapshot.len(), snapshot.estimated_bytes());
    context.replace_rebuilt(snapshot, took, rebuilt.converted);
    *incremental = Some(state);
    tracing::info!(
        objects,
        estimated_bytes = bytes,
        converted = rebuilt.converted,
        removed = rebuilt.removed,
        millis = took.as_secs_f64() * 1e3,
        "context rebuilt"
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::incremental::Source;

    #[test]
    fn typed_objects_convert_with_their_kind() {
        let service = Service {
            metadata: kube::api::ObjectMeta {
                name: Some("web".into()),
                namespace: Some("shop".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let object = service.to_object().unwrap();
        assert_eq!(object.display_name(), "Service shop/web");
        assert_eq!(object.api_version, "v1");
    }

    /// Needs a real cluster: `cargo test -p meshready-webhook -- --ignored sync_reads_a_real_cluster`
    /// with a kubeconfig whose user may get/list/watch the kinds in deploy/rbac.yaml.
    #[tokio::test]
    #[ignore = "needs a Kubernetes cluster (current kubeconfig context)"]
    async fn sync_reads_a_real_cluster() {
        let client = Client::try_default().await.unwrap();
        let context = SharedContext::pending();
        let task = tokio::spawn({
            let context = context.clone();
            async move { sync(client, context, "istio-system").await }
        });
        tokio::time::timeout(Duration::from_secs(60), async {
            while !context.is_ready() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await
        .unwrap();
        assert!(
            context
                .snapshot()
                .relevant("default", ("Pod", "x"))
                .any(|o| o.kind == "Namespace"),
            "the default Namespace is in the context"
        );
        task.abort();
    }
}
