//! The pod-page scanner on any input: it never panics, it accepts every JSON text `serde_json`
//! accepts and finds the same members and elements, and a cut or corrupted page of Pods is an
//! error, never a wrong reduction. Pages of ReplicaSets reduced from the scan read as they read
//! when parsed whole. A page read from the pieces it arrived in reads as the whole page, where
//! ever it was cut.

use std::collections::HashSet;

use meshready_cluster::reduce::{
    Group, Grouping, OWNED_POD_LABELS, PodGroups, Ref, Status, item_nodes, items, owned_pod,
    owned_replicaset, pod_items, replica_set_items, set_type,
};
use meshready_cluster::scan::{Doc, Keys};
use meshready_core::source::{Node, Pos};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, a few levels deep, with keys and strings that need escaping.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[ -~\\\\\"\u{e9}\u{1F600}\n\t]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"\\\\/]{0,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object as text, its members in the order given (duplicates included).
fn object_text(members: &[(String, String)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Members of an object as text, with keys from `keys` or any, in any order, some repeated.
fn members_text(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop_oneof![
        prop::sample::select(keys).prop_map(String::from),
        "[a-z]{0,3}",
    ];
    prop::collection::vec((key, json_value().prop_map(|v| v.to_string())), 0..8)
}

/// A list item as text: members in any order (some repeated), its metadata too.
fn item_text() -> impl Strategy<Value = String> {
    const ITEM: &[&str] = &["metadata", "spec", "status", "kind", "apiVersion", "a", "b"];
    const METADATA: &[&str] = &[
        "name",
        "namespace",
        "managedFields",
        "annotations",
        "uid",
        "a",
    ];
    (members_text(ITEM), members_text(METADATA), any::<bool>()).prop_map(
        |(mut item, metadata, with)| {
            if with {
                item.push(("metadata".into(), object_text(&metadata)));
            }
            object_text(&item)
        },
    )
}

/// A page of two owned pods and one bare pod.
fn page() -> String {
    let pod = |name: &str, owned: bool| {
        let owners = if owned {
            json!([{"kind": "ReplicaSet", "name": "web-1", "controller": true}])
        } else {
            json!([])
        };
        json!({"metadata": {"name": name, "namespace": "shop", "labels": {"app": "web", "istio.io/rev": "default"},
                            "annotations": {"sidecar.istio.io/status": "{\"containers\":[\"istio-proxy\"]}"},
                            "managedFields": [{"manager": "kubelet", "fieldsV1": {"f:status": {}}}],
                            "ownerReferences": owners},
               "spec": {"containers": [{"name": "web", "image": "web:1", "env": [{"name": "A", "value": "b"}]},
                                       {"name": "istio-proxy", "image": "proxyv2"}]},
               "status": {"phase": "Running", "podIP": "10.0.0.1"}})
    };
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"continue": "x"},
           "items": [pod("web-1-a", true), pod("web-1-b", true), pod("debug", false)]})
    .to_string()
}

/// A ReplicaSet (or, for `shape` 5, any value) whose owner, namespace, labels and annotations
/// are each one of the cases that decide its reduction, with `extra` members at every level.
fn replica_set() -> impl Strategy<Value = Value> {
    let annotations = prop_oneof![
        Just(json!({})),
        Just(
            json!({"meshready.io/ignore": "MR0001", "kubectl.kubernetes.io/last-applied-configuration": "{}"})
        ),
        Just(
            json!({"galley.istio.io/analyze-suppress": "IST0101", "sidecar.istio.io/inject": "false"})
        ),
        json_value(),
    ];
    let labels = prop_oneof![
        Just(json!({"app": "web", "istio.io/rev": "canary", "release": "r1"})),
        Just(Value::Null),
        json_value(),
    ];
    (
        0u8..6,
        prop_oneof![Just(json!("shop")), Just(json!("other")), Just(Value::Null)],
        labels,
        annotations.clone(),
        annotations,
        json_value(),
        json_value(),
    )
        .prop_map(|(shape, namespace, labels, annotations, template, extra, any)| {
            let owners = match shape {
                0 => json!([{"kind": "Deployment", "name": "web", "controller": true}]),
                1 => json!([{"kind": "Deployment", "name": "web"}]),
                2 => json!([{"kind": "Deployment", "name": "gone", "controller": true}]),
                3 => Value::Null,
                4 => extra.clone(),
                _ => return any,
            };
            json!({"metadata": {"name": "web-1", "namespace": namespace, "labels": labels,
                                "annotations": annotations, "ownerReferences": owners,
                                "managedFields": [{"manager": "kube-controller-manager"}],
                                "extra": extra},
                   "spec": {"replicas": 1, "template": {"metadata": {"annotations": template,
                                                                      "extra": extra},
                                                         "spec": {"containers": [{"name": "web"}]}}},
                   "status": {"replicas": 1}, "extra": extra})
        })
}

