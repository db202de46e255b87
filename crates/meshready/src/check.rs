//! `meshready check`: read manifests, run the rules, print the report, pick the exit code.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};
use meshready_core::output::{github, json, junit, sarif, text};
use meshready_core::source::Input;
use meshready_core::suppress::Pattern;
use meshready_core::{CheckOptions, Settings, check};

use crate::args::{CheckArgs, IstioCni, Mesh, OutputFormat, RuleArgs, Threshold};
use crate::config;

pub fn run(args: &CheckArgs) -> Result<u8> {
    // The config file first: a broken config is a usage error whatever the input.
    let config = args.rules.config()?;
    let output_threshold = args
        .output_threshold
        .or(config.output_threshold)
        .unwrap_or(Threshold::Info);
    let failure_threshold = args
        .failure_threshold
        .or(config.failure_threshold)
        .unwrap_or(Threshold::Error);
    let default_namespace = args
        .default_namespace
        .clone()
        .or_else(|| config.default_namespace.clone())
        .unwrap_or_else(|| "default".into());
    let mesh = args.mesh.or(config.mesh).unwrap_or(Mesh::Auto);
    let mut check_options = args.rules.check_options(&config, mesh, args.live)?;
    check_options.settings.inject = args.istio.inject_settings(&config);
    let inputs = read_inputs(&args.paths)?;
    let options = args.limits.load_options(default_namespace);
    let loaded = meshready_core::source::load(inputs, &options);
    let report = check(&loaded, &check_options);
    let code = emit(
        &report,
        &loaded.files,
        args.output,
        output_threshold,
        failure_threshold,
    );
    // The process ends right after: freeing a large input's tree node by node would only
    // delay the exit (about 5% of the run on 100k objects).
    std::mem::forget(report);
    std::mem::forget(loaded);
    code
}

impl RuleArgs {
    /// The config file these arguments name (or discover); a broken one is a usage error.
    pub fn config(&self) -> Result<config::Config> {
        Ok(config::load(self.config.as_deref(), self.no_config)?.unwrap_or_default())
    }

    /// How to run the rules: these arguments, then the config file, then the defaults.
    pub fn check_options(
        &self,
        config: &config::Config,
        mesh: Mesh,
        live: bool,
    ) -> Result<CheckOptions> {
        let suppress = self
            .suppress
            .iter()
            .map(|s| Pattern::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CheckOptions {
            settings: Settings {
                mesh: mesh.into(),
                live,
                admission: meshready_core::settings::AdmissionSettings {
                    cni: self
                        .istio_cni
                        .or(config.istio_cni)
                        .unwrap_or(IstioCni::Auto)
                        .into(),
                    pod_security: self.pod_security.or(config.pod_security),
                },
                inject: meshready_core::settings::InjectSettings::default(),
            },
            suppress,
            annotation_suppression: !(self.disallow_annotation_suppression
                || config.disallow_annotation_suppression.unwrap_or(false)),
            severity_overrides: config.severity_overrides.clone(),
            ignores: config.ignores.clone(),
        })
    }
}

/// Prints a report in the chosen format (the text summary on stderr) and returns the exit
/// code; shared by `check` and `cluster`.
pub fn emit(
    report: &meshready_core::Report,
    files: &[meshready_core::source::SourceFile],
    output: OutputFormat,
    output_threshold: Threshold,
    failure_threshold: Threshold,
) -> Result<u8> {
    let threshold = output_threshold
        .severity()
        .unwrap_or(meshready_core::Severity::Error);
    let rendered = match output {
        OutputFormat::Text => text::render(report, files, threshold),
        OutputFormat::Json => json::render(report, threshold),
        OutputFormat::Sarif => sarif::render(report, threshold, env!("CARGO_PKG_VERSION")),
        OutputFormat::Github => github::render(report, threshold),
        OutputFormat::Junit => junit::render(report, threshold),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    if output == OutputFormat::Text {
        let mut stderr = std::io::stderr().lock();
        writeln!(
            stderr,
            "{}",
            text::summary_line(&report.summary, report.errors.len())
        )?;
    }
    Ok(report.exit_status(failure_threshold.severity()) as u8)
}

/// Reads every path: files as given, directories recursively (.yaml, .yml, .json, sorted for a
/// stable order), `-` from stdin.
pub fn read_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            inputs.push(Input {
                path: "-".into(),
                bytes,
            });
        } else if path.is_dir() {
            let mut files = Vec::new();
            walk(path, &mut files)?;
            files.sort();
            for file in files {
                let bytes = std::fs::read(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
                inputs.push(Input {
                    path: file.display().to_string(),
                    bytes,
                });
            }
        } else if path.exists() {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            inputs.push(Input {
                path: path.display().to_string(),
                bytes,
            });
        } else {
            bail!("{}: no such file or directory", path.display());
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read directory {}", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(path);
        }
    }
    Ok(())
}
