//! meshready's pure core: the loader with positions, the mesh model, the rules, findings and
//! output formats. No I/O beyond what the caller hands in, no async, no printing.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
// Rule docs are also Markdown pages (docs/rules, `meshready explain`), where bare URLs read best.
#![allow(rustdoc::bare_urls)]

pub mod admission;
pub mod caps;
pub(crate) mod finding;
pub mod istio;

pub mod model;
pub mod output;
pub mod psa;
pub mod rule;
pub mod rules;
pub(crate) mod scope;
pub mod settings;
pub mod source;
pub mod suppress;
mod suppressed;

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

pub use finding::{Finding, Location, ObjectRef, Severity};
pub use model::Model;
pub use settings::{CheckOptions, MeshMode, Scope, Settings};
pub use source::{LoadError, LoadOptions, Loaded};

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

/// The closing summary. The counts reconcile: every input file is either read (`files`) or
/// skipped (`skipped_files` = the sum of `skipped_files_by_reason`; their documents are not
/// counted); `documents` = (`objects` − `list_items`) + `lists` + `invalid_documents`;
/// `objects` = `analysed` + `skipped`; `invalid` = `invalid_documents` + `invalid_items` = the
/// number of `errors` that are not whole files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Files not analysed because they are not Kubernetes manifests (Helm values, CI
    /// workflows, ...).
    pub skipped_files: usize,
    /// Skipped files by reason (`helm-values`, `not-kubernetes`, ...).
    pub skipped_files_by_reason: BTreeMap<String, usize>,
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
    /// Workloads: the pod templates of objects that make pods and are not owned by another
    /// workload of the input (an object with several templates, a RayCluster, counts each).
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
    /// Notes about inputs that were not checked as they are (a Helm chart to render, a
    /// Kustomize directory).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The config file the options came from (`None`: none was read). Set by the caller.
    pub config: Option<String>,
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

/// Repeats each finding about an object that stands for copies ([`source::Object::copies`])
/// for every copy, under its name, as if each were an object of its own.
fn expand_copies(objects: &[source::Object], findings: &mut Vec<Finding>) {
    let grouped: rustc_hash::FxHashMap<(&str, &str, &str), &[String]> = objects
        .iter()
        .filter(|o| !o.copies.is_empty())
        .map(|o| {
            (
                (o.kind.as_str(), o.namespace.as_str(), o.name.as_str()),
                o.copies.as_slice(),
            )
        })
        .collect();
    if grouped.is_empty() {
        return;
    }
    let mut more = Vec::new();
    for f in findings.iter() {
        let key = (
            f.object.kind.as_str(),
            f.object.namespace.as_str(),
            f.object.name.as_str(),
        );
        let Some(copies) = grouped.get(&key) else {
            continue;
        };
        more.reserve(copies.len());
        for name in *copies {
            // The name as the message and the fix quote it (`shop/web-1-abcde`).
            more.push(Finding {
                code: f.code,
                name: f.name,
                severity: f.severity,
                message: f.message.replace(&f.object.name, name),
                fix: f.fix.replace(&f.object.name, name),
                object: ObjectRef {
                    kind: f.object.kind.clone(),
                    namespace: f.object.namespace.clone(),
                    name: name.clone(),
                },
                path: f.path.clone(),
                location: f.location.clone(),
                pods: f.pods,
            });
        }
    }
    findings.extend(more);
}

/// Sorts findings by [`Finding::sort_key`], stably. The indices are sorted, not the findings:
/// a finding is a few hundred bytes, which a merge sort would move many times each.
fn sort_findings(findings: &mut Vec<Finding>) {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| findings[a].sort_key().cmp(&findings[b].sort_key()));
    let mut slots: Vec<Option<Finding>> = findings.drain(..).map(Some).collect();
    findings.extend(order.into_iter().filter_map(|i| slots[i].take()));
}

