//! Reads a cluster once, then runs the final check on its snapshot many times and prints the
//! time of each: a harness for the part of `meshready cluster` that comes after the read
//! (the core's model and rules on tens of thousands of objects).
//!
//! ```console
//! $ cargo run --release -p meshready-cluster --example fake_apiserver -- --pods 150000 --kubeconfig /tmp/kc &
//! $ cargo run --release -p meshready-cluster --example check_snapshot -- /tmp/kc 20
//! ```

#![allow(clippy::print_stdout)]

use std::time::Instant;

use meshready_cluster::{Options, check, client, into_loaded, read};
use meshready_core::settings::CheckOptions;

/// The binary's allocator, so that the times are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: check_snapshot KUBECONFIG [TIMES]";
    let kubeconfig = args.next().ok_or(usage)?;
    let times: u32 = args.next().map_or(Ok(10), |t| t.parse())?.max(1);
    let options = Options {
        kubeconfig: Some(kubeconfig.into()),
        all_namespaces: true,
        ..Options::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let snapshot = runtime.block_on(async {
        let client = client(&options).await?;
        read(client, &options, &|_| {}).await
    })?;
    let loaded = into_loaded(snapshot);
    let check_options = CheckOptions::default();
    let mut times_ms = Vec::new();
    let mut findings = 0;
    for _ in 0..times {
        let start = Instant::now();
        let report = check(&loaded, &check_options);
        times_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        findings = report.findings.len();
        std::mem::forget(report);
    }
    times_ms.sort_by(f64::total_cmp);
    println!(
        "{} objects, {findings} findings: check min {:.1} ms, median {:.1} ms, max {:.1} ms",
        loaded.objects.len(),
        times_ms[0],
        times_ms[times_ms.len() / 2],
        times_ms[times_ms.len() - 1]
    );
    Ok(())
}
