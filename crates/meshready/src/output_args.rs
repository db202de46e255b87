//! Output flags shared by `check` and `cluster` (colour, quiet, statistics, baseline, project
//! root) and the arguments of `meshready baseline`, `completions` and `man`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use meshready_core::output::Style;
use meshready_core::output::sarif::normalize;

use crate::args::CheckArgs;

/// When to colour the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When the stream is a terminal and `NO_COLOR` is not set.
    #[default]
    Auto,
    /// Always (even with `NO_COLOR`).
    Always,
    /// Never.
    Never,
}

/// How reports are written; flattened into `check` and `cluster`.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Colour the text and concise formats and the summary.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only error findings and unreadable inputs, no summary (the exit code is unchanged).
    #[arg(short, long)]
    pub quiet: bool,
    /// Print how many findings each rule reported instead of the findings (a table; a JSON
    /// array with `-o json`).
    #[arg(long)]
    pub statistics: bool,
    /// Show and count only the findings this baseline does not know (`meshready baseline
    /// create`), and report its stale entries.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// SARIF URIs are relative to this directory (`%SRCROOT%`) [default: the git root, else
    /// the working directory].
    #[arg(long, value_name = "DIR")]
    pub project_root: Option<PathBuf>,
    /// Set by `meshready baseline create`: write the baseline here instead of a report.
    #[arg(skip)]
    pub write_baseline: Option<PathBuf>,
}

impl ColorChoice {
    /// The style of a stream: `Auto` colours a terminal unless `NO_COLOR` is set (to anything
    /// but the empty string, as no-color.org says).
    pub fn style(self, terminal: bool) -> Style {
        let color = match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        };
        Style { color }
    }
}

impl OutputArgs {
    /// The style of stdout.
    pub fn stdout_style(&self) -> Style {
        self.color.style(std::io::stdout().is_terminal())
    }

    /// The style of stderr (the summary).
    pub fn stderr_style(&self) -> Style {
        self.color.style(std::io::stderr().is_terminal())
    }

    /// The absolute working directory and project root: `--project-root`, else the nearest
    /// directory upward with a `.git`, else the working directory.
    pub fn roots(&self) -> Result<(PathBuf, PathBuf)> {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        let root = match &self.project_root {
            Some(root) => {
                let root = normalize(&cwd.join(root));
                if !root.is_dir() {
                    anyhow::bail!("--project-root {}: not a directory", root.display());
                }
                root
            }
            None => git_root(&cwd).unwrap_or_else(|| cwd.clone()),
        };
        Ok((cwd, root))
    }
}

/// The nearest directory at or above `dir` that holds `.git` (a directory, or a file in a
/// worktree or submodule).
pub fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `meshready baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub action: BaselineAction,
}

#[derive(Debug, Subcommand)]
pub enum BaselineAction {
    /// Write the fingerprints (code, object, field; never lines) of every current finding to
    /// FILE; `meshready check --baseline FILE` then shows only new findings.
    Create(BaselineCreateArgs),
}

#[derive(Debug, Args)]
pub struct BaselineCreateArgs {
    /// The baseline file to write (JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub check: CheckArgs,
}

impl BaselineArgs {
    /// Runs the check and writes its findings to the baseline file instead of a report.
    pub fn run(self) -> Result<u8> {
        match self.action {
            BaselineAction::Create(mut create) => {
                create.check.out.write_baseline = Some(create.file);
                crate::check::run(&create.check)
            }
        }
    }
}

/// Shells `meshready completions` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

/// `meshready completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}
