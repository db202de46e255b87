//! `meshready cluster`: the same checks as `meshready check`, on a live cluster, read through
//! kube-rs with read-only, paginated lists of exactly the kinds the rules need.
//!
//! [`read::read`] takes the snapshot (async, under a global timeout); [`loaded`] turns it into
//! the core's [`Loaded`] input; [`manifests::write`] writes it as a multi-document YAML that
//! `meshready check --live` reads back; [`facts`] reports what the running pods reveal.

#![forbid(unsafe_code)]

pub mod error;
pub mod facts;
pub mod http;
pub mod kinds;
pub mod limit;
pub mod manifests;
pub mod pieces;
pub mod read;
pub mod reduce;
pub mod scan;

use meshready_core::source::{Loaded, Object};
use meshready_core::{CheckOptions, LoadError, Report, Settings};

pub use error::{Error, Result};
pub use http::Retry;
pub use limit::Rate;
pub use read::{Forbidden, Options, Progress, Scope, Snapshot, client, read};

/// The pseudo file name that errors about cluster objects carry.
pub const CLUSTER_SOURCE: &str = "<cluster>";

/// Turns a snapshot into the core's input (a copy; see [`into_loaded`]).
#[must_use]
pub fn loaded(snapshot: &Snapshot) -> Loaded {
    into_loaded(snapshot.clone())
}

/// Turns a snapshot into the core's input: its objects, in reading order, with no source file
/// (findings have no location, only a path).
#[must_use]
pub fn into_loaded(snapshot: Snapshot) -> Loaded {
    let mut loaded = Loaded::default();
    let objects: usize = snapshot.objects.iter().map(Object::count).sum();
    loaded.stats.documents = objects + snapshot.invalid.len();
    loaded.stats.objects = objects;
    loaded.stats.invalid_documents = snapshot.invalid.len();
    loaded.objects = snapshot.objects;
    loaded.errors = snapshot
        .invalid
        .into_iter()
        .map(|message| LoadError {
            file: CLUSTER_SOURCE.into(),
            line: 0,
            column: 0,
            message,
        })
        .collect();
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
