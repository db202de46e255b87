//! The pod-page scanner on any input: it never panics, it accepts every JSON text `serde_json`
//! accepts and finds the same members and elements, and a cut or corrupted page of Pods is an
//! error, never a wrong reduction.

use std::collections::HashSet;

use meshready_cluster::reduce::{Grouping, PodGroups, Ref, pod_items};
use meshready_cluster::scan::Doc;
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

fn present() -> Grouping {
    Grouping::Present(HashSet::<Ref>::from([(
        "ReplicaSet".into(),
        "shop".into(),
        "web-1".into(),
    )]))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_read_or_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(doc) = Doc::new(&bytes) {
            let _ = doc.members(doc.root());
            let _ = doc.elements(doc.root());
        }
        let _ = pod_items(&bytes, &present(), &mut PodGroups::default());
    }

    #[test]
    fn every_json_text_is_scanned_as_serde_reads_it(value in json_value(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&value).unwrap()
        } else {
            serde_json::to_string(&value).unwrap()
        };
        let doc = Doc::new(text.as_bytes()).expect("valid JSON scans");
        // Compared with what serde reads of the same text (floats need not round-trip).
        let value: Value = serde_json::from_str(&text).unwrap();
        match &value {
            Value::Object(map) => {
                let members = doc.members(doc.root()).unwrap().expect("an object");
                prop_assert_eq!(members.len(), map.len());
                for ((key, range), (want_key, want)) in members.iter().zip(map) {
                    let key: String = serde_json::from_slice(&[b"\"", *key, b"\""].concat()).unwrap();
                    prop_assert_eq!(&key, want_key);
                    let got: Value = serde_json::from_slice(&text.as_bytes()[range.clone()]).unwrap();
                    prop_assert_eq!(&got, want);
                }
            }
            Value::Array(items) => {
                let elements = doc.elements(doc.root()).unwrap().expect("an array");
                prop_assert_eq!(elements.len(), items.len());
                for (range, want) in elements.iter().zip(items) {
                    let got: Value = serde_json::from_slice(&text.as_bytes()[range.clone()]).unwrap();
                    prop_assert_eq!(&got, want);
                }
            }
            _ => prop_assert_eq!(doc.members(doc.root()).unwrap(), None),
        }
    }

    #[test]
    fn a_cut_page_is_an_error(end in 0usize..1000) {
        let page = page();
        let end = end.min(page.len() - 1);
        let result = pod_items(&page.as_bytes()[..end], &present(), &mut PodGroups::default());
        prop_assert!(result.is_err());
    }

    #[test]
    fn a_corrupted_page_is_refused_or_read_without_a_panic(at in 0usize..1000, byte in any::<u8>()) {
        let mut page = page().into_bytes();
        let at = at % page.len();
        page[at] = byte;
        let _ = pod_items(&page, &present(), &mut PodGroups::default());
    }
}

#[test]
fn the_page_groups_its_owned_pods_and_keeps_the_bare_one() {
    let mut groups = PodGroups::default();
    let whole = pod_items(page().as_bytes(), &present(), &mut groups).unwrap();
    assert_eq!((groups.pods(), groups.groups()), (2, 1));
    assert_eq!(whole.len(), 1);
    assert_eq!(whole[0]["metadata"]["name"], "debug");
    assert!(whole[0]["metadata"].get("managedFields").is_none());
}
