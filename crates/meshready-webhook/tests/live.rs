//! The live context against a loopback API stand-in: the initial lists make it ready, and
//! Services and Nodes added, modified and deleted through watch events reach the snapshot reviews
//! see; a replica that may not list Nodes is ready without them.

mod support {
    pub mod standin;
}

use std::time::Duration;

use meshready_webhook::SharedContext;
use meshready_webhook::cluster::sync;
use support::standin::{StandIn, node, service};

async fn client(standin: &StandIn, dir: &std::path::Path) -> kube::Client {
    meshready_webhook::install_crypto_provider();
    let path = dir.join("kubeconfig");
    standin.write_kubeconfig(&path);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .expect("config");
    kube::Client::try_from(config).expect("client")
}

/// A context kept in sync with the stand-in by a spawned task (a kubeconfig in `dir`).
async fn synced(
    standin: &StandIn,
    dir: &std::path::Path,
) -> (SharedContext, tokio::task::JoinHandle<()>) {
    let client = client(standin, dir).await;
    let context = SharedContext::pending();
    let task = tokio::spawn({
        let context = context.clone();
        async move { sync(client, context, "istio-system").await }
    });
    (context, task)
}

/// Waits (bounded) until `check` holds for the current snapshot.
async fn eventually(context: &SharedContext, what: &str, check: impl Fn(&SharedContext) -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        while !check(context) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting until {what}");
}

fn services_in(context: &SharedContext, namespace: &str) -> Vec<String> {
    let mut names: Vec<String> = context
        .snapshot()
        .relevant(namespace, ("Pod", "x"))
        .filter(|o| o.kind == "Service")
        .map(|o| o.name.clone())
        .collect();
    names.sort();
    names
}

/// The Nodes a review sees: (name, kubelet version).
fn nodes_seen(context: &SharedContext) -> Vec<(String, Option<String>)> {
    context
        .snapshot()
        .relevant("ns-001", ("Pod", "x"))
        .filter(|o| o.kind == "Node")
        .map(|o| {
            let kubelet = o.root.pointer("/status/nodeInfo/kubeletVersion");
            (
                o.name.clone(),
                kubelet.and_then(|k| k.as_str()).map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_context_follows_watch_events() {
    let standin = StandIn::start().await;
    standin.populate(3, 6);
    let dir = tempfile::tempdir().expect("temporary directory");
    let (context, task) = synced(&standin, dir.path()).await;
    eventually(&context, "the context is ready", SharedContext::is_ready).await;
    let snapshot = context.snapshot();
    assert_eq!(snapshot.len(), 9, "3 Namespaces and 6 Services");
    assert!(snapshot.estimated_bytes() > 0);
    assert_eq!(services_in(&context, "ns-001"), ["svc-00001", "svc-00004"]);

    standin.apply("services", service("ns-001", "added", 7));
    eventually(&context, "the added Service is seen", |c| {
        services_in(c, "ns-001").contains(&"added".to_string())
    })
    .await;

    standin.delete("services", "ns-001", "svc-00004");
    let mut modified = service("ns-001", "svc-00001", 0);
    modified["spec"]["ports"][0]["port"] = serde_json::json!(8081);
    standin.apply("services", modified);
    eventually(&context, "the deleted Service is gone", |c| {
        services_in(c, "ns-001") == ["added", "svc-00001"]
    })
    .await;
    eventually(&context, "the modified port is seen", |c| {
        c.snapshot()
            .relevant("ns-001", ("Pod", "x"))
            .filter(|o| o.name == "svc-00001")
            .any(|o| {
                o.root
                    .pointer("/spec/ports/0/port")
                    .and_then(|p| p.as_i64())
                    == Some(8081)
            })
    })
    .await;
    assert_eq!(context.snapshot().len(), 9, "one added, one deleted");

    // Nodes: only their kubelet versions are kept, and reviews see the one with the oldest.
    standin.apply("nodes", node("node-a", "v1.34.1"));
    standin.apply("nodes", node("node-b", "v1.33.2"));
    eventually(&context, "the oldest Node is seen", |c| {
        nodes_seen(c) == [("node-b".to_string(), Some("v1.33.2".to_string()))]
    })
    .await;
    standin.apply("nodes", node("node-a", "v1.32.0"));
    eventually(&context, "the downgraded Node is the oldest", |c| {
        nodes_seen(c) == [("node-a".to_string(), Some("v1.32.0".to_string()))]
    })
    .await;
    let snapshot = context.snapshot();
    let seen: Vec<_> = snapshot
        .relevant("ns-001", ("Pod", "x"))
        .filter(|o| o.kind == "Node")
        .collect();
    // What the context keeps of a Node: no labels, no images, the kubelet version.
    assert!(seen[0].root.pointer("/metadata/labels").is_none());
    assert!(seen[0].root.pointer("/status/images").is_none());
    standin.delete("nodes", "", "node-a");
    eventually(&context, "the deleted Node is gone", |c| {
        nodes_seen(c) == [("node-b".to_string(), Some("v1.33.2".to_string()))]
    })
    .await;
    let rebuilds = context.with_rebuild_stats(|s| s.durations.count());
    assert!(
        rebuilds >= 2,
        "the first sync and at least one update: {rebuilds}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_may_not_list_nodes_is_ready_without_them() {
    let standin = StandIn::start().await;
    standin.populate(2, 2);
    standin.forbid("nodes", true);
    let dir = tempfile::tempdir().expect("temporary directory");
    let (context, task) = synced(&standin, dir.path()).await;
    eventually(
        &context,
        "the context is ready without Nodes",
        SharedContext::is_ready,
    )
    .await;
    assert!(nodes_seen(&context).is_empty());
    // Once the ClusterRole allows Nodes, the watch's retry lists them.
    standin.apply("nodes", node("node-a", "v1.32.0"));
    standin.forbid("nodes", false);
    eventually(&context, "the Node is seen once allowed", |c| {
        nodes_seen(c) == [("node-a".to_string(), Some("v1.32.0".to_string()))]
    })
    .await;
    task.abort();
}
