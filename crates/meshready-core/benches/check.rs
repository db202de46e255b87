//! Criterion benchmarks of the loader, the model (indexes) and the rules on generated inputs of
//! 1k, 10k and 100k objects: `cargo bench -p meshready-core`. Whole-process figures (wall time,
//! peak RSS, the libyaml ratio) come from `bench/run.py`; see BENCHMARKS.md.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, Model, Settings, check};

/// `pairs` Deployment + Service pairs in `pairs / 50` namespaces, a few percent of them with
/// problems, as one multi-document YAML text (a small cousin of bench/gen_mesh.py).
fn manifests(pairs: usize) -> String {
    let mut out = String::new();
    let namespaces = (pairs / 50).max(1);
    for ns in 0..namespaces {
        let enforce = ["privileged", "baseline", "restricted"][ns % 3];
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-{ns}\n  labels:\n    istio-injection: enabled\n    pod-security.kubernetes.io/enforce: {enforce}\n"
        );
    }
    for i in 0..pairs {
        let ns = i % namespaces;
        let uid = if i % 31 == 0 { 1337 } else { 10_000 + i % 100 };
        let port_name = if i % 10 == 0 {
            "web".to_string()
        } else {
            format!("http-{i}")
        };
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: team-{ns}\n  labels: {{app: app-{i}}}\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {{app: app-{i}}}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n        version: v{v}\n    spec:\n      serviceAccountName: app-{i}\n      securityContext:\n        runAsNonRoot: true\n        seccompProfile: {{type: RuntimeDefault}}\n      containers:\n      - name: main\n        image: registry.example.com/app-{i}:1.{v}.0\n        ports:\n        - name: http\n          containerPort: 8080\n        env:\n        - name: MODE\n          value: production\n        - name: POD\n          valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}\n        resources:\n          requests: {{cpu: 100m, memory: 128Mi}}\n        securityContext:\n          runAsUser: {uid}\n          allowPrivilegeEscalation: false\n          capabilities: {{drop: [ALL]}}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-{i}\n  namespace: team-{ns}\nspec:\n  selector: {{app: app-{i}}}\n  ports:\n  - name: {port_name}\n    port: 80\n    targetPort: http\n",
            v = i % 4
        );
    }
    out
}

fn inputs(text: &str) -> Vec<Input> {
    vec![Input {
        path: "bench.yaml".into(),
        bytes: text.as_bytes().to_vec(),
    }]
}

fn benches(c: &mut Criterion) {
    for objects in [1_000usize, 10_000, 100_000] {
        let text = manifests(objects / 2);
        let loaded = load(
            inputs(&text),
            &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
        );

        let mut group = c.benchmark_group("pipeline");
        group.sample_size(10);
        group.throughput(Throughput::Elements(loaded.objects.len() as u64));
        group.bench_with_input(BenchmarkId::new("load", objects), &text, |b, text| {
            b.iter_batched(
                || inputs(text),
                |i| {
                    black_box(load(
                        i,
                        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
                    ))
                },
                criterion::BatchSize::LargeInput,
            );
        });
        group.bench_with_input(BenchmarkId::new("model", objects), &loaded, |b, loaded| {
            b.iter(|| {
                black_box(
                    Model::new(&loaded.objects, Settings::default())
                        .workloads
                        .len(),
                )
            });
        });
        group.bench_with_input(BenchmarkId::new("rules", objects), &loaded, |b, loaded| {
            b.iter(|| black_box(check(loaded, &CheckOptions::default()).findings.len()));
        });
        group.finish();
    }
}

criterion_group!(name = pipeline; config = Criterion::default(); targets = benches);
criterion_main!(pipeline);
