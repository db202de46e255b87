//! `meshready cluster`: the same checks as `meshready check`, on a live cluster, read through
//! kube-rs with read-only, paginated lists of exactly the kinds the rules need.
//!
//! [`read::read`] takes the snapshot (async, under a global timeout); [`loaded`] turns it into
//! the core's [`Loaded`] input; [`manifests::write`] writes it as a multi-document YAML that
//! `meshready check --live` reads back; [`facts`] reports what the running pods reveal.

#![forbid(unsafe_code)]

pub mod error;
pub mod facts;
pub mod kinds;
pub mod manifests;
pub mod read;

use meshready_core::source::{LoadOptions, Loaded, object_from_json};
use meshready_core::{CheckOptions, LoadError, Report, Settings};

pub use error::{Error, Result};
pub use read::{Forbidden, Options, Progress, Scope, Snapshot, client, read};

/// The pseudo file name that errors about cluster objects carry.
pub const CLUSTER_SOURCE: &str = "<cluster>";

/// Turns a snapshot into the core's input: one object per API object, in reading order, with
/// no source file (findings have no location, only a path).
#[must_use]
pub fn loaded(snapshot: &Snapshot) -> Loaded {
    let options = LoadOptions::default();
    let mut loaded = Loaded::default();
    for value in &snapshot.objects {
        loaded.stats.documents += 1;
        match object_from_json(value, &options) {
            Ok(object) => {
                loaded.stats.objects += 1;
                loaded.objects.push(object);
            }
            Err(message) => {
                loaded.stats.invalid_documents += 1;
                loaded.errors.push(LoadError {
                    file: CLUSTER_SOURCE.into(),
                    line: 0,
                    column: 0,
                    message: format!("{}: {message}", describe(value)),
                });
            }
        }
    }
    loaded
}

/// Runs the core's rules on a snapshot, as a live cluster (`Settings::live`).
#[must_use]
pub fn check(loaded: &Loaded, options: &CheckOptions) -> Report {
    let options = CheckOptions {
        settings: Settings {
            live: true,
            ..options.settings.clone()
        },
        ..options.clone()
    };
    meshready_core::check(loaded, &options)
}

/// `Kind namespace/name` of a raw API object, for messages.
fn describe(value: &serde_json::Value) -> String {
    let kind = value["kind"].as_str().unwrap_or("object");
    let name = value["metadata"]["name"].as_str().unwrap_or("<unnamed>");
    match value["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}
