//! `meshready inject` (the injected pod every rule judges), and the injection flags of `check`.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/inject"
    ))
}

/// Runs `meshready ARGS...` in the fixture directory, without a config file.
fn meshready(args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `inject -o json` parsed: one value per document.
fn inject_json(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["inject", "--no-config", "-o", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = meshready(&all);
    let docs = serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, docs, err)
}

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default()
}

#[test]
fn injects_every_workload_in_input_order_and_keeps_lists() {
    let (code, docs, err) = inject_json(&["app.yaml"]);
    assert_eq!(code, 0, "{err}");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(kinds, ["Namespace", "Job", "List", "Deployment"]);
    // Native sidecars (the newest Istio and Kubernetes): the proxy is an init container.
    let job = &docs[1]["spec"]["template"]["spec"];
    assert_eq!(names(&job["initContainers"]), ["istio-init", "istio-proxy"]);
    assert_eq!(job["initContainers"][1]["restartPolicy"], "Always");
    assert_eq!(names(&job["containers"]), ["migrate"]);
    // Fields no rule reads are kept.
    assert_eq!(job["containers"][0]["env"][0]["value"], "on");
    assert_eq!(
        job["initContainers"][0]["securityContext"]["capabilities"]["add"],
        serde_json::json!(["NET_ADMIN", "NET_RAW"])
    );
    // The List stays a List; its Service is unchanged.
    let items = docs[2]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let web = &items[0]["spec"]["template"]["spec"];
    assert_eq!(
        names(&web["initContainers"]),
        ["istio-init", "istio-proxy", "setup"]
    );
    assert_eq!(items[1]["kind"], "Service");
    assert!(items[1]["spec"].get("template").is_none());
    // hostNetwork pods are never injected.
    assert!(
        docs[3]["spec"]["template"]["spec"]
            .get("initContainers")
            .is_none()
    );
    assert!(err.contains("injected 2 of 3 workloads"), "{err}");
}

#[test]
fn flags_choose_cni_native_sidecars_tproxy_and_hold() {
    let (_, docs, _) = inject_json(&[
        "--istio-cni",
        "on",
        "--native-sidecars",
        "off",
        "--interception-mode",
        "tproxy",
        "app.yaml",
    ]);
    let job = &docs[1]["spec"]["template"]["spec"];
    assert_eq!(names(&job["initContainers"]), ["istio-validation"]);
    assert_eq!(names(&job["containers"]), ["migrate", "istio-proxy"]);
    let proxy = &job["containers"][1]["securityContext"];
    assert_eq!(proxy["runAsUser"], 0);
    assert_eq!(
        proxy["capabilities"]["add"],
        serde_json::json!(["NET_ADMIN"])
    );
    // proxy.istio.io/config holdApplicationUntilProxyStarts: the proxy comes first.
    let web = &docs[2]["items"][0]["spec"]["template"]["spec"];
    assert_eq!(names(&web["containers"]), ["istio-proxy", "web"]);
    // Istio 1.26 and Kubernetes 1.32 have no native sidecars by default.
    for flags in [
        ["--istio-version", "1.26"],
        ["--kubernetes-version", "1.32"],
    ] {
        let (_, docs, _) = inject_json(&[flags[0], flags[1], "app.yaml"]);
        let job = &docs[1]["spec"]["template"]["spec"];
        assert_eq!(
            names(&job["containers"]),
            ["migrate", "istio-proxy"],
            "{flags:?}"
        );
    }
}