/// A string map whose keys are drawn from `keys` (the ones a reduction looks at) or are any,
/// with values that need escaping.
fn string_map(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(keys).prop_map(String::from),
        "[a-z./]{1,6}",
    ];
    let value = "[ -~\\\"\u{e9}\n]{0,8}";
    prop_oneof![
        Just(Value::Null),
        prop::collection::btree_map(key, value, 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, json!(v))).collect())),
    ]
}

/// An owned pod (its controller the ReplicaSet `shop/web-1`) with any of the labels,
/// annotations, containers, host network and phase that its reduction reads or drops.
fn owned_pod_value() -> impl Strategy<Value = Value> {
    // The labels the reduction keeps; the others come from `string_map`'s any keys.
    const LABELS: &[&str] = &OWNED_POD_LABELS;
    const ANNOTATIONS: &[&str] = &[
        "sidecar.istio.io/inject",
        "sidecar.istio.io/status",
        "meshready.io/ignore",
        "galley.istio.io/analyze-suppress",
        "kubectl.kubernetes.io/last-applied-configuration",
    ];
    const CONTAINERS: &[&str] = &[
        "web",
        "istio-proxy",
        "istio-init",
        "istio-validation",
        "log",
    ];
    let containers = prop::collection::vec(prop::sample::select(CONTAINERS), 0..4).prop_map(
        |names| -> Vec<Value> {
            names
                .into_iter()
                .map(|n| json!({"name": n, "image": format!("{n}:1"), "env": [{"name": "A"}]}))
                .collect()
        },
    );
    (
        "[a-z0-9-]{1,8}",
        string_map(LABELS),
        string_map(ANNOTATIONS),
        containers.clone(),
        prop::option::of(containers),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::sample::select(
            &["Running", "Pending", "Succeeded", "Failed"][..],
        )),
        any::<bool>(),
    )
        .prop_map(
            |(name, labels, annotations, containers, init, host, phase, other_owner)| {
                let mut owners =
                    vec![json!({"kind": "ReplicaSet", "name": "web-1", "controller": true})];
                if other_owner {
                    owners.insert(0, json!({"kind": "Node", "name": "n1"}));
                }
                let mut spec = json!({"containers": containers, "volumes": [{"name": "v"}]});
                if let Some(init) = init {
                    spec["initContainers"] = json!(init);
                }
                if let Some(host) = host {
                    spec["hostNetwork"] = json!(host);
                }
                let mut pod = json!({
                    "metadata": {"name": format!("web-1-{name}"), "namespace": "shop",
                                 "labels": labels, "annotations": annotations,
                                 "ownerReferences": owners,
                                 "managedFields": [{"manager": "kubelet"}]},
                    "spec": spec,
                });
                if let Some(phase) = phase {
                    pod["status"] = json!({"phase": phase, "podIP": "10.0.0.1"});
                }
                pod
            },
        )
}

/// `text` cut at `cuts` (in any order; a cut repeated gives an empty piece).
fn cut<'t>(text: &'t [u8], cuts: &[prop::sample::Index]) -> Vec<&'t [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).collect();
    at.sort_unstable();
    let mut pieces = Vec::new();
    let mut from = 0;
    for at in at {
        pieces.push(&text[from..at]);
        from = at;
    }
    pieces.push(&text[from..]);
    pieces
}

/// What [`pod_items`] reads of a page given in `pieces`: the pods kept whole, and the groups
/// (as the objects they become), or the error.
fn pods_read(pieces: &[&[u8]]) -> Result<(Vec<Value>, usize, String), String> {
    let mut groups = PodGroups::default();
    let whole = pod_items(pieces, &present(), &mut groups).map_err(|e| e.to_string())?;
    let pods = groups.pods();
    let (mut objects, mut invalid) = (Vec::new(), Vec::new());
    groups.into_objects(&mut objects, &mut invalid);
    Ok((whole, pods, format!("{objects:?} {invalid:?}")))
}

fn present() -> Grouping {
    Grouping::Present(HashSet::<Ref>::from([(
        "ReplicaSet".into(),
        "shop".into(),
        "web-1".into(),
    )]))
}

