//! Istio's own components (istiod, ztunnel, istio-cni-node, gateways, waypoints) get no
//! workload findings, and an explicit `sidecar.istio.io/inject: "false"` wins over a container
//! named `istio-proxy`.

use std::path::Path;

use meshready_core::source::{Input, LoadOptions, load, load_str};
use meshready_core::{CheckOptions, check};

/// The workload rules that must never fire on Istio's components.
const WORKLOAD_CODES: [&str; 4] = ["IST0117", "MR0002", "MR0003", "MR0004"];

fn findings(name: &str, text: &str) -> Vec<String> {
    let loaded = load_str(name, text, &LoadOptions::default());
    assert!(loaded.errors.is_empty(), "{name}: {:?}", loaded.errors);
    check(&loaded, &CheckOptions::default())
        .findings
        .iter()
        .map(|f| format!("{} {}", f.code, f.object))
        .collect()
}

const COMPONENTS: &str = include_str!("fixtures/components/istio-components.yaml");

#[test]
fn istio_components_get_no_workload_findings() {
    let found = findings("istio-components.yaml", COMPONENTS);
    let workload: Vec<&String> = found
        .iter()
        .filter(|f| WORKLOAD_CODES.iter().any(|c| f.starts_with(c)))
        .collect();
    assert!(workload.is_empty(), "{workload:#?}");
}

#[test]
fn the_same_shapes_without_istio_labels_are_reported() {
    // The control: strip what marks the objects as Istio's and the rules fire again, so the test
    // above cannot pass by accident.
    let stripped = COMPONENTS
        .replace("sidecar.istio.io/inject: \"false\"", "team: a")
        .replace("app: ztunnel", "app: zt")
        .replace("k8s-app: istio-cni-node", "k8s-app: cni")
        .replace("app: istiod", "app: pilot")
        .replace("istio: ingressgateway", "role: ingress")
        .replace("gateway.istio.io/managed: istio.io-mesh-controller", "a: b")
        .replace("gateway.networking.k8s.io/gateway-name: waypoint", "c: d")
        .replace("istio.io/gateway-name: eastwest", "e: f");
    let found = findings("stripped.yaml", &stripped);
    for expected in [
        "IST0117 DaemonSet istio-system/ztunnel",
        "IST0117 Deployment istio-system/istiod",
        "IST0117 Deployment istio-ingress/istio-ingressgateway",
        "MR0004 Deployment istio-system/istiod",
        "MR0002 Deployment istio-system/eastwest",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected} not in {found:#?}"
        );
    }
}

#[test]
fn explicit_opt_out_wins_over_the_container_name() {
    let pod = |inject: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: a{inject}}}\nspec:\n  containers: [{{name: istio-proxy, image: x}}]\n"
        )
    };
    let with_opt_out = pod(", labels: {sidecar.istio.io/inject: \"false\"}");
    assert!(
        !findings("p.yaml", &with_opt_out)
            .iter()
            .any(|f| f.starts_with("IST0117"))
    );
    // Without the opt-out, a container named istio-proxy means the pod is already injected.
    assert!(
        findings("p.yaml", &pod(""))
            .iter()
            .any(|f| f.starts_with("IST0117"))
    );
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn istio_rendered_manifests_get_no_workload_findings() {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/istio-operator-golden/operator/cmd/mesh/testdata/manifest-generate/output"
    ));
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.iter().any(|p| p.ends_with("ztunnel.golden.yaml")));
    for path in paths {
        let inputs = vec![Input {
            path: path.display().to_string(),
            bytes: std::fs::read(&path).unwrap(),
        }];
        let loaded = load(inputs, &LoadOptions::default());
        let report = check(&loaded, &CheckOptions::default());
        let workload: Vec<String> = report
            .findings
            .iter()
            .filter(|f| WORKLOAD_CODES.contains(&f.code))
            .map(|f| format!("{} {}", f.code, f.object))
            .collect();
        assert!(workload.is_empty(), "{}: {workload:#?}", path.display());
    }
}