#[test]
fn yaml_output_reads_back_as_injected() {
    let (code, out, _) = meshready(&["inject", "--no-config", "app.yaml"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("---\n"), "{out}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("injected.yaml");
    std::fs::write(&path, &out).unwrap();
    // The injected pods read as already injected: the native Job gets no MR0044, and the
    // injected template keeps its sidecar.
    let (code, out, err) =
        meshready(&["check", "--no-config", "-o", "json", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["in_mesh"], 2, "{out}");
    assert!(!out.contains("MR0044"), "{out}");
    // With native sidecars off, the Job never completes.
    let (_, out, _) = meshready(&[
        "check",
        "--no-config",
        "--native-sidecars",
        "off",
        "app.yaml",
    ]);
    assert!(out.contains("warning[MR0044]"), "{out}");
}

#[test]
fn openshift_proxy_ids_come_from_the_namespace() {
    let (_, docs, err) = inject_json(&["openshift.yaml"]);
    let proxy = &docs[1]["spec"]["template"]["spec"]["initContainers"][1];
    assert_eq!(proxy["name"], "istio-proxy");
    assert_eq!(proxy["securityContext"]["runAsUser"], 1_000_629_999);
    assert_eq!(proxy["securityContext"]["runAsGroup"], 1_000_629_999);
    assert!(err.contains("OpenShift"), "{err}");
    // IST0144 compares with the proxy's real UID and says where it comes from.
    let (_, out, _) = meshready(&["check", "--no-config", "-o", "json", "openshift.yaml"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    let ist0144: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "IST0144")
        .collect();
    assert_eq!(ist0144.len(), 1, "{out}");
    assert_eq!(
        ist0144[0]["message"],
        "container `api` runs with UID 1000629999, the sidecar proxy's (the top of namespace \"apps\"'s openshift.io/sa.scc.uid-range 1000620000/10000)"
    );
    // On plain Kubernetes the proxy is 1337 and 1000629999 is harmless.
    let (_, out, _) = meshready(&[
        "check",
        "--no-config",
        "-o",
        "json",
        "--platform",
        "kubernetes",
        "openshift.yaml",
    ]);
    assert!(!out.contains("IST0144"), "{out}");
}

#[test]
fn refused_pods_are_printed_unchanged_and_reported() {
    let (code, docs, err) = inject_json(&["bad-annotation.yaml"]);
    assert_eq!(code, 1);
    assert!(
        docs[0]["spec"]["template"]["spec"]
            .get("initContainers")
            .is_none()
    );
    assert!(
        err.contains("the injector refuses traffic.sidecar.istio.io/excludeOutboundPorts \"*\""),
        "{err}"
    );
    let (code, out, _) = meshready(&["check", "--no-config", "bad-annotation.yaml"]);
    assert_eq!(code, 1);
    assert!(out.contains("error[MR0045]"), "{out}");
}

#[test]
fn the_istio_version_is_detected_and_reported() {
    let (_, out, err) = meshready(&["check", "--no-config", "istio-1-19.yaml"]);
    assert!(
        out.contains("warning[IST0117]: no Service in namespace `shop` selects the pods of Deployment `lonely` (Istio 1.19 requires a Service for every workload in the mesh)"),
        "{out}"
    );
    assert!(
        err.contains("Istio 1.19 assumed (the image of Deployment istio-system/istiod (docker.io/istio/pilot:1.19.3))"),
        "{err}"
    );
    let (_, out, _) = meshready(&[
        "check",
        "--no-config",
        "-o",
        "json",
        "--istio-version",
        "1.22",
        "istio-1-19.yaml",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["summary"]["istio_version"], "1.22");
    assert_eq!(report["summary"]["istio_version_source"], "--istio-version");
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "IST0117")
        .expect("IST0117");
    assert_eq!(f["severity"], "info");
    // 1.19 is only reachable by detection.
    let (code, _, err) = meshready(&["check", "--istio-version", "1.19", "istio-1-19.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not supported (expected 1.20 to 1.31)"),
        "{err}"
    );
}

#[test]
fn explain_says_which_rules_depend_on_the_version() {
    let (code, out, _) = meshready(&["explain", "IST0117"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(
            "Depends on the version: a warning up to Istio 1.19 (a requirement), an info from 1.20"
        ),
        "{out}"
    );
    let (_, out, _) = meshready(&["rules", "-o", "json"]);
    let rules: Value = serde_json::from_str(&out).unwrap();
    let mr0044 = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "MR0044")
        .unwrap();
    assert!(mr0044["version_dependence"].as_str().is_some(), "{mr0044}");
    let ist0144 = rules
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["code"] == "IST0144")
        .unwrap();
    assert!(ist0144["version_dependence"].is_null(), "{ist0144}");
}
