//! meshready's pure core: the loader with positions, the mesh model, the rules, findings and
//! output formats. No I/O beyond what the caller hands in, no async, no printing.

#![forbid(unsafe_code)]

pub mod admission;
pub mod caps;
pub mod finding;
pub mod istio;
pub mod kinds;
pub mod model;
pub mod output;
pub mod psa;
pub mod rule;
pub mod rules;
pub mod settings;
pub mod source;
pub mod suppress;
mod suppressed;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

pub use finding::{Finding, Location, ObjectRef, Severity};
pub use model::Model;
pub use settings::{MeshMode, Settings};
pub use source::{LoadError, LoadOptions, Loaded};

/// How to run the rules.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Model settings (`--mesh`, live cluster).
    pub settings: Settings,
    /// `--suppress` patterns.
    pub suppress: Vec<suppress::Pattern>,
    /// Whether `meshready.io/ignore` and `galley.istio.io/analyze-suppress` annotations count.
    pub annotation_suppression: bool,
    /// Per-rule severity by code (`.meshready.yaml` `rules:`): `Some` changes the severity,
    /// `None` turns the rule off.
    pub severity_overrides: std::collections::HashMap<String, Option<Severity>>,
    /// Per-object ignores (`.meshready.yaml` `ignore:`).
    pub ignores: Vec<suppress::Ignore>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            suppress: Vec::new(),
            annotation_suppression: true,
            severity_overrides: std::collections::HashMap::new(),
            ignores: Vec::new(),
        }
    }
}

/// Findings by severity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Errors.
    pub error: usize,
    /// Warnings.
    pub warning: usize,
    /// Infos.
    pub info: usize,
}

/// The closing summary. The counts reconcile: `documents` = (`objects` − `list_items`) +
/// `lists` + `invalid_documents`; `objects` = `analysed` + `skipped`; `invalid` =
/// `invalid_documents` + `invalid_items` = the number of `errors` that are not whole files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Non-empty YAML/JSON documents.
    pub documents: usize,
    /// Documents that were `List`s (their items count as objects).
    pub lists: usize,
    /// Objects that came from `List` items.
    pub list_items: usize,
    /// Kubernetes objects read.
    pub objects: usize,
    /// Objects of kinds the rules read.
    pub analysed: usize,
    /// Objects of other kinds (CRDs, ConfigMaps, ...), counted and skipped.
    pub skipped: usize,
    /// Skipped objects by kind.
    pub skipped_kinds: BTreeMap<String, usize>,
    /// Workloads (objects that make pods, not owned by another workload of the input).
    pub workloads: usize,
    /// Workloads whose pods get a sidecar.
    pub in_mesh: usize,
    /// Documents or List items that could not be read (see `errors`).
    pub invalid: usize,
    /// Documents that could not be read.
    pub invalid_documents: usize,
    /// List items that could not be read.
    pub invalid_items: usize,
    /// Findings by severity (after suppression, before `--output-threshold`).
    pub findings: SeverityCounts,
    /// Findings removed by suppressions.
    pub suppressed: usize,
    /// The Istio version the model assumed (`1.31`).
    pub istio_version: String,
    /// Why that version (`--istio-version`, the istiod image in the input, or the default).
    pub istio_version_source: String,
    /// The Kubernetes version the model assumed (`1.37`).
    pub kubernetes_version: String,
    /// Whether the injected `istio-proxy` is a native sidecar (unless a pod says otherwise).
    pub native_sidecars: bool,
}

/// The result of a check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Findings, sorted by location.
    pub findings: Vec<Finding>,
    /// Inputs that could not be analysed.
    pub errors: Vec<LoadError>,
    /// Counts.
    pub summary: Summary,
}

/// Exit status shared by every output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// No finding at or above the failure threshold, and every input was read.
    Clean = 0,
    /// Findings at or above the failure threshold.
    Findings = 1,
    /// Input that could not be read or parsed (or a usage error).
    Error = 2,
}

impl Report {
    /// The exit status for a failure threshold (`None`: findings never fail).
    #[must_use]
    pub fn exit_status(&self, failure_threshold: Option<Severity>) -> ExitStatus {
        if !self.errors.is_empty() {
            ExitStatus::Error
        } else if failure_threshold.is_some_and(|t| self.findings.iter().any(|f| f.severity >= t)) {
            ExitStatus::Findings
        } else {
            ExitStatus::Clean
        }
    }
}

/// Runs every rule over loaded input.
#[must_use]
pub fn check(loaded: &Loaded, options: &CheckOptions) -> Report {
    let model = Model::new(&loaded.objects, options.settings.clone());
    let cx = rule::Ctx {
        model: &model,
        files: &loaded.files,
    };
    let mut findings: Vec<Finding> = rules::RULES
        .par_iter()
        .filter(|rule| options.severity_overrides.get(rule.meta().code) != Some(&None))
        .flat_map_iter(|rule| {
            let mut out = Vec::new();
            rule.check(&cx, &mut out);
            out
        })
        .collect();
    for f in &mut findings {
        if let Some(Some(severity)) = options.severity_overrides.get(&f.code) {
            f.severity = *severity;
        }
    }
    let before = findings.len();
    let unused = suppressed::apply(loaded, &cx, options, &mut findings);
    let suppressed = before - findings.len();
    findings.extend(unused);
    if options.settings.live {
        // IST0103 counts the pods missing the proxy itself; MR0030 is about a suppression.
        model::owners::annotate_pod_counts(&loaded.objects, &mut findings, &["IST0103", "MR0030"]);
    }
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup();
    let mut summary = Summary {
        files: loaded.stats.files,
        documents: loaded.stats.documents,
        lists: loaded.stats.lists,
        objects: loaded.stats.objects,
        list_items: loaded.stats.list_items,
        invalid: loaded.stats.invalid_documents + loaded.stats.invalid_items,
        invalid_documents: loaded.stats.invalid_documents,
        invalid_items: loaded.stats.invalid_items,
        workloads: model.workloads.len(),
        in_mesh: model.meshed().count(),
        suppressed,
        istio_version: format!("1.{}", model.inject.istio_version),
        istio_version_source: model.inject.istio_version_source.clone(),
        kubernetes_version: format!("1.{}", model.inject.kubernetes_version),
        native_sidecars: model.inject.native_sidecars,
        ..Summary::default()
    };
    for object in &loaded.objects {
        if kinds::is_known_object(object) {
            summary.analysed += 1;
        } else {
            summary.skipped += 1;
            *summary
                .skipped_kinds
                .entry(object.kind.clone())
                .or_default() += 1;
        }
    }
    for f in &findings {
        match f.severity {
            Severity::Error => summary.findings.error += 1,
            Severity::Warning => summary.findings.warning += 1,
            Severity::Info => summary.findings.info += 1,
        }
    }
    Report {
        findings,
        errors: loaded.errors.clone(),
        summary,
    }
}
