//! How meshready meets its surroundings: the clap command (as `meshready` or as the kubectl
//! plugin `kubectl meshready`, by the name it was started under), the version text with the
//! supported Istio and Kubernetes releases, shell completions and the man page.

use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::Result;
use clap::CommandFactory;
use meshready_core::settings::{
    NEWEST_ISTIO_MINOR, NEWEST_KUBERNETES_MINOR, OLDEST_ISTIO_MINOR, OLDEST_KUBERNETES_MINOR,
};

use crate::args::Cli;
use crate::output_args::{CompletionsArgs, Shell};

/// The file name kubectl looks for on the PATH for `kubectl meshready`.
pub const PLUGIN_BINARY: &str = "kubectl-meshready";

static VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{} (Istio 1.{OLDEST_ISTIO_MINOR}–1.{NEWEST_ISTIO_MINOR}, Kubernetes \
         1.{OLDEST_KUBERNETES_MINOR}–1.{NEWEST_KUBERNETES_MINOR})",
        env!("CARGO_PKG_VERSION")
    )
});

static LONG_VERSION: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}\nrules model Istio 1.{OLDEST_ISTIO_MINOR}–1.{NEWEST_ISTIO_MINOR} and Kubernetes \
         1.{OLDEST_KUBERNETES_MINOR}–1.{NEWEST_KUBERNETES_MINOR} \
         (PodSecurityPolicy up to Kubernetes 1.24)",
        env!("CARGO_PKG_VERSION")
    )
});

/// Whether the program was started as `kubectl-meshready` (kubectl runs plugins by that name).
pub fn is_kubectl_plugin(argv0: &str) -> bool {
    Path::new(argv0)
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s == PLUGIN_BINARY)
}

/// The clap command, named for how it was started.
pub fn command(plugin: bool) -> clap::Command {
    let command = Cli::command()
        .version(VERSION.as_str())
        .long_version(LONG_VERSION.as_str());
    if plugin {
        command.bin_name("kubectl meshready").before_help(
            "meshready as a kubectl plugin: `kubectl meshready ...` runs \
             kubectl-meshready with the same commands and flags as `meshready ...`.",
        )
    } else {
        command
    }
}

/// `meshready completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<u8> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
        Shell::Powershell => clap_complete::Shell::PowerShell,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(false), "meshready", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&script)?;
    stdout.flush()?;
    Ok(0)
}

/// `meshready man`: the roff man page meshready(1) on stdout.
pub fn man() -> Result<u8> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command(false)).render(&mut page)?;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&page)?;
    stdout.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plugin_is_recognised_by_its_file_name() {
        assert!(is_kubectl_plugin("/usr/local/bin/kubectl-meshready"));
        assert!(is_kubectl_plugin("kubectl-meshready.exe"));
        assert!(!is_kubectl_plugin("/usr/bin/meshready"));
        assert!(!is_kubectl_plugin("kubectl"));
    }

    #[test]
    fn the_command_is_consistent() {
        command(false).debug_assert();
        command(true).debug_assert();
    }
}
