//! Finding the input in a repository as it is: directories are walked as ripgrep walks them
//! (hidden files and directories and `.gitignore`d paths left out, `--exclude` globs), Helm
//! chart templates are left for `helm template`, Kustomize directories are built with
//! `kubectl kustomize`, and their patches are never read as objects. Files named on the command
//! line are always read; `-` reads stdin.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use meshready_core::source::classify::{SkipReason, classify_path, has_template_actions};
use meshready_core::source::{Input, LoadError, LoadOptions, Loaded, Node, Value};

use crate::input_args::InputSettings;

/// Names of a Kustomize directory's configuration file.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What was found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Files to read (sorted by path within each argument), stdin, Kustomize builds.
    pub inputs: Vec<Input>,
    /// Files that were found but are not read as manifests, with the reason.
    pub skipped: Vec<(String, SkipReason)>,
    /// Notes for the user (a Helm chart to render, a Kustomize directory not built).
    pub notes: Vec<String>,
    /// Kustomize builds that failed.
    pub errors: Vec<LoadError>,
}

/// Discovers and loads the input: the one reader of `check` and the webhook's offline context.
///
/// # Errors
/// A path that does not exist, an unreadable file or directory, an invalid `--exclude` glob.
pub fn load(paths: &[PathBuf], settings: &InputSettings, options: &LoadOptions) -> Result<Loaded> {
    let found = discover(paths, &settings.exclude)?;
    let mut loaded = meshready_core::source::load(found.inputs, options);
    // Templates found by their content (outside a chart directory that discovery recognised).
    let templates = loaded
        .stats
        .skipped_files_by_reason
        .get(SkipReason::HelmTemplate.as_str())
        .copied()
        .unwrap_or(0);
    if templates > 0 {
        loaded.notes.push(format!(
            "{templates} {} with `{{{{ }}}}` template actions did not parse and {} not checked; check the rendered output instead (`helm template CHART | meshready check -`)",
            if templates == 1 { "file" } else { "files" },
            if templates == 1 { "was" } else { "were" },
        ));
    }
    for (_, reason) in &found.skipped {
        loaded.stats.skip_file(*reason);
    }
    loaded.errors.extend(found.errors);
    loaded.notes.extend(found.notes);
    Ok(loaded)
}

/// The inputs only (for `caps` and the webhook's offline context).
///
/// # Errors
/// As [`discover`], and a Kustomize directory that does not build.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let found = discover(paths, &[])?;
    if let Some(e) = found.errors.first() {
        bail!("{}:{}:{}: {}", e.file, e.line, e.column, e.message);
    }
    Ok(found.inputs)
}

/// Walks every path.
///
/// # Errors
/// A path that does not exist, an unreadable file or directory, an invalid `--exclude` glob.
pub fn discover(paths: &[PathBuf], exclude: &[String]) -> Result<Discovered> {
    let mut found = Discovered::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            found.inputs.push(Input {
                path: "-".into(),
                bytes,
            });
        } else if path.is_dir() {
            walk_dir(path, exclude, &mut found)?;
        } else if path.exists() {
            found.inputs.push(read(path)?);
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(found)
}

fn read(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Input {
        path: shown(path),
        bytes,
    })
}

