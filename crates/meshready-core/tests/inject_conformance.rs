//! The injected-pod model against Istio's own injector golden files
//! (`../shared/conformance/istio-inject`, see its README): every case without `other_settings`
//! must match on the security projection, and every `expected_error` case must be an MR0045
//! finding of `check`.

#![expect(
    clippy::print_stderr,
    reason = "the suite prints its conformance figure, and SKIP when allowed to skip"
)]

use std::path::{Path, PathBuf};

use meshready_core::admission::inject::inject_objects;
use meshready_core::settings::{
    CniMode, InjectSettings, InterceptionMode, NativeSidecars, Platform, Settings,
};
use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, Model, check};
use serde_json::{Value, json};

/// The shared conformance directory. The tests that need it are ignored with a reason when
/// `../shared` is absent (the build script's `cfg(meshready_shared)`), never passed.
fn shared_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/istio-inject")
}

/// Every field kept (no prune policy), as `meshready inject` loads.
fn full_load_options() -> LoadOptions {
    LoadOptions::default()
}

fn read(path: &Path) -> Input {
    Input {
        path: path.display().to_string(),
        bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    }
}

/// The pod template of an object (JSON), by kind, as the README's projection lists them.
fn template(object: &Value) -> Option<&Value> {
    let kind = object.get("kind")?.as_str()?;
    match kind {
        "Pod" => Some(object),
        "CronJob" => object.pointer("/spec/jobTemplate/spec/template"),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job"
        | "DeploymentConfig" => object.pointer("/spec/template"),
        _ => None,
    }
}

/// The security projection of one object.
fn project(object: &Value) -> Option<Value> {
    let t = template(object)?;
    let spec = t.get("spec").cloned().unwrap_or(Value::Null);
    let list = |key: &str, init: bool| -> Value {
        spec.get(key)
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .map(|c| {
                        let mut p = json!({
                            "name": c.get("name").cloned().unwrap_or(Value::Null),
                            "securityContext": c.get("securityContext").cloned().unwrap_or(Value::Null),
                        });
                        if init {
                            p["restartPolicy"] =
                                c.get("restartPolicy").cloned().unwrap_or(Value::Null);
                        }
                        p
                    })
                    .collect()
            })
            .unwrap_or_else(|| json!([]))
    };
    Some(json!({
        "kind": object.get("kind"),
        "name": object.pointer("/metadata/name"),
        "podSecurityContext": spec.get("securityContext").cloned().unwrap_or(Value::Null),
        "initContainers": list("initContainers", true),
        "containers": list("containers", false),
    }))
}

fn settings_of(case: &Value) -> Settings {
    let s = &case["settings"];
    let mut settings = Settings::default();
    settings.admission.cni = if s["cni"] == json!(true) {
        CniMode::On
    } else {
        CniMode::Off
    };
    settings.inject = InjectSettings {
        native_sidecars: match s["native_sidecars"].as_str() {
            Some("disabled") => NativeSidecars::Off,
            _ => NativeSidecars::Auto,
        },
        platform: match s["platform"].as_str() {
            Some("openshift") => Platform::OpenShift,
            _ => Platform::Kubernetes,
        },
        interception: match s["interception_mode"].as_str() {
            Some("TPROXY") => InterceptionMode::Tproxy,
            _ => InterceptionMode::Redirect,
        },
        hold_application_until_proxy_starts: s["hold_application_until_proxy_starts"]
            == json!(true),
        ..InjectSettings::default()
    };
    // Istio's test injects the OpenShift cases into its namespace `test-ns`, which carries no
    // injection label: inject regardless, as the test does.
    if s["platform"] == json!("openshift") {
        settings.mesh = meshready_core::MeshMode::All;
    }
    settings
}

