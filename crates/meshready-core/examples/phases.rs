//! Times the phases of a check (read, split, load, model, each rule, JSON) on one file, to
//! profile before optimising: `cargo run --release -p meshready-core --example phases -- FILE`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use meshready_core::source::{Input, LoadOptions, Node, Value, load, split::split_yaml};
use meshready_core::{
    CheckOptions, Model, Settings, Severity, check, output::json, rule::Ctx, rules::RULES,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// (nodes, mapping entries, string bytes) of a tree.
fn size(node: &Node, counts: &mut (usize, usize, usize)) {
    counts.0 += 1;
    match &node.value {
        Value::Str(s) => counts.2 += s.len(),
        Value::Seq(items) => items.iter().for_each(|i| size(i, counts)),
        Value::Map(entries) => entries.iter().for_each(|e| {
            counts.1 += 1;
            size(&e.value, counts);
        }),
        _ => {}
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE");
    let mut report_text = String::new();

    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("read");
    let _ = writeln!(report_text, "read   {:>10.1?}", t.elapsed());

    let t = Instant::now();
    let chunks = split_yaml(std::str::from_utf8(&bytes).expect("UTF-8"));
    let _ = writeln!(
        report_text,
        "split  {:>10.1?} ({} documents)",
        t.elapsed(),
        chunks.len()
    );

    let t = Instant::now();
    let loaded = load(
        vec![Input { path, bytes }],
        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
    );
    let _ = writeln!(
        report_text,
        "load   {:>10.1?} ({} objects)",
        t.elapsed(),
        loaded.objects.len()
    );

    let mut counts = (0, 0, 0);
    loaded
        .objects
        .iter()
        .for_each(|o| size(&o.root, &mut counts));
    let _ = writeln!(
        report_text,
        "tree   {} nodes, {} entries, {} string bytes; Node {} B, Entry {} B",
        counts.0,
        counts.1,
        counts.2,
        std::mem::size_of::<Node>(),
        std::mem::size_of::<meshready_core::source::Entry>()
    );

    let t = Instant::now();
    let model = Model::new(&loaded.objects, Settings::default());
    let _ = writeln!(report_text, "model  {:>10.1?}", t.elapsed());
    let cx = Ctx {
        model: &model,
        files: &loaded.files,
    };
    for rule in RULES {
        let t = Instant::now();
        let mut out = Vec::new();
        rule.check(&cx, &mut out);
        let _ = writeln!(
            report_text,
            "  {:<8} {:>10.1?} ({} findings)",
            rule.meta().code,
            t.elapsed(),
            out.len()
        );
    }

    let t = Instant::now();
    let report = check(&loaded, &CheckOptions::default());
    let _ = writeln!(
        report_text,
        "check  {:>10.1?} (all rules in parallel, with suppression)",
        t.elapsed()
    );

    let t = Instant::now();
    let out = json::render(&report, Severity::Info);
    let _ = writeln!(
        report_text,
        "json   {:>10.1?} ({} bytes)",
        t.elapsed(),
        out.len()
    );
    std::io::stderr().write_all(report_text.as_bytes()).ok();
}
