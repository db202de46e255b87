//! The `meshready` command line: parses arguments and dispatches to the subcommands.

#![forbid(unsafe_code)]

mod args;
mod caps;
mod check;
mod cluster;
mod config;
mod discover;
mod docs;
mod inject;
mod input_args;
mod integrations;
mod istio_args;
mod options;
mod output_args;
mod report;
mod rules;
mod webhook;

use std::io::Write;
use std::process::ExitCode;

use clap::FromArgMatches;

use args::{Cli, Command};

/// mimalloc: the loader allocates many small nodes on every core at once, where glibc's malloc
/// spends a third of the time growing per-thread arenas (measured, see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Started as `kubectl-meshready` (by `kubectl meshready`), help and usage say so.
    let plugin = std::env::args_os()
        .next()
        .is_some_and(|argv0| integrations::is_kubectl_plugin(&argv0.to_string_lossy()));
    let cli = match Cli::from_arg_matches(&integrations::command(plugin).get_matches()) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules(args) => rules::list(&args),
        Command::Explain(args) => rules::explain(&args),
        Command::Caps(args) => caps::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Webhook(args) => webhook::run(&args),
        Command::Inject(args) => inject::run(&args),
        Command::GenerateDocs(args) => docs::generate(&args),
        Command::Baseline(args) => args.run(),
        Command::Completions(args) => integrations::completions(&args),
        Command::Man => integrations::man(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`meshready check | head`) is not an error.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "meshready: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
