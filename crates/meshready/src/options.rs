//! The one options resolver: command-line flags, then the config file, then the defaults, into
//! the settings every command (`check`, `cluster`, `webhook`, `caps`) runs with.
//!
//! Each command used to merge its flags with `.meshready.yaml` its own way, and they disagreed
//! (issue 11). Now a command hands its flags here and gets one [`Resolved`] value back; a flag
//! that exists on two commands means the same thing on both, and a config key reaches every
//! command that has the matching flag.
//!
//! The config file is found upward from the first checked path (as ruff and clippy do), or from
//! the working directory when the command reads no paths (`cluster`, `webhook`, `-`);
//! `--config` names one, `--no-config` reads none. [`Resolved::config`] says which file was used,
//! and the summary of every report repeats it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use meshready_core::CheckOptions;
use meshready_core::rules::find;
use meshready_core::settings::{AdmissionSettings, Settings};
use meshready_core::suppress::Pattern;

use crate::args::{IstioCni, Mesh, ReportArgs, RuleArgs, Threshold};
use crate::config::{self, Config};

/// Everything a command needs to know, resolved once.
#[derive(Debug)]
pub struct Resolved {
    /// The config file that was read, as shown to the user (`None`: none).
    pub config_path: Option<String>,
    /// The parsed config file (empty when none was read), for command-specific keys.
    pub config: Config,
    /// How to build the model and run the rules.
    pub check: CheckOptions,
    /// Namespace of objects that name none.
    pub default_namespace: String,
    /// Findings below this severity are not shown.
    pub output_threshold: Threshold,
    /// Findings at or above this severity make the exit code 1.
    pub failure_threshold: Threshold,
    /// The webhook denies requests with a finding at or above this severity.
    pub deny_threshold: Threshold,
}

/// Where a command's input comes from: the config file is looked for upward from there.
#[derive(Debug, Clone, Copy)]
pub enum Anchor<'p> {
    /// The checked paths; the first decides (`-` means the working directory).
    Paths(&'p [PathBuf]),
    /// No paths (a live cluster, the webhook): the working directory.
    WorkingDirectory,
}

/// Resolves a command's flags against the config file and the defaults.
///
/// # Errors
/// A config file that cannot be read or is invalid, and a `--suppress` pattern that is
/// malformed or names no rule: usage errors (exit 2), whatever the input.
pub fn resolve(
    rules: &RuleArgs,
    report: Option<&ReportArgs>,
    anchor: Anchor<'_>,
    live: bool,
) -> Result<Resolved> {
    let (config_path, config) = load_config(rules, anchor)?;
    let suppress = rules
        .suppress
        .iter()
        .map(|s| parse_suppression(s))
        .collect::<Result<Vec<_>>>()?;
    let mesh = rules.mesh.or(config.mesh).unwrap_or(Mesh::Auto);
    let check = CheckOptions {
        settings: Settings {
            mesh: mesh.into(),
            live,
            admission: AdmissionSettings {
                cni: rules
                    .istio_cni
                    .or(config.istio_cni)
                    .unwrap_or(IstioCni::Auto)
                    .into(),
                pod_security: rules.pod_security.or(config.pod_security),
            },
            inject: rules.istio.inject_settings(&config),
        },
        suppress,
        annotation_suppression: !(rules.disallow_annotation_suppression
            || config.disallow_annotation_suppression.unwrap_or(false)),
        rule_settings: config.rule_settings.clone(),
        ignores: config.ignores.clone(),
        ..CheckOptions::default()
    };
    Ok(Resolved {
        default_namespace: rules
            .default_namespace
            .clone()
            .or_else(|| config.default_namespace.clone())
            .unwrap_or_else(|| "default".into()),
        output_threshold: report
            .and_then(|r| r.output_threshold)
            .or(config.output_threshold)
            .unwrap_or(Threshold::Info),
        failure_threshold: report
            .and_then(|r| r.failure_threshold)
            .or(config.failure_threshold)
            .unwrap_or(Threshold::Error),
        deny_threshold: config.deny_threshold.unwrap_or(Threshold::Never),
        check,
        config_path,
        config,
    })
}

/// A `--suppress` value: istioctl's shape, and a code (or glob) that names at least one rule —
/// the same check, and the same words, as a code in the config file.
fn parse_suppression(text: &str) -> Result<Pattern> {
    let pattern = Pattern::parse(text)?;
    let names_a_rule = meshready_core::rules::RULES.iter().any(|r| {
        let meta = r.meta();
        meshready_core::suppress::glob(&pattern.code, meta.code)
            || meshready_core::suppress::glob(&pattern.code, meta.name)
    });
    if !names_a_rule {
        anyhow::bail!(
            "--suppress {text:?}: {}",
            config::unknown_rule_message(&pattern.code)
        );
    }
    debug_assert!(pattern.code.contains('*') || find(&pattern.code).is_some());
    Ok(pattern)
}