/// Walks the value at `range` of a scan whose containers are recorded `depth` levels down
/// (this value's level included), comparing every key, member and element with what serde
/// read of the same text (`want`; floats need not round-trip).
fn walk_as_serde(
    doc: &Doc<'_>,
    range: std::ops::Range<usize>,
    want: &Value,
    depth: usize,
) -> Result<(), TestCaseError> {
    let got: Value = serde_json::from_slice(&doc.bytes()[range.clone()]).unwrap();
    prop_assert_eq!(&got, want);
    // Walking a container needs its children's ends: they must be recorded too.
    if depth < 2 {
        return Ok(());
    }
    match want {
        Value::Object(map) => {
            let members = doc.members(range).unwrap().expect("an object");
            prop_assert_eq!(members.len(), map.len());
            for ((key, range), (want_key, want)) in members.into_iter().zip(map) {
                let key: String = serde_json::from_slice(&[b"\"", key, b"\""].concat()).unwrap();
                prop_assert_eq!(&key, want_key);
                walk_as_serde(doc, range, want, depth - 1)?;
            }
        }
        Value::Array(items) => {
            let elements = doc.elements(range).unwrap().expect("an array");
            prop_assert_eq!(elements.len(), items.len());
            for (range, want) in elements.into_iter().zip(items) {
                walk_as_serde(doc, range, want, depth - 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_read_or_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(doc) = Doc::new(&bytes) {
            let _ = doc.members(doc.root());
            let _ = doc.elements(doc.root());
        }
        let _ = pod_items(&[&bytes], &present(), &mut PodGroups::default());
    }

    #[test]
    fn a_key_is_found_as_its_decoded_text_compares(
        key in "[a-z./]{0,6}",
        escape in prop::collection::vec(any::<bool>(), 6),
        keys in prop::collection::vec("[a-z./]{0,6}", 0..5),
    ) {
        // The raw key, some of its characters spelt as `\u00XX` escapes (as a JSON text may).
        let raw: String = key
            .chars()
            .zip(escape.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &e)| if e { format!("\\u{:04x}", u32::from(c)) } else { c.to_string() })
            .collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let want = keys.iter().position(|k| *k == key);
        prop_assert_eq!(Keys::new(&keys).find(raw.as_bytes()), want);
    }

    #[test]
    fn items_parsed_into_nodes_are_the_nodes_of_items_parsed_into_values(
        texts in prop::collection::vec(item_text(), 0..4),
        status in prop::sample::select(&[Status::Skip, Status::Phase, Status::NodeInfo][..]),
    ) {
        let page = format!(r#"{{"kind":"List","items":[{}],"metadata":{{}}}}"#, texts.join(","));
        let mut nodes = item_nodes(page.as_bytes(), status).unwrap();
        let mut values = items(page.as_bytes(), status).unwrap();
        let want: Vec<Node> = values.iter().map(|v| Node::from_json(v, Pos::default())).collect();
        prop_assert_eq!(&nodes, &want);
        // Typed as list items are: as if `apiVersion` and `kind` were set in the JSON.
        for (node, value) in nodes.iter_mut().zip(&mut values) {
            set_type(node, "apps/v1", "Deployment");
            if let Some(map) = value.as_object_mut() {
                map.insert("apiVersion".into(), json!("apps/v1"));
                map.insert("kind".into(), json!("Deployment"));
            }
        }
        let want: Vec<Node> = values.iter().map(|v| Node::from_json(v, Pos::default())).collect();
        prop_assert_eq!(nodes, want);
    }

    #[test]
    fn a_scan_limited_in_depth_walks_as_a_full_one_down_to_its_limit(
        value in json_value(),
        siblings in json_value(),
        wrap in 0usize..40,
        limit in 1usize..6,
        pretty in any::<bool>(),
    ) {
        // The value under `wrap` levels of arrays and objects, next to siblings: with enough
        // levels, whole 64-byte blocks lie below the limit and are counted at once.
        let mut deep = value;
        for level in 0..wrap {
            deep = if level % 2 == 0 { json!([deep, level]) } else { json!({ "w": deep }) };
        }
        let root = json!({ "deep": deep, "siblings": siblings, "after": [1, {"k": "v"}] });
        let text = if pretty {
            serde_json::to_string_pretty(&root).unwrap()
        } else {
            serde_json::to_string(&root).unwrap()
        };
        let mut doc = Doc::new(b"null").unwrap();
        doc.limit_depth(limit);
        doc.rescan_prefix(text.as_bytes()).expect("valid JSON scans");
        prop_assert_eq!(doc.root(), 0..text.len());
        let root: Value = serde_json::from_str(&text).unwrap();
        walk_as_serde(&doc, doc.root(), &root, limit)?;
    }

    #[test]
    fn every_json_text_is_scanned_as_serde_reads_it(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let doc = Doc::new(text.as_bytes()).expect("valid JSON scans");
        let value: Value = serde_json::from_str(&text).unwrap();
        walk_as_serde(&doc, doc.root(), &value, usize::MAX)?;
        if !value.is_object() {
            prop_assert_eq!(doc.members(doc.root()).unwrap(), None);
        }
    }

    #[test]
    fn replica_sets_are_reduced_as_when_parsed_whole(
        sets in prop::collection::vec(replica_set(), 0..5),
        pretty in any::<bool>(),
    ) {
        let list = json!({"kind": "ReplicaSetList", "metadata": {"continue": ""}, "items": sets});
        let page = if pretty {
            serde_json::to_string_pretty(&list).unwrap()
        } else {
            list.to_string()
        };
        let deployments = Grouping::Present(HashSet::<Ref>::from([(
            "Deployment".into(),
            "shop".into(),
            "web".into(),
        )]));
        let want: Vec<(bool, Value)> = items(page.as_bytes(), Status::Skip)
            .unwrap()
            .into_iter()
            .map(|item| {
                let mut typed = item.clone();
                if let Value::Object(map) = &mut typed {
                    map.insert("apiVersion".into(), json!("apps/v1"));
                    map.insert("kind".into(), json!("ReplicaSet"));
                }
                if deployments.own_json(&typed) {
                    (true, owned_replicaset(&typed))
                } else {
                    (false, item)
                }
            })
            .collect();
        let got = replica_set_items(&[page.as_bytes()], &deployments, "apps/v1", "ReplicaSet").unwrap();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn owned_pods_are_reduced_as_when_parsed_whole(pod in owned_pod_value(), pretty in any::<bool>()) {
        let list = json!({"kind": "PodList", "metadata": {"continue": ""}, "items": [pod]});
        let page = if pretty {
            serde_json::to_string_pretty(&list).unwrap()
        } else {
            list.to_string()
        };
        let (whole, pods, got) = pods_read(&[page.as_bytes()]).unwrap();
        prop_assert!(whole.is_empty());
        prop_assert_eq!(pods, 1);
        // The same pod parsed whole and reduced by `owned_pod`, as its group's object.
        let mut typed = pod.clone();
        typed["apiVersion"] = json!("v1");
        typed["kind"] = json!("Pod");
        let name: Box<str> = pod["metadata"]["name"].as_str().unwrap().into();
        let group = Group::new("shop".into(), vec![("ReplicaSet".into(), "web-1".into())]);
        let mut groups = PodGroups::default();
        groups
            .add_keyed(b"k", name, || Ok::<_, String>((owned_pod(&typed), group)))
            .unwrap();
        let (mut objects, mut invalid) = (Vec::new(), Vec::new());
        groups.into_objects(&mut objects, &mut invalid);
        prop_assert_eq!(got, format!("{objects:?} {invalid:?}"));
    }

    #[test]
    fn a_page_of_pods_in_pieces_reads_as_the_whole_page(
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        pretty in any::<bool>(),
        corrupt in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
    ) {
        let mut page = if pretty {
            let value: Value = serde_json::from_str(&page()).unwrap();
            serde_json::to_string_pretty(&value).unwrap().into_bytes()
        } else {
            page().into_bytes()
        };
        if let Some((at, byte)) = corrupt {
            let at = at.index(page.len());
            page[at] = byte;
        }
        let whole = pods_read(&[&page]);
        prop_assert_eq!(pods_read(&cut(&page, &cuts)), whole);
    }

    #[test]
    fn a_page_of_replica_sets_in_pieces_reads_as_the_whole_page(
        sets in prop::collection::vec(replica_set(), 0..4),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let list = json!({"kind": "ReplicaSetList", "metadata": {"continue": ""}, "items": sets});
        let page = serde_json::to_string_pretty(&list).unwrap();
        let deployments = Grouping::Present(HashSet::<Ref>::from([(
            "Deployment".into(),
            "shop".into(),
            "web".into(),
        )]));
        let read = |pieces: &[&[u8]]| {
            replica_set_items(pieces, &deployments, "apps/v1", "ReplicaSet").map_err(|e| e.to_string())
        };
        prop_assert_eq!(read(&cut(page.as_bytes(), &cuts)), read(&[page.as_bytes()]));
    }

    #[test]
    fn a_cut_page_is_an_error(end in 0usize..1000) {
        let page = page();
        let end = end.min(page.len() - 1);
        let result = pod_items(&[&page.as_bytes()[..end]], &present(), &mut PodGroups::default());
        prop_assert!(result.is_err());
    }

    #[test]
    fn a_corrupted_page_is_refused_or_read_without_a_panic(at in 0usize..1000, byte in any::<u8>()) {
        let mut page = page().into_bytes();
        let at = at % page.len();
        page[at] = byte;
        let _ = pod_items(&[&page], &present(), &mut PodGroups::default());
    }
}

#[test]
fn the_page_groups_its_owned_pods_and_keeps_the_bare_one() {
    let mut groups = PodGroups::default();
    let whole = pod_items(&[page().as_bytes()], &present(), &mut groups).unwrap();
    assert_eq!((groups.pods(), groups.groups()), (2, 1));
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0]["metadata"]["name"], "debug");
    assert!(whole[0]["metadata"].get("managedFields").is_none());
}