/// Runs every rule over loaded input, over the whole input or per file or directory
/// ([`CheckOptions::scope`]).
#[must_use]
pub fn check(loaded: &Loaded, options: &CheckOptions) -> Report {
    let mut counts = Counts::default();
    // The objects by (kind, namespace, name) and their suppression annotations, once for the
    // rules, the suppressions and the pod counts.
    let indexes = model::Indexes::new(&loaded.objects);
    let mut findings = match scope::partitions(loaded, options.scope) {
        None => run_rules(
            &loaded.objects,
            Some(&indexes),
            loaded,
            options,
            &mut counts,
        ),
        Some(parts) => {
            let mut findings = Vec::new();
            for part in parts {
                let objects: Vec<source::Object> =
                    part.iter().map(|&i| loaded.objects[i].clone()).collect();
                findings.extend(run_rules(&objects, None, loaded, options, &mut counts));
            }
            findings
        }
    };
    // The injection configuration the (first) model resolved, for the summary (with no part to
    // check, the one the settings alone give).
    let inject = counts
        .inject
        .unwrap_or_else(|| Model::new(&[], options.settings.clone()).inject);
    for f in &mut findings {
        if let Some(settings::RuleSetting::Severity(severity)) = options.rule_settings.get(f.code) {
            f.severity = *severity;
        }
    }
    let before = findings.len();
    // Suppressions hold for the whole input, whatever the scope.
    let unused = suppressed::apply(loaded, &indexes, options, &mut findings);
    let suppressed = before - findings.len();
    findings.extend(unused);
    expand_copies(&loaded.objects, &mut findings);
    if options.settings.live {
        model::owners::annotate_pod_counts(&indexes.owners, &mut findings);
    }
    sort_findings(&mut findings);
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
        workloads: counts.workloads,
        in_mesh: counts.in_mesh,
        suppressed,
        skipped_files: loaded.stats.skipped_files,
        skipped_files_by_reason: loaded.stats.skipped_files_by_reason.clone(),
        notes: loaded.notes.clone(),
        istio_version: format!("1.{}", inject.istio_version),
        istio_version_source: inject.istio_version_source.clone(),
        kubernetes_version: format!("1.{}", inject.kubernetes_version),
        native_sidecars: inject.native_sidecars,
        ..Summary::default()
    };
    for object in &loaded.objects {
        if source::kinds::is_known_object(object) {
            summary.analysed += object.count();
        } else {
            summary.skipped += object.count();
            *summary
                .skipped_kinds
                .entry(object.kind.clone())
                .or_default() += object.count();
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

/// What the models of the partitions add up to, for the summary.
#[derive(Default)]
struct Counts {
    workloads: usize,
    in_mesh: usize,
    /// The injection configuration of the first partition's model.
    inject: Option<model::injector::InjectConfig>,
}

/// Runs the rules on one set of objects that may relate to each other.
/// `indexes`: those of `objects` worked out by [`check`], when they are its input.
fn run_rules<'a>(
    objects: &'a [source::Object],
    indexes: Option<&'a model::Indexes<'a>>,
    loaded: &Loaded,
    options: &CheckOptions,
    counts: &mut Counts,
) -> Vec<Finding> {
    let mut model = Model::new(objects, options.settings.clone());
    if let Some(indexes) = indexes {
        model = model.with_indexes(indexes);
    }
    if counts.inject.is_none() {
        counts.inject = Some(model.inject.clone());
    }
    counts.workloads += model.workloads.len();
    // In the mesh: with a sidecar, or captured by ztunnel (ambient).
    counts.in_mesh += model
        .membership
        .iter()
        .filter(|m| m.has_sidecar() || **m == model::Membership::Ambient)
        .count();
    let cx = rule::Ctx {
        model: &model,
        files: &loaded.files,
    };
    rules::RULES
        .par_iter()
        .filter(|rule| {
            options.rule_settings.get(rule.meta().code) != Some(&settings::RuleSetting::Off)
        })
        .flat_map_iter(|rule| {
            let mut out = Vec::new();
            rule.check(&cx, &mut out);
            out
        })
        .collect()
}
