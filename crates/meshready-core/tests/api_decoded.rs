//! Objects decoded by an API server (`meshready cluster`, the webhook) have the API's types,
//! which the API server checked when it stored them: MR0020 non-string-value and MR0023
//! invalid-field-type, which report values the API server would reject, skip them; the same
//! object read from a file is reported.

use meshready_core::source::{LoadOptions, Loaded, load_str, object_from_json};
use meshready_core::{CheckOptions, check};
use serde_json::json;

/// A Deployment with a label value that is not a string and a port that is not a number.
fn deployment() -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"version": 1.1}},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:1",
                                         "ports": [{"containerPort": "http"}]}]}
            }
        }
    })
}

fn codes(loaded: &Loaded) -> Vec<&'static str> {
    let report = check(loaded, &CheckOptions::default());
    let mut codes: Vec<&'static str> = report
        .findings
        .iter()
        .map(|f| f.code)
        .filter(|c| matches!(*c, "MR0020" | "MR0023"))
        .collect();
    codes.sort_unstable();
    codes
}

#[test]
fn type_rules_skip_objects_the_api_server_decoded() {
    let from_file = load_str(
        "web.json",
        &deployment().to_string(),
        &LoadOptions::default(),
    );
    assert_eq!(codes(&from_file), ["MR0020", "MR0023"]);

    let object = object_from_json(&deployment(), &LoadOptions::default()).unwrap();
    assert!(object.decoded_by_api_server());
    let mut decoded = Loaded::default();
    decoded.stats.documents = 1;
    decoded.stats.objects = 1;
    decoded.objects.push(object);
    assert_eq!(codes(&decoded), Vec::<&str>::new());
}
