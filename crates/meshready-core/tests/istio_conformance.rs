//! Conformance with istioctl: runs the checker on every input of Istio's analyzer tests
//! (`../shared/conformance/istio-analyzers`) and compares with the expectations derived from
//! `ISTIOCTL-EXPECTED.md`. Deliberate differences are listed in `ISTIO-CONFORMANCE.md` beside
//! this file and pinned here.

use std::collections::BTreeSet;
use std::path::PathBuf;

use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, check};

fn conformance_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/istio-analyzers"
    ))
}

/// (input files, codes of the analyzer under test, expected (code, kind, name) findings).
type Case = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [(&'static str, &'static str, &'static str)],
);

const CASES: &[Case] = &[
    // istioInjection; IST0103 Pod noninjectedpod is deliberately absent (manifests are pre-injection).
    (
        &["injection.yaml"],
        &["IST0102", "IST0103", "IST0123"],
        &[
            ("IST0102", "Namespace", "bar"),
            ("IST0123", "Namespace", "busted"),
            ("IST0123", "Namespace", "multi-ns-1"),
            ("IST0123", "Namespace", "multi-ns-2"),
            ("IST0123", "Namespace", "multi-ns-3"),
        ],
    ),
    // istioInjectionEnableNamespacesByDefault: istioctl reports IST0148 for bar, which meshready
    // does not implement; IST0102 must then stay silent.
    (
        &[
            "injection.yaml",
            "common/sidecar-injector-enabled-nsbydefault.yaml",
        ],
        &["IST0102", "IST0123"],
        &[
            ("IST0123", "Namespace", "busted"),
            ("IST0123", "Namespace", "multi-ns-1"),
            ("IST0123", "Namespace", "multi-ns-2"),
            ("IST0123", "Namespace", "multi-ns-3"),
        ],
    ),
    (
        &["service-no-port-name.yaml"],
        &["IST0118", "IST0150"],
        &[
            ("IST0118", "Service", "my-service1"),
            ("IST0118", "Service", "my-service2"),
        ],
    ),
    (&["service-port-name.yaml"], &["IST0118", "IST0150"], &[]),
    (
        &["service-no-port-name-system-namespace.yaml"],
        &["IST0118", "IST0150"],
        &[],
    ),
    (
        &["incorrect-port-name-external-name-service-type.yaml"],
        &["IST0118", "IST0150"],
        &[
            ("IST0150", "Service", "nginx"),
            ("IST0150", "Service", "nginx-svc2"),
            ("IST0150", "Service", "nginx-svc3"),
        ],
    ),
    (
        &["correct-port-name-external-name-service-type.yaml"],
        &["IST0118", "IST0150"],
        &[],
    ),
    // serviceMultipleDeployments, plus IST0117 revived (as istioctl expected before 1.20, except
    // ann-enabled-ns-disabled: an annotation "true" in an unlabelled namespace does not inject).
    (
        &["deployment-multi-service.yaml"],
        &["IST0116", "IST0117", "IST0137"],
        &[
            ("IST0116", "Deployment", "multiple-svc-multiple-prot"),
            ("IST0116", "Deployment", "multiple-without-port"),
            ("IST0137", "Deployment", "conflicting-ports"),
            ("IST0117", "Deployment", "no-services"),
        ],
    ),
    (
        &["deployment-multi-service-different-ns.yaml"],
        &["IST0116", "IST0137"],
        &[],
    ),
    // serviceWithNoSelector: IST0117 revived (istioctl's pre-1.20 expectation).
    (
        &["deployment-service-no-selector.yaml"],
        &["IST0116", "IST0117", "IST0137"],
        &[("IST0117", "Deployment", "helloworld-v2")],
    ),
    (
        &["pod-sec-uid.yaml"],
        &["IST0144"],
        &[("IST0144", "Pod", "pod-sec-uid")],
    ),
    (
        &["pod-con-sec-uid.yaml"],
        &["IST0144"],
        &[("IST0144", "Pod", "con-sec-uid")],
    ),
    (
        &["deployment-pod-sec-uid.yaml"],
        &["IST0144"],
        &[("IST0144", "Deployment", "deploy-pod-sec-uid")],
    ),
    (
        &["deployment-con-sec-uid.yaml"],
        &["IST0144"],
        &[("IST0144", "Deployment", "deploy-con-sec-uid")],
    ),
    // ImageAutoAnalyzer (IST0146/IST0147) and ImageAnalyzer (IST0158) are outside meshready's
    // scope: the inputs must still load and produce none of those codes.
    (&["image-auto.yaml"], &["IST0146", "IST0147"], &[]),
    (
        &[
            "injection-with-mismatched-sidecar.yaml",
            "common/sidecar-injector-configmap.yaml",
        ],
        &["IST0158"],
        &[],
    ),
];

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn istioctl_analyzer_testdata() {
    let dir = conformance_dir();
    let mut covered = BTreeSet::new();
    for (files, codes, expected) in CASES {
        let inputs = files
            .iter()
            .map(|f| {
                covered.insert(*f);
                Input {
                    path: (*f).to_string(),
                    bytes: std::fs::read(dir.join(f)).unwrap(),
                }
            })
            .collect();
        let loaded = load(inputs, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{files:?}: {:?}", loaded.errors);
        let report = check(&loaded, &CheckOptions::default());
        let actual: BTreeSet<(String, String, String)> = report
            .findings
            .iter()
            .filter(|f| codes.contains(&f.code))
            .map(|f| {
                (
                    f.code.to_string(),
                    f.object.kind.clone(),
                    f.object.name.clone(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String, String)> = expected
            .iter()
            .map(|(c, k, n)| ((*c).to_string(), (*k).to_string(), (*n).to_string()))
            .collect();
        assert_eq!(actual, expected, "{files:?}");
    }
    // Every input of the suite is exercised.
    for entry in walk(&dir) {
        let rel = entry
            .strip_prefix(&dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if rel.ends_with(".yaml") {
            assert!(
                covered.contains(rel.as_str()),
                "{rel} is not covered by a conformance case"
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn ist0144_reports_every_field_where_istioctl_dedupes_to_one() {
    let dir = conformance_dir();
    let text = std::fs::read_to_string(dir.join("deployment-con-sec-uid.yaml")).unwrap();
    let loaded = meshready_core::source::load_str("d.yaml", &text, &LoadOptions::default());
    let report = check(&loaded, &CheckOptions::default());
    let hits: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == "IST0144")
        .collect();
    // The container sets 1337 itself, so the pod-level 1337 is inherited by no container.
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert!(hits[0].path.ends_with("/securityContext/runAsUser"));
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