/// A path as shown in locations: without a leading `./` (`check` with no path walks `.`).
fn shown(path: &Path) -> String {
    match path.strip_prefix(".") {
        Ok(rest) if rest.as_os_str().is_empty() => ".".into(),
        Ok(rest) => rest.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}

fn is_manifest_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

fn walk_dir(root: &Path, exclude: &[String], found: &mut Discovered) -> Result<()> {
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for glob in exclude {
        overrides
            .add(&format!("!{glob}"))
            .with_context(|| format!("invalid --exclude glob `{glob}`"))?;
    }
    let overrides = overrides.build().context("invalid --exclude globs")?;
    let walker = ignore::WalkBuilder::new(root)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .require_git(false)
        .overrides(overrides)
        .sort_by_file_name(std::cmp::Ord::cmp)
        .build();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut kustomizations: Vec<PathBuf> = Vec::new();
    let mut charts: Vec<PathBuf> = Vec::new();
    for entry in walker {
        let entry = entry.with_context(|| format!("cannot read directory {}", root.display()))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.into_path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if KUSTOMIZATION_FILES.contains(&name)
            && let Some(dir) = path.parent()
            && !kustomizations.iter().any(|k| k == dir)
        {
            kustomizations.push(dir.to_path_buf());
        }
        if name == "Chart.yaml"
            && let Some(dir) = path.parent()
        {
            charts.push(dir.to_path_buf());
        }
        if is_manifest_name(&path) || name == "Kustomization" {
            files.push(path);
        }
    }
    files.sort();
    // The deepest chart first, so that a subchart's files belong to the subchart.
    charts.sort_by_key(|c| std::cmp::Reverse(c.components().count()));
    let kustomize = Kustomize::new(&kustomizations);
    let mut templated_charts: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for file in files {
        let shown = shown(&file);
        if let Some(chart) = charts.iter().find(|c| file.starts_with(c)) {
            let rel = file.strip_prefix(chart).unwrap_or(&file);
            if rel.starts_with("crds") {
                // A chart's CRDs are plain manifests.
            } else if rel.starts_with("templates") {
                let input = read(&file)?;
                if has_template_actions(&String::from_utf8_lossy(&input.bytes)) {
                    *templated_charts.entry(chart.clone()).or_default() += 1;
                    found.skipped.push((shown, SkipReason::HelmTemplate));
                } else {
                    found.inputs.push(input);
                }
                continue;
            } else {
                let reason = classify_path(&shown).unwrap_or(SkipReason::HelmChart);
                found.skipped.push((shown, reason));
                continue;
            }
        }
        if let Some(reason) = kustomize.claims(&file) {
            found.skipped.push((shown, reason));
            continue;
        }
        found.inputs.push(read(&file)?);
    }
    for (chart, n) in templated_charts {
        let chart = shown(&chart);
        found.notes.push(format!(
            "{chart} is a Helm chart: {n} {} not checked; check the rendered chart with `helm template {chart} | meshready check -`",
            if n == 1 { "template was" } else { "templates were" }
        ));
    }
    kustomize.build(found);
    Ok(())
}

/// The Kustomize directories of a walk and the files they read.
struct Kustomize {
    /// Kustomize directories that no other one uses as a base or component: the ones to build.
    roots: Vec<PathBuf>,
    /// Every Kustomize directory (canonical).
    dirs: HashSet<PathBuf>,
    /// Files that a kustomization names (canonical): resources, patches, generator inputs.
    inputs: HashSet<PathBuf>,
}

impl Kustomize {
    fn new(kustomizations: &[PathBuf]) -> Self {
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let dirs: HashSet<PathBuf> = kustomizations.iter().map(|k| canonical(k)).collect();
        let mut inputs = HashSet::new();
        let mut referenced = HashSet::new();
        for dir in kustomizations {
            let Some(config) = KUSTOMIZATION_FILES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
            else {
                continue;
            };
            let Ok(text) = std::fs::read_to_string(&config) else {
                continue;
            };
            let Ok(parsed) = meshready_core::source::yaml::parse_document(
                &text,
                1,
                meshready_core::source::yaml::Limits::default(),
            ) else {
                continue;
            };
            // Directories are bases or components only where a kustomization lists them.
            let mut bases = Vec::new();
            let mut strings = Vec::new();
            for entry in parsed.root.as_ref().map(Node::entries).unwrap_or_default() {
                if matches!(&*entry.key, "resources" | "bases" | "components") {
                    collect_strings(&entry.value, &mut bases);
                }
                collect_strings(&entry.value, &mut strings);
            }
            for s in bases {
                let target = dir.join(s.trim());
                if target.is_dir() {
                    referenced.insert(canonical(&target));
                }
            }
            for s in strings {
                // Generators name files as `key=path`; remote bases are URLs.
                let s = s.rsplit_once('=').map_or(s.as_str(), |(_, p)| p).trim();
                if s.is_empty() || s.contains("://") || s.contains('?') || s.contains('\n') {
                    continue;
                }
                let target = dir.join(s);
                if target.is_file() {
                    inputs.insert(canonical(&target));
                }
            }
        }
        let roots = kustomizations
            .iter()
            .filter(|k| !referenced.contains(&canonical(k)))
            .cloned()
            .collect();
        Self {
            roots,
            dirs,
            inputs,
        }
    }

    /// Why a file is not read by itself: it is a kustomization, lies in a Kustomize directory,
    /// or a kustomization names it.
    fn claims(&self, file: &Path) -> Option<SkipReason> {
        if self.dirs.is_empty() {
            return None;
        }
        let canonical = file.canonicalize().ok()?;
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if KUSTOMIZATION_FILES.contains(&name) {
            return Some(SkipReason::Kustomization);
        }
        let in_dir = canonical.parent().is_some_and(|d| self.dirs.contains(d));
        (in_dir || self.inputs.contains(&canonical)).then_some(SkipReason::KustomizeInput)
    }

    /// Builds every root with `kubectl kustomize`, or notes why not.
    fn build(self, found: &mut Discovered) {
        for dir in self.roots {
            let shown = shown(&dir);
            match std::process::Command::new("kubectl")
                .arg("kustomize")
                .arg(&dir)
                .stdin(std::process::Stdio::null())
                .output()
            {
                Ok(out) if out.status.success() => {
                    let path = format!("{shown}/<kustomize build>");
                    found.notes.push(format!(
                        "built the Kustomize directory {shown} with `kubectl kustomize`; its findings point into the built output, {path}"
                    ));
                    found.inputs.push(Input {
                        path,
                        bytes: out.stdout,
                    });
                }
                Ok(out) => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let last = stderr.trim().lines().last().unwrap_or("no output").trim();
                    // kubectl logs through klog: keep the error, not the log prefix.
                    let reason = last
                        .split_once("err=\"")
                        .map_or(last, |(_, e)| e.strip_suffix('"').unwrap_or(e));
                    let config = KUSTOMIZATION_FILES
                        .iter()
                        .map(|n| dir.join(n))
                        .find(|p| p.is_file())
                        .unwrap_or_else(|| dir.join("kustomization.yaml"));
                    found.errors.push(LoadError {
                        file: self::shown(&config),
                        line: 1,
                        column: 1,
                        message: format!("`kubectl kustomize {shown}` failed: {reason}"),
                    });
                }
                Err(e) => {
                    let why = if e.kind() == std::io::ErrorKind::NotFound {
                        "kubectl is not on the PATH".to_string()
                    } else {
                        format!("kubectl could not run ({e})")
                    };
                    found.notes.push(format!(
                        "{why}: the Kustomize directory {shown} was not built and its files were not checked; check it with `kubectl kustomize {shown} | meshready check -`"
                    ));
                }
            }
        }
    }
}

