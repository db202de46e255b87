//! Times the phases of a check (read, load, model + rules, JSON) on one file: `cargo run
//! --release -p meshready-core --example phases -- FILE`.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use meshready_core::source::{Input, LoadOptions, load};
use meshready_core::{CheckOptions, Severity, check, output::json};

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE");
    let t = Instant::now();
    let bytes = std::fs::read(&path).expect("read");
    let read = t.elapsed();
    let t = Instant::now();
    let loaded = load(vec![Input { path, bytes }], &LoadOptions::default());
    let loading = t.elapsed();
    let t = Instant::now();
    let report = check(&loaded, &CheckOptions::default());
    let checking = t.elapsed();
    let t = Instant::now();
    let out = json::render(&report, Severity::Info);
    let rendering = t.elapsed();
    let line = format!(
        "read {read:?}, load {loading:?}, check {checking:?}, json {rendering:?} ({} bytes, {} objects, {} findings)",
        out.len(),
        report.summary.objects,
        report.findings.len()
    );
    std::io::Write::write_all(&mut std::io::stderr(), format!("{line}\n").as_bytes()).ok();
}
