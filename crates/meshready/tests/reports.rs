//! `-o policyreport` and `-o openreports` against the CRD schemas the policy tools install
//! (`../shared/reference/crds`, see its README): every object validates against its CRD's
//! `openAPIV3Schema`, results carry what Policy Reporter shows.

#[path = "../../meshready-cluster/tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// The CRDs of `../shared/reference/crds`. The tests that need them are ignored with a reason
/// when `../shared` is absent (the build script's `cfg(meshready_shared)`), never passed.
fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/crds")
}

/// The `openAPIV3Schema` of `version` in a CRD file, read with meshready's own YAML loader.
fn crd_schema(path: &Path, version: &str) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap();
    let limits = meshready_core::source::yaml::Limits::default();
    assert!(limits.skip_unread_fields.is_none());
    let parsed = meshready_core::source::yaml::parse_document(&text, 0, limits)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    let crd = parsed.root.unwrap().to_json();
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
    let schema = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{} has no version {version}", path.display()))["schema"]
        ["openAPIV3Schema"]
        .clone();
    (kind, schema)
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

fn report(format: &str, files: &[&str], extra: &[&str]) -> (i32, Value) {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args(["check", "--no-config", "-o", format])
        .args(extra)
        .args(files)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stdout));
    });
    (output.status.code().unwrap_or(-1), list)
}

fn validate(crds: &Path, list: &Value, files: [(&str, &str); 2]) -> usize {
    let validators: Vec<(String, jsonschema::Validator)> = files
        .iter()
        .map(|(file, version)| {
            let (kind, schema) = crd_schema(&crds.join(file), version);
            let validator = jsonschema::validator_for(&schema).unwrap();
            // The validator does reject what the schema forbids.
            assert!(!validator.is_valid(&serde_json::json!({"results": [{"result": "maybe"}]})));
            (kind, validator)
        })
        .collect();
    let items = list["items"].as_array().unwrap();
    for item in items {
        let kind = item["kind"].as_str().unwrap();
        let (_, validator) = validators
            .iter()
            .find(|(k, _)| k == kind)
            .unwrap_or_else(|| panic!("unexpected kind {kind}"));
        let errors: Vec<String> = validator
            .iter_errors(item)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{kind}: {errors:#?}");
    }
    items.len()
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the CRD schemas)"
)]
fn policyreports_validate_against_the_wgpolicyk8s_crds() {
    let crds = crds_dir();
    let (code, list) = report("policyreport", &["app.yaml", "broken.yaml"], &[]);
    assert_eq!(code, 2);
    assert_eq!(list["kind"], "List");
    let n = validate(
        &crds,
        &list,
        [
            ("wgpolicyk8s.io_policyreports.yaml", "v1alpha2"),
            ("wgpolicyk8s.io_clusterpolicyreports.yaml", "v1alpha2"),
        ],
    );
    assert_eq!(
        n, 2,
        "one PolicyReport for namespace shop, one ClusterPolicyReport"
    );
    let items = list["items"].as_array().unwrap();
    let cluster = items
        .iter()
        .find(|i| i["kind"] == "ClusterPolicyReport")
        .unwrap();
    assert!(cluster["metadata"].get("namespace").is_none());
    // The unreadable input is an `error` result of the cluster report.
    assert_eq!(cluster["summary"]["error"], 1);
    let shop = items.iter().find(|i| i["kind"] == "PolicyReport").unwrap();
    assert_eq!(shop["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(shop["metadata"]["namespace"], "shop");
    assert_eq!(shop["metadata"]["name"], "meshready");
    let results = shop["results"].as_array().unwrap();
    assert!(!results.is_empty());
    let (mut fail, mut warn) = (0, 0);
    for r in results {
        assert_eq!(r["source"], "meshready");
        let code = r["policy"].as_str().unwrap();
        assert!(code.starts_with("IST") || code.starts_with("MR"), "{code}");
        assert!(r["rule"].as_str().is_some_and(|n| n.contains('-')));
        // Errors fail (the default failure threshold), the rest warn.
        match (
            r["severity"].as_str().unwrap(),
            r["result"].as_str().unwrap(),
        ) {
            ("high", "fail") => fail += 1,
            ("medium" | "low", "warn") => warn += 1,
            other => panic!("{other:?}"),
        }
        let resource = &r["resources"][0];
        assert_eq!(resource["namespace"], "shop");
        assert!(resource["apiVersion"].is_string());
        assert!(resource.get("uid").is_none(), "files have no uid");
        assert!(
            r["properties"]["location"]
                .as_str()
                .unwrap()
                .starts_with("app.yaml:")
        );
        assert!(r["properties"]["path"].as_str().unwrap().starts_with('/'));
    }
    assert!(fail > 0 && warn > 0);
    assert_eq!(shop["summary"]["fail"], fail);
    assert_eq!(shop["summary"]["warn"], warn);
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the CRD schemas)"
)]
fn openreports_validate_against_the_openreports_crds() {
    let crds = crds_dir();
    let (code, list) = report(
        "openreports",
        &["app.yaml"],
        &["--failure-threshold", "never"],
    );
    assert_eq!(code, 0);
    let n = validate(
        &crds,
        &list,
        [
            ("openreports.io_reports.yaml", "v1alpha1"),
            ("openreports.io_clusterreports.yaml", "v1alpha1"),
        ],
    );
    assert_eq!(n, 2);
    let report = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Report")
        .unwrap();
    assert_eq!(report["apiVersion"], "openreports.io/v1alpha1");
    assert_eq!(report["source"], "meshready");
    // With `--failure-threshold never`, nothing fails.
    assert_eq!(report["summary"]["fail"], 0);
    assert!(report["summary"]["warn"].as_u64().unwrap() > 0);
}

