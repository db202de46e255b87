//! The live context: kube-rs reflectors (list + watch, read-only) on the few kinds a review needs,
//! folded into a fresh [`Context`] snapshot whenever something changes.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use meshready_core::source::{LoadOptions, Object, object_from_json};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::context::{Context, SharedContext};

/// How long to wait after a change before rebuilding the snapshot (changes come in bursts).
const DEBOUNCE: Duration = Duration::from_millis(500);

type Snapshot = Box<dyn Fn() -> Vec<Object> + Send + Sync>;

#[derive(Default)]
struct Parts {
    snapshots: Vec<Snapshot>,
    streams: Vec<BoxStream<'static, ()>>,
    ready: Vec<BoxFuture<'static, ()>>,
}

impl Parts {
    fn watch<K>(&mut self, api: Api<K>, config: watcher::Config)
    where
        K: Resource<DynamicType = ()>
            + Clone
            + Debug
            + DeserializeOwned
            + Serialize
            + Send
            + Sync
            + 'static,
    {
        let (reader, writer) = reflector::store::<K>();
        let kind = K::kind(&()).into_owned();
        let events = watcher(api, config)
            .default_backoff()
            .modify(|o| o.managed_fields_mut().clear());
        let stream = reflector::reflector(writer, events)
            .map(move |event| {
                if let Err(error) = event {
                    tracing::warn!(%error, kind, "watch failed; retrying");
                }
            })
            .boxed();
        let waiter: Store<K> = reader.clone();
        self.ready.push(
            async move {
                let _ = waiter.wait_until_ready().await;
            }
            .boxed(),
        );
        self.snapshots.push(Box::new(move || {
            reader
                .state()
                .iter()
                .filter_map(|o| to_object(o.as_ref()))
                .collect()
        }));
        self.streams.push(stream);
    }
}

fn to_object<K: Serialize>(resource: &K) -> Option<Object> {
    let value = serde_json::to_value(resource).ok()?;
    object_from_json(&value, &LoadOptions::default()).ok()
}

/// Keeps `context` in sync with the cluster, and marks it ready once every kind has been listed.
/// Watches Namespaces, Services, Roles, ClusterRoles and their bindings, the `istio-cni-node`
/// DaemonSet (by name), and the ConfigMaps of `istio_namespace` only (never every ConfigMap, never
/// Secrets). Runs until the task is dropped; watch errors are logged and retried with backoff.
pub async fn sync(client: Client, context: SharedContext, istio_namespace: &str) {
    let mut parts = Parts::default();
    let all = watcher::Config::default();
    parts.watch(Api::<Namespace>::all(client.clone()), all.clone());
    parts.watch(Api::<Service>::all(client.clone()), all.clone());
    parts.watch(
        Api::<ConfigMap>::namespaced(client.clone(), istio_namespace),
        all.clone(),
    );
    parts.watch(Api::<Role>::all(client.clone()), all.clone());
    parts.watch(Api::<RoleBinding>::all(client.clone()), all.clone());
    parts.watch(Api::<ClusterRole>::all(client.clone()), all.clone());
    parts.watch(Api::<ClusterRoleBinding>::all(client.clone()), all.clone());
    parts.watch(
        Api::<DaemonSet>::all(client),
        all.fields("metadata.name=istio-cni-node"),
    );
    let Parts {
        snapshots,
        streams,
        ready,
    } = parts;
    let changed = Arc::new(Notify::new());
    let notify = Arc::clone(&changed);
    let driver = tokio::spawn(futures::stream::select_all(streams).for_each(move |()| {
        notify.notify_one();
        futures::future::ready(())
    }));
    let rebuild = || {
        let objects: Vec<Object> = snapshots.iter().flat_map(|s| s()).collect();
        context.replace(Context::new(objects));
    };
    futures::future::join_all(ready).await;
    rebuild();
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
        rebuild();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let object = to_object(&service).unwrap();
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
