//! `meshready webhook`: serve the ValidatingAdmissionWebhook (the only async part of the CLI).

use std::io::Write;

use anyhow::{Result, bail};
use meshready_core::suppress::Pattern;
use meshready_core::{CheckOptions, Settings};
use meshready_webhook::{Config, ContextSource, RunOptions, ServeOptions};

use crate::args::WebhookArgs;
use crate::check::read_inputs;

pub fn run(args: &WebhookArgs) -> Result<u8> {
    if args.offline_context.iter().any(|p| p.as_os_str() == "-") {
        bail!("--offline-context cannot read stdin; give files or directories");
    }
    let suppress = args
        .suppress
        .iter()
        .map(|s| Pattern::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let context = if args.offline_context.is_empty() {
        ContextSource::Cluster {
            istio_namespace: args.istio_namespace.clone(),
        }
    } else {
        ContextSource::Offline(read_inputs(&args.offline_context)?)
    };
    let live = matches!(context, ContextSource::Cluster { .. });
    let options = RunOptions {
        listen: args.listen,
        serve: ServeOptions {
            max_body_bytes: args.max_body_bytes,
            ..ServeOptions::new(args.tls_cert.clone(), args.tls_key.clone())
        },
        config: Config {
            deny_threshold: args.deny_threshold.severity(),
            check: CheckOptions {
                settings: Settings {
                    mesh: args.mesh.into(),
                    live,
                    inject: args
                        .istio
                        .inject_settings(&crate::config::Config::default()),
                    ..Settings::default()
                },
                suppress,
                annotation_suppression: !args.disallow_annotation_suppression,
                ..CheckOptions::default()
            },
        },
        context,
    };
    // Operational logs (certificate reloads, watch errors, shutdown) on stderr.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .try_init();
    meshready_webhook::run_blocking(options, |addr| {
        let _ = writeln!(
            std::io::stderr(),
            "meshready webhook: listening on https://{addr} (POST /validate, GET /healthz /readyz /metrics)"
        );
    })?;
    Ok(0)
}