/// Objects read from a live cluster carry their uid into `resources`.
#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the CRD schemas)"
)]
fn live_objects_carry_their_uid() {
    let crds = crds_dir();
    let manifest = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  uid: 6b3c1c36-0d1e-4a8e-9a63-0c6f2f0d9e11
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers:
      - name: app
        image: shop/web:1
        ports:
        - containerPort: 15090
";
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["check", "--no-config", "--live", "-o", "policyreport", "-"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    validate(
        &crds,
        &list,
        [
            ("wgpolicyk8s.io_policyreports.yaml", "v1alpha2"),
            ("wgpolicyk8s.io_clusterpolicyreports.yaml", "v1alpha2"),
        ],
    );
    let shop = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["metadata"]["namespace"] == "shop")
        .unwrap();
    let mr0002 = shop["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "MR0002")
        .unwrap();
    assert_eq!(
        mr0002["resources"][0]["uid"],
        "6b3c1c36-0d1e-4a8e-9a63-0c6f2f0d9e11"
    );
    assert_eq!(mr0002["resources"][0]["apiVersion"], "apps/v1");
    assert!(mr0002["timestamp"]["seconds"].as_i64().unwrap() > 1_600_000_000);
}

/// `meshready cluster -A -o policyreport`: what `| kubectl apply -f -` would store, with the
/// uid of every live object, against the mock API server.
#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the CRD schemas)"
)]
fn cluster_policyreports_carry_live_uids() {
    let crds = crds_dir();
    const FIXTURE: &str = include_str!("../../meshready-cluster/tests/fixtures/cluster.yaml");
    let objects = meshready_core::source::load_str(
        "cluster.yaml",
        FIXTURE,
        &meshready_core::source::LoadOptions::default(),
    )
    .objects
    .iter()
    .map(|o| {
        let mut value = o.root.to_json();
        value["metadata"]["uid"] = Value::from(format!("uid-{}-{}", o.kind, o.name));
        value
    })
    .collect();
    let api = support::MockApi::start(support::Setup {
        objects,
        forbidden: vec![],
        not_served: vec!["policy/v1beta1", "security.openshift.io/v1"],
        faults: Vec::new(),
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    api.write_kubeconfig(&kubeconfig, "shop");
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .env_remove("KUBECONFIG")
        .args(["cluster", "-A", "-o", "policyreport", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    validate(
        &crds,
        &list,
        [
            ("wgpolicyk8s.io_policyreports.yaml", "v1alpha2"),
            ("wgpolicyk8s.io_clusterpolicyreports.yaml", "v1alpha2"),
        ],
    );
    let results: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["results"].as_array().unwrap())
        .collect();
    assert!(!results.is_empty());
    for r in &results {
        let resource = &r["resources"][0];
        assert_eq!(
            resource["uid"],
            Value::from(format!(
                "uid-{}-{}",
                resource["kind"].as_str().unwrap(),
                resource["name"].as_str().unwrap()
            )),
            "{r}"
        );
        assert!(
            r["properties"].get("location").is_none(),
            "live objects have no file"
        );
    }
    assert!(results.iter().any(|r| r["policy"] == "IST0103"));
}