/// The test cluster's Nodes (kubelet versions from `cases.json`), so that `auto` decides as
/// Istio's test does.
fn nodes(cases: &Value) -> String {
    cases["cluster"]["nodes_kubelet"]
        .as_array()
        .map(|versions| {
            versions
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    format!(
                        "apiVersion: v1\nkind: Node\nmetadata: {{name: node-{i}}}\nstatus: {{nodeInfo: {{kubeletVersion: {}}}}}\n---\n",
                        v.as_str().unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn inputs(dir: &Path, case: &Value, nodes: &str) -> Vec<Input> {
    let mut inputs = vec![Input {
        path: "nodes.yaml".into(),
        bytes: nodes.as_bytes().to_vec(),
    }];
    if case["settings"]["platform"] == json!("openshift") {
        inputs.push(read(&dir.join("namespace-test-ns.yaml")));
    }
    inputs.push(read(
        &dir.join("testdata")
            .join(case["in"].as_str().unwrap_or_default()),
    ));
    inputs
}

/// Projections of the objects of the case's own file (not the Nodes or the Namespace).
fn projections(objects: &[(usize, Value)], file: usize) -> Vec<Value> {
    objects
        .iter()
        .filter(|(f, _)| *f == file)
        .filter_map(|(_, o)| project(o))
        .collect()
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the Istio injector golden files)"
)]
fn injected_pods_match_istios_golden_files() {
    let dir = shared_dir();
    let cases: Value =
        serde_json::from_slice(&std::fs::read(dir.join("cases.json")).expect("cases.json"))
            .expect("cases.json parses");
    let nodes = nodes(&cases);
    let mut total = 0;
    let mut matched = 0;
    let mut refusals = 0;
    let mut refusals_found = 0;
    let mut failures = Vec::new();
    for case in cases["cases"].as_array().expect("cases") {
        if case["other_settings"]
            .as_array()
            .is_some_and(|o| !o.is_empty())
        {
            continue;
        }
        let settings = settings_of(case);
        let name = format!(
            "{} -> {}",
            case["in"].as_str().unwrap_or_default(),
            case["want"].as_str().unwrap_or_default()
        );
        let loaded = load(inputs(&dir, case, &nodes), &full_load_options());
        assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
        let case_file = loaded.files.len() - 1;
        if let Some(fragment) = case["expected_error"].as_str() {
            refusals += 1;
            let report = check(
                &loaded,
                &CheckOptions {
                    settings,
                    ..CheckOptions::default()
                },
            );
            if report
                .findings
                .iter()
                .any(|f| f.code == "MR0045" && f.message.to_lowercase().contains(fragment))
            {
                refusals_found += 1;
            } else {
                failures.push(format!("{name}: no MR0045 finding containing {fragment:?}"));
            }
            continue;
        }
        total += 1;
        let model = Model::new(&loaded.objects, settings);
        let out = inject_objects(&model);
        let got: Vec<(usize, Value)> = loaded
            .objects
            .iter()
            .zip(out.objects)
            .map(|(o, v)| (o.origin.file, v))
            .collect();
        let got = projections(&got, case_file);
        let want_path = dir
            .join("testdata")
            .join(case["want"].as_str().unwrap_or_default());
        let want_loaded = load(vec![read(&want_path)], &full_load_options());
        let want: Vec<(usize, Value)> = want_loaded
            .objects
            .iter()
            .map(|o| (0, o.root.to_json()))
            .collect();
        let want = projections(&want, 0);
        if got == want {
            matched += 1;
        } else {
            failures.push(format!(
                "{name}:\n  got  {}\n  want {}",
                serde_json::to_string(&got).unwrap_or_default(),
                serde_json::to_string(&want).unwrap_or_default()
            ));
        }
    }
    eprintln!(
        "istio-inject conformance: {matched}/{total} cases without other_settings match on the security projection; {refusals_found}/{refusals} refusals are MR0045 findings"
    );
    assert!(total >= 100, "only {total} cases ran");
    assert_eq!(refusals, 5, "the README names five refusals");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
