//! `meshready cluster`: read a live cluster (read-only, paginated), run the rules as on a live
//! cluster, and print the report exactly as `check` does, with the same exit codes.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use meshready_cluster::{Scope, Snapshot, facts};

use crate::args::{ClusterArgs, OutputFormat};
use crate::options::{Anchor, resolve};
use crate::report::emit;

pub fn run(args: &ClusterArgs) -> Result<u8> {
    // The same options as `check`, resolved in one place: a broken config is a usage error
    // before any request.
    let resolved = resolve(
        &args.rules,
        Some(&args.report),
        Anchor::WorkingDirectory,
        true,
    )?;
    let options = meshready_cluster::Options {
        kubeconfig: args.kubeconfig.clone(),
        context: args.context.clone(),
        namespaces: args.namespaces.clone(),
        all_namespaces: args.all_namespaces,
        page_size: args.request_limit,
        timeout: args.timeout,
        rate: meshready_cluster::Rate {
            qps: args.qps,
            burst: args.burst,
        },
        ..meshready_cluster::Options::default()
    };
    // The only async code of the binary: a runtime just for this command (pages are reduced
    // on its blocking threads while the next ones download).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let indicator = Indicator::new();
    let snapshot = runtime.block_on(async {
        let client = meshready_cluster::client(&options).await?;
        meshready_cluster::read(client, &options, &|p| indicator.update(p)).await
    });
    indicator.clear();
    // Nothing async is left: its idle threads are not waited for.
    runtime.shutdown_background();
    let snapshot = snapshot?;
    let mut stderr = std::io::stderr().lock();
    for forbidden in &snapshot.forbidden {
        writeln!(stderr, "meshready: warning: {forbidden}")?;
    }
    for ns in &snapshot.missing_namespaces {
        writeln!(stderr, "meshready: warning: namespace {ns} does not exist")?;
    }
    if let Some(path) = &args.as_manifests {
        write_manifests(path, &snapshot)?;
    }
    let kubernetes_minor = snapshot.kubernetes_minor;
    let loaded = meshready_cluster::into_loaded(snapshot);
    if args.output == OutputFormat::Text && !args.out.quiet {
        let cni = facts::cni_note(&loaded.objects, resolved.check.settings.admission.cni);
        writeln!(stderr, "meshready: note: {cni}")?;
    }
    drop(stderr);
    // The API server's version, unless --kubernetes-version or the config names one.
    let mut check_options = resolved.check.clone();
    if check_options.settings.inject.kubernetes_version.is_none() {
        check_options.settings.inject.kubernetes_version = kubernetes_minor.map(|m| {
            m.clamp(
                meshready_core::settings::OLDEST_KUBERNETES_MINOR,
                meshready_core::settings::NEWEST_KUBERNETES_MINOR,
            )
        });
    }
    let mut report = meshready_cluster::check(&loaded, &check_options);
    report.summary.config.clone_from(&resolved.config_path);
    let code = emit(
        &report,
        &loaded,
        args.output,
        resolved.output_threshold,
        resolved.failure_threshold,
        &args.out,
    );
    // The process ends right after: freeing every object one by one would only delay the exit
    // (as in `check`).
    std::mem::forget(report);
    std::mem::forget(loaded);
    code
}

fn write_manifests(path: &std::path::Path, snapshot: &Snapshot) -> Result<()> {
    let scope = match &snapshot.scope {
        Some(Scope::Namespaces(namespaces)) => format!("namespaces {}", namespaces.join(", ")),
        Some(Scope::All) | None => "all namespaces".into(),
    };
    let header = format!(
        "Written by `meshready cluster --as-manifests` ({} objects, {scope}).\n\
         Check it again with `meshready check --live {}`.",
        snapshot
            .objects
            .iter()
            .map(meshready_core::source::Object::count)
            .sum::<usize>(),
        path.display()
    );
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    meshready_cluster::manifests::write(&mut out, &snapshot.objects, &header)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Parses `--timeout`: seconds (`90`), or a number with `ms`, `s`, `m` or `h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (try 60s, 2m)"))?;
    let duration = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => {
            return Err(format!(
                "unknown unit `{unit}` in `{text}` (use ms, s, m or h)"
            ));
        }
    };
    if duration.is_zero() {
        return Err("the timeout must be more than zero".into());
    }
    Ok(duration)
}

/// A one-line progress indicator on stderr, drawn only when stderr is a terminal and only
/// once a read has taken more than a second.
struct Indicator {
    tty: bool,
    start: Instant,
    drawn: Mutex<bool>,
}

impl Indicator {
    fn new() -> Self {
        Self {
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            drawn: Mutex::new(false),
        }
    }

    fn update(&self, p: meshready_cluster::Progress<'_>) {
        if !self.tty || self.start.elapsed() < Duration::from_secs(1) {
            return;
        }
        let place = p
            .namespace
            .map_or_else(String::new, |ns| format!(" in {ns}"));
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\r\x1b[2Kreading {}{place}: {} objects, {} requests",
            p.kind, p.objects, p.requests
        );
        let _ = stderr.flush();
        if let Ok(mut drawn) = self.drawn.lock() {
            *drawn = true;
        }
    }

    fn clear(&self) {
        if self.drawn.lock().is_ok_and(|d| *d) {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("s").is_err());
    }
}
