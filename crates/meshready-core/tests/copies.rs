//! An object that stands for identical copies (`Object::copies`, how `meshready cluster` keeps
//! the pods of one workload) gives the same report as the copies loaded one by one: the same
//! findings under every name, the same pod counts, the same summary.

use meshready_core::source::{LoadOptions, Loaded, load_str};
use meshready_core::{CheckOptions, Report, Settings, check};

/// A Deployment whose three running pods lack the proxy in an injected namespace, and whose
/// pods carry an invalid suppression (a finding about each pod itself).
const CLUSTER: &str = "\
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-1
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: d, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:1}]
";

fn pod(name: &str) -> String {
    format!(
        "---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  labels: {{app: web}}
  annotations: {{meshready.io/ignore: NOPE1}}
  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-1, uid: r, controller: true}}]
spec:
  containers: [{{name: web, image: web:1}}]
status: {{phase: Running}}
"
    )
}

fn live() -> CheckOptions {
    CheckOptions {
        settings: Settings {
            live: true,
            ..Settings::default()
        },
        ..CheckOptions::default()
    }
}

fn report(loaded: &Loaded) -> Report {
    check(loaded, &live())
}

#[test]
fn copies_report_as_the_objects_they_stand_for() {
    let names = ["web-1-aaaaa", "web-1-bbbbb", "web-1-ccccc"];
    let text: String = std::iter::once(CLUSTER.to_string())
        .chain(names.iter().map(|n| pod(n)))
        .collect();
    let separate = load_str("cluster.yaml", &text, &LoadOptions::default());
    let mut grouped = load_str("cluster.yaml", &text, &LoadOptions::default());
    // Keep the first pod, standing for the two others.
    grouped
        .objects
        .retain(|o| o.kind != "Pod" || o.name == names[0]);
    let first = grouped
        .objects
        .iter_mut()
        .find(|o| o.kind == "Pod")
        .expect("a pod");
    first.copies = names[1..].iter().map(|n| (*n).to_string()).collect();

    let want = report(&separate);
    let got = report(&grouped);
    // Locations aside: the copies have their first object's.
    let text = |r: &Report| -> Vec<String> {
        let mut v: Vec<String> = r
            .findings
            .iter()
            .map(|f| format!("{} {} {}: {}", f.code, f.object, f.path, f.text()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(text(&got), text(&want));
    // The per-pod finding is there under every name, the missing proxy counts three pods.
    for name in names {
        assert!(
            text(&got)
                .iter()
                .any(|f| f.starts_with("MR0031") && f.contains(name)),
            "{:#?}",
            text(&got)
        );
    }
    assert!(
        text(&got)
            .iter()
            .any(|f| f.starts_with("IST0103") && f.ends_with("(3 pods)")),
        "{:#?}",
        text(&got)
    );
    assert_eq!(got.summary.analysed, want.summary.analysed);
    assert_eq!(got.summary.workloads, want.summary.workloads);
}
