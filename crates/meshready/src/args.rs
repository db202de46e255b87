//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use meshready_core::{MeshMode, Severity};

/// Checks whether Kubernetes pods and services meet Istio's requirements, and says exactly what
/// to change and where.
#[derive(Debug, Parser)]
#[command(name = "meshready", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests (files, directories, `-` for stdin).
    Check(CheckArgs),
    /// List every rule.
    Rules(RulesArgs),
    /// Print a rule's documentation.
    Explain(ExplainArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// rustc/ruff-style text.
    Text,
    /// The stable JSON document.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Threshold {
    Info,
    Warning,
    Error,
    /// Never (only for --failure-threshold: findings never fail the run).
    Never,
}

impl Threshold {
    pub fn severity(self) -> Option<Severity> {
        match self {
            Self::Info => Some(Severity::Info),
            Self::Warning => Some(Severity::Warning),
            Self::Error => Some(Severity::Error),
            Self::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mesh {
    /// Istio's injection rules; namespaces the input does not describe are assumed in the mesh.
    Auto,
    /// Every workload gets a sidecar.
    All,
    /// Nothing gets a sidecar (pure Kubernetes checks).
    None,
}

impl From<Mesh> for MeshMode {
    fn from(m: Mesh) -> Self {
        match m {
            Mesh::Auto => MeshMode::Auto,
            Mesh::All => MeshMode::All,
            Mesh::None => MeshMode::None,
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Files or directories (searched recursively for .yaml, .yml and .json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Show findings at or above this severity.
    #[arg(long, value_enum, default_value_t = Threshold::Info)]
    pub output_threshold: Threshold,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = Threshold::Error)]
    pub failure_threshold: Threshold,
    /// Namespace of objects that name none.
    #[arg(long, default_value = "default", value_name = "NAMESPACE")]
    pub default_namespace: String,
    /// How to decide which workloads get a sidecar.
    #[arg(long, value_enum, default_value_t = Mesh::Auto)]
    pub mesh: Mesh,
    /// Suppress findings: "CODE=Kind name.namespace", `*` globs allowed (istioctl syntax).
    #[arg(short = 'S', long, value_name = "CODE=Kind name.namespace")]
    pub suppress: Vec<String>,
    /// Ignore the meshready.io/ignore and galley.istio.io/analyze-suppress annotations.
    #[arg(long)]
    pub disallow_annotation_suppression: bool,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code (IST0144) or name (application-uid-1337).
    pub rule: String,
}