/// Every string scalar of a tree.
fn collect_strings(node: &Node, out: &mut Vec<String>) {
    match &node.value {
        Value::Str(s) => out.push(s.to_string()),
        Value::Seq(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Value::Map(entries) => entries.iter().for_each(|e| collect_strings(&e.value, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";

    fn by_reason(found: &Discovered) -> BTreeMap<SkipReason, BTreeSet<String>> {
        let mut out: BTreeMap<SkipReason, BTreeSet<String>> = BTreeMap::new();
        for (path, reason) in &found.skipped {
            out.entry(*reason).or_default().insert(path.clone());
        }
        out
    }

    #[test]
    fn hidden_ignored_excluded_and_chart_files_are_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                ("app/pod.yaml", POD),
                (".hidden/pod.yaml", POD),
                (".gitignore", "build/\n"),
                ("build/pod.yaml", POD),
                ("vendor/pod.yaml", POD),
                ("chart/Chart.yaml", "apiVersion: v2\nname: c\n"),
                ("chart/values.yaml", "a: 1\n"),
                (
                    "chart/templates/pod.yaml",
                    "metadata: {name: {{ .Release.Name }}}\n",
                ),
                ("chart/templates/plain.yaml", POD),
                ("chart/crds/crd.yaml", POD),
                ("README.md", "# no\n"),
            ],
        );
        let found = discover(&[root.to_path_buf()], &["vendor/".into()]).unwrap();
        let read: Vec<String> = found
            .inputs
            .iter()
            .map(|i| {
                Path::new(&i.path)
                    .strip_prefix(root)
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        assert_eq!(
            read,
            [
                "app/pod.yaml",
                "chart/crds/crd.yaml",
                "chart/templates/plain.yaml"
            ]
        );
        let reasons: Vec<(SkipReason, usize)> = by_reason(&found)
            .iter()
            .map(|(r, f)| (*r, f.len()))
            .collect();
        assert_eq!(
            reasons,
            [
                (SkipReason::HelmChart, 1),
                (SkipReason::HelmValues, 1),
                (SkipReason::HelmTemplate, 1)
            ]
        );
        assert_eq!(found.notes.len(), 1);
        assert!(
            found.notes[0].contains("helm template"),
            "{}",
            found.notes[0]
        );
        // A file named on the command line is read even when hidden.
        let hidden = root.join(".hidden/pod.yaml");
        assert_eq!(discover(&[hidden], &[]).unwrap().inputs.len(), 1);
    }
}
