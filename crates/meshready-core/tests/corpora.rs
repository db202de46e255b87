//! Real-world manifests (`../shared/corpora`): every directory is read without a panic, every
//! object is counted (figures cross-checked against PyYAML, see BENCHMARKS.md / the closing
//! notes), and the findings on Istio's samples and microservices-demo are the sensible ones.

use std::path::{Path, PathBuf};

use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, Report, Scope, Severity, check};

fn corpora() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora"
    ))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
}

fn run(paths: &[PathBuf]) -> (Report, usize) {
    run_with(
        paths,
        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
        Scope::Cluster,
    )
}

fn run_scoped(paths: &[PathBuf], scope: Scope) -> (Report, usize) {
    run_with(
        paths,
        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
        scope,
    )
}

fn run_with(paths: &[PathBuf], options: &LoadOptions, scope: Scope) -> (Report, usize) {
    let inputs: Vec<Input> = paths
        .iter()
        .map(|p| Input {
            path: p.display().to_string(),
            bytes: std::fs::read(p).unwrap(),
        })
        .collect();
    let n = inputs.len();
    let loaded = load(inputs, options);
    let options = CheckOptions {
        scope,
        ..CheckOptions::default()
    };
    (check(&loaded, &options), n)
}

/// Dropping what no rule reads (`rules::PRUNE`, at parse and load time) changes no finding,
/// no error and no count on any corpus.
#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn pruning_changes_no_finding() {
    for (dir, _, _) in EXPECTED {
        let mut paths = Vec::new();
        files(&corpora().join(dir), &mut paths);
        let (pruned, _) = run(&paths);
        let (whole, _) = run_with(&paths, &LoadOptions::default(), Scope::Cluster);
        if pruned.findings != whole.findings {
            let show = |r: &Report| -> Vec<String> {
                r.findings
                    .iter()
                    .map(|f| format!("{} {} {} {}", f.code, f.object, f.path, f.message))
                    .collect()
            };
            let (a, b) = (show(&pruned), show(&whole));
            let only_pruned: Vec<&String> = a.iter().filter(|x| !b.contains(x)).collect();
            let only_whole: Vec<&String> = b.iter().filter(|x| !a.contains(x)).collect();
            panic!(
                "{dir}: findings differ\npruned only: {only_pruned:#?}\nwhole only: {only_whole:#?}"
            );
        }
        assert_eq!(pruned.summary, whole.summary, "{dir}");
        assert_eq!(pruned.errors.len(), whole.errors.len(), "{dir}");
    }
}

/// (directory, objects, invalid documents or items). Object counts match PyYAML's count of
/// mappings with `kind` and `apiVersion` (List items one by one) on every file PyYAML can read.
const EXPECTED: &[(&str, usize, usize)] = &[
    ("argo-cd-install", 298, 0),
    ("bank-of-anthos", 128, 0),
    ("datadog-helm-baselines", 1676, 0),
    ("deathstarbench", 168, 0),
    // One `InferencePool` without apiVersion (a variables file).
    ("gke-samples", 1064, 1),
    ("istio-inject-testdata", 113, 0),
    ("istio-operator-golden", 96, 0),
    ("istio-samples", 346, 0),
    ("kiali-demos", 194, 0),
    ("kube-prometheus", 145, 0),
    ("kubeflow-rendered", 503, 0),
    ("kubernetes-examples", 270, 0),
    // Four `List` items that are null.
    ("linkerd-golden", 1348, 4),
    ("microservices-demo", 80, 0),
    ("otel-demo", 84, 0),
    ("sock-shop", 139, 0),
];

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn every_corpus_is_read_and_every_object_counted() {
    let root = corpora();
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    dirs.sort();
    assert_eq!(
        dirs,
        EXPECTED.iter().map(|e| e.0.to_string()).collect::<Vec<_>>(),
        "a corpus was added or removed"
    );
    for (dir, objects, invalid) in EXPECTED {
        let mut paths = Vec::new();
        files(&root.join(dir), &mut paths);
        let (report, n) = run(&paths);
        let s = &report.summary;
        // No corpus file is another tool's: every file is read.
        assert_eq!((s.files, s.skipped_files), (n, 0), "{dir}");
        assert_eq!(
            (s.objects, s.invalid),
            (*objects, *invalid),
            "{dir}: {:#?}",
            report.errors
        );
        assert_eq!(
            s.documents,
            s.objects - s.list_items + s.lists + s.invalid_documents,
            "{dir}"
        );
        assert_eq!(s.objects, s.analysed + s.skipped, "{dir}");
        for e in &report.errors {
            assert!(
                e.line >= 1 && e.column >= 1 && !e.file.is_empty() && !e.message.is_empty(),
                "{dir}: {e:?}"
            );
        }
        for f in &report.findings {
            assert!(
                f.location.as_ref().is_some_and(|l| l.line >= 1),
                "{dir}: {f:?}"
            );
        }
    }
}

fn above_info(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.severity > Severity::Info && f.code != "MR0050")
        .map(|f| format!("{} {} {}", f.code, f.object, f.message))
        .collect()
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn bookinfo_has_nothing_above_info() {
    let dir = corpora().join("istio-samples/samples/bookinfo");
    let (report, _) = run(&[dir.join("platform/kube/bookinfo.yaml")]);
    assert_eq!(above_info(&report), Vec::<String>::new());
    assert!(report.summary.in_mesh >= 6);
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    let (report, _) = run(&paths);
    assert_eq!(above_info(&report), Vec::<String>::new());
    // The directory holds alternative versions of the same objects (dual-stack, PSA, routes
    // for each step of the tasks): MR0050 says so, and per file they do not conflict.
    assert!(conflicts(&report) >= 10, "{}", conflicts(&report));
    let (report, _) = run_scoped(&paths, Scope::File);
    assert_eq!(conflicts(&report), 0);
}

fn conflicts(report: &Report) -> usize {
    report
        .findings
        .iter()
        .filter(|f| f.code == "MR0050")
        .count()
}

#[test]
#[cfg_attr(
    not(meshready_shared),
    ignore = "needs ../shared beside the checkout (the conformance suites and corpora)"
)]
fn microservices_demo_findings_make_sense() {
    let dir = corpora().join("microservices-demo");
    let mut paths = Vec::new();
    files(&dir, &mut paths);
    let (report, _) = run(&paths);
    // loadgenerator is a client with no Service (the release bundle and the per-service files
    // each contain it): an info since Istio 1.20 made the Service a recommendation; every
    // Deployment lacks a `version` label; nothing else.
    assert_eq!(above_info(&report), Vec::<String>::new());
    let infos: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Info)
        .map(|f| f.code)
        .collect();
    assert_eq!(infos.len(), 26);
    assert_eq!(
        infos.iter().filter(|c| **c == "IST0117").count(),
        2,
        "{infos:?}"
    );
    assert!(
        infos.iter().all(|c| *c == "MR0004" || *c == "IST0117"),
        "{infos:?}"
    );
    // The release bundle pins image tags that the per-service files do not: every Deployment
    // but one is defined twice with different content; the Services are
    // identical copies.
    let conflicting: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "MR0050")
        .map(|f| f.object.kind.as_str())
        .collect();
    assert_eq!(conflicting.len(), 11, "{conflicting:?}");
    assert!(conflicting.iter().all(|k| *k == "Deployment"));
    let (report, _) = run_scoped(&paths, Scope::Directory);
    assert_eq!(conflicts(&report), 0);
    assert_eq!(report.summary.workloads, 24);
}
