//! Reduces saved list pages (as `meshready cluster` reads them) many times and prints the time
//! per page: a harness for profiling the reductions, under `perf` or callgrind.
//!
//! ```console
//! $ curl -s -H 'Authorization: Bearer fake-token' "$SERVER/api/v1/pods?limit=500" > pods.json
//! $ cargo run --release -p meshready-cluster --example reduce_pages -- Pod pods.json 100
//! ```
//!
//! The kind is `Pod` (grouped by ReplicaSet, as `cluster` reads them with the workloads),
//! `ReplicaSet` (those whose controller the page names are owned: reduced) or any other
//! (parsed into the core's nodes, typed, then converted to its objects, as `cluster` does).

#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::time::Instant;

use meshready_cluster::reduce::{
    Grouping, PodGroups, Status, item_nodes, items, pod_items, replica_set_items, set_type,
};
use meshready_core::source::{LoadOptions, object_from_node};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: reduce_pages KIND PAGE.json [TIMES]";
    let kind = args.next().ok_or(usage)?;
    let page = std::fs::read(args.next().ok_or(usage)?)?;
    let times: u32 = args.next().map_or(Ok(20), |t| t.parse())?;
    let options = LoadOptions::default();
    // Every controller the page's items name, as if the snapshot held them all.
    let mut controllers = HashSet::new();
    for item in items(&page, Status::Skip)? {
        let namespace = item["metadata"]["namespace"].as_str().unwrap_or_default();
        for owner in item["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let (Some(kind), Some(name)) = (owner["kind"].as_str(), owner["name"].as_str()) {
                controllers.insert((kind.to_string(), namespace.to_string(), name.to_string()));
            }
        }
    }
    let owners = Grouping::Present(controllers);
    // The list's apiVersion, which its items lack.
    let api_version = serde_json::from_slice::<serde_json::Value>(&page)?["apiVersion"]
        .as_str()
        .unwrap_or("v1")
        .to_string();
    // In pieces of 256 KiB, about as the HTTP client hands a page over.
    let pieces: Vec<&[u8]> = page.chunks(256 << 10).collect();
    let start = Instant::now();
    let mut read = 0;
    for _ in 0..times {
        read += match kind.as_str() {
            "Pod" => {
                let grouping = Grouping::Kinds(HashSet::from(["ReplicaSet".to_string()]));
                let mut groups = PodGroups::default();
                let whole = pod_items(&pieces, &grouping, &mut groups)?;
                whole.len() + groups.pods()
            }
            "ReplicaSet" => replica_set_items(&pieces, &owners, "apps/v1", &kind)?.len(),
            _ => {
                let nodes = item_nodes(&page, Status::of(&kind))?;
                let count = nodes.len();
                for mut node in nodes {
                    set_type(&mut node, &api_version, &kind);
                    std::hint::black_box(object_from_node(node, &options)).ok();
                }
                count
            }
        };
    }
    println!(
        "{kind}: {} items per page, {:?} per page",
        read / times as usize,
        start.elapsed() / times
    );
    Ok(())
}
