//! The `meshready` command line: parses arguments and dispatches to the subcommands.

#![forbid(unsafe_code)]

mod args;
mod caps;
mod check;
mod cluster;
mod config;
mod docs;
mod inject;
mod istio_args;
mod rules;
mod webhook;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// mimalloc: the loader allocates many small nodes on every core at once, where glibc's malloc
/// spends a third of the time growing per-thread arenas (measured, see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Rules(args) => rules::list(&args),
        Command::Explain(args) => rules::explain(&args),
        Command::Caps(args) => caps::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Webhook(args) => webhook::run(&args),
        Command::Inject(args) => inject::run(&args),
        Command::GenerateDocs(args) => docs::generate(&args),
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