/// Reads the config file the flags ask for, or discovers one from the anchor.
fn load_config(rules: &RuleArgs, anchor: Anchor<'_>) -> Result<(Option<String>, Config)> {
    if rules.no_config {
        return Ok((None, Config::default()));
    }
    let (path, shown) = if let Some(path) = &rules.config {
        (path.clone(), path.display().to_string())
    } else {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        let start = match anchor {
            Anchor::Paths(paths) => paths
                .first()
                .filter(|p| p.as_os_str() != "-")
                .map_or_else(|| cwd.clone(), |p| start_dir(&cwd, p)),
            Anchor::WorkingDirectory => cwd.clone(),
        };
        match discover(&start, &cwd) {
            Some(found) => found,
            None => return Ok((None, Config::default())),
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read config file {shown}"))?;
    Ok((Some(shown.clone()), config::parse(&shown, &text)?))
}

/// The directory to start looking from: the path itself if it is a directory, else its parent.
fn start_dir(cwd: &Path, path: &Path) -> PathBuf {
    let absolute = cwd.join(path);
    if absolute.is_dir() {
        absolute
    } else {
        absolute
            .parent()
            .map_or_else(|| cwd.to_path_buf(), Path::to_path_buf)
    }
}

/// Finds `.meshready.yaml` in `start` or its nearest ancestor. Returns the path to read and the
/// path to show: relative to `cwd` when it is below it (`.meshready.yaml`,
/// `k8s/.meshready.yaml`), with `../` steps when it is above, else absolute.
#[must_use]
pub fn discover(start: &Path, cwd: &Path) -> Option<(PathBuf, String)> {
    start.ancestors().find_map(|dir| {
        let path = dir.join(config::FILE_NAME);
        path.is_file().then(|| {
            let shown = shown_path(&path, cwd);
            (path, shown)
        })
    })
}

fn shown_path(path: &Path, cwd: &Path) -> String {
    let clean = normalize(path);
    let cwd = normalize(cwd);
    if let Ok(rel) = clean.strip_prefix(&cwd) {
        return rel.display().to_string();
    }
    if let Some((depth, ancestor)) = cwd
        .ancestors()
        .enumerate()
        .find(|(_, a)| clean.starts_with(a))
        .filter(|(depth, _)| *depth <= 8)
    {
        let rest = clean.strip_prefix(ancestor).unwrap_or(&clean);
        return format!("{}{}", "../".repeat(depth), rest.display());
    }
    clean.display().to_string()
}

/// Removes `.` and resolves `..` lexically (no file system access).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_starts_at_the_checked_path() {
        let root = tempfile::tempdir().unwrap();
        let app = root.path().join("apps/web");
        std::fs::create_dir_all(&app).unwrap();
        std::fs::write(root.path().join("apps/.meshready.yaml"), "mesh: all\n").unwrap();
        std::fs::write(app.join("web.yaml"), "").unwrap();
        let found = discover(
            &start_dir(root.path(), Path::new("apps/web/web.yaml")),
            root.path(),
        );
        assert_eq!(found.map(|f| f.1).as_deref(), Some("apps/.meshready.yaml"));
        // From inside a sibling directory, the file above is shown with `../`.
        let other = root.path().join("apps/db");
        std::fs::create_dir_all(&other).unwrap();
        assert_eq!(
            discover(&other, &other).map(|f| f.1).as_deref(),
            Some("../.meshready.yaml")
        );
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(
            shown_path(Path::new("/r/x/../.meshready.yaml"), Path::new("/r")),
            ".meshready.yaml"
        );
    }

    #[test]
    fn suppressions_must_name_a_rule() {
        assert!(parse_suppression("IST0117=Deployment web.shop").is_ok());
        assert!(parse_suppression("IST01*=Deployment *").is_ok());
        assert!(parse_suppression("workload-without-service=Deployment *").is_ok());
        let err = parse_suppression("FOO9=Deployment web.shop")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "--suppress \"FOO9=Deployment web.shop\": unknown rule `FOO9`; `meshready rules` lists the codes and names"
        );
        assert!(parse_suppression("IST0117").is_err());
    }

    mod commands {
        //! The same object and the same config give the same findings through `check` and the
        //! webhook (issue 11: the webhook used to read no config and had no `--istio-cni` or
        //! `--pod-security`).

        use clap::Parser;
        use meshready_core::source::{LoadOptions, load_str};
        use meshready_webhook::{Config as WebhookConfig, Context, review};
        use serde_json::{Value, json};

        use super::super::{Anchor, resolve};
        use crate::args::{Cli, Command};

        const CONFIG: &str =
            "istio-cni: off\npod-security: baseline\nrules:\n  MR0004: {severity: warning}\n";

        const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: web
";

        fn admission_review(object: &Value, kind: &str) -> Vec<u8> {
            serde_json::to_vec(&json!({
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "request": {
                    "uid": "1",
                    "kind": {"group": "", "version": "v1", "kind": kind},
                    "namespace": "shop",
                    "operation": "CREATE",
                    "object": object,
                }
            }))
            .unwrap()
        }

        fn codes(findings: &[meshready_core::Finding]) -> Vec<(String, String, String)> {
            let mut out: Vec<_> = findings
                .iter()
                .map(|f| {
                    (
                        f.code.to_string(),
                        f.severity.to_string(),
                        f.message.clone(),
                    )
                })
                .collect();
            out.sort();
            out
        }

        #[test]
        fn check_and_webhook_judge_alike_under_one_config() {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(".meshready.yaml"), CONFIG).unwrap();
            let app = dir.path().join("app.yaml");
            std::fs::write(&app, DEPLOYMENT).unwrap();

            let Command::Check(check_args) =
                Cli::parse_from(["meshready", "check", app.to_str().unwrap()]).command
            else {
                unreachable!()
            };
            let for_check = resolve(
                &check_args.rules,
                Some(&check_args.report),
                Anchor::Paths(&check_args.paths),
                false,
            )
            .unwrap();
            let config_path = dir.path().join(".meshready.yaml");
            let Command::Webhook(webhook_args) = Cli::parse_from([
                "meshready",
                "webhook",
                "--tls-cert",
                "c",
                "--tls-key",
                "k",
                "--config",
                config_path.to_str().unwrap(),
            ])
            .command
            else {
                unreachable!()
            };
            let for_webhook =
                resolve(&webhook_args.rules, None, Anchor::WorkingDirectory, false).unwrap();
            assert!(for_check.config_path.is_some());

            let loaded = load_str("app.yaml", DEPLOYMENT, &LoadOptions::default());
            let checked = meshready_core::check(&loaded, &for_check.check).findings;
            let reviewed = review(
                &admission_review(&loaded.objects[0].root.to_json(), "Deployment"),
                &Context::new(Vec::new()),
                &WebhookConfig {
                    deny_threshold: None,
                    check: for_webhook.check,
                },
            )
            .findings;
            assert_eq!(codes(&checked), codes(&reviewed));
            // The config reached both: baseline without CNI rejects the sidecar, and MR0004 is
            // raised to a warning.
            assert!(checked.iter().any(|f| f.code == "MR0011"), "{checked:#?}");
            assert!(
                checked
                    .iter()
                    .any(|f| f.code == "MR0004" && f.severity == meshready_core::Severity::Warning)
            );
        }

        #[test]
        fn a_pod_is_not_a_duplicate_of_its_own_deployment_at_admission() {
            let context = load_str(
                "ctx.yaml",
                &format!(
                    "{}---\n{}",
                    DEPLOYMENT.replace("{app: web}}", "{app: web, version: v1}}"),
                    DEPLOYMENT
                        .replace("name: web,", "name: web2,")
                        .replace("{app: web}}", "{app: web, version: v1}}")
                ),
                &LoadOptions::default(),
            )
            .objects;
            let pod = json!({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": "web-5d9c8-abcde",
                    "namespace": "shop",
                    "labels": {"app": "web", "version": "v1", "pod-template-hash": "5d9c8"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "name": "web-5d9c8", "uid": "u", "controller": true}],
                },
                // Injected: a Pod that arrived without the proxy would be IST0103's alone.
                "spec": {"containers": [{"name": "app", "image": "web"},
                                        {"name": "istio-proxy", "image": "proxyv2"}]},
            });
            let reviewed = review(
                &admission_review(&pod, "Pod"),
                &Context::new(context),
                &WebhookConfig {
                    deny_threshold: None,
                    check: meshready_core::CheckOptions::default(),
                },
            );
            let duplicates: Vec<&str> = reviewed
                .findings
                .iter()
                .filter(|f| f.code == "MR0005")
                .map(|f| f.message.as_str())
                .collect();
            assert_eq!(
                duplicates,
                [
                    "app `web` version `v1` is also used by Deployment `web2`; telemetry cannot tell them apart"
                ]
            );
        }
    }
}
