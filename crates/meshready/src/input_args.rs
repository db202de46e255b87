//! `--exclude` and `--scope`: which files are read and which objects may relate to each other;
//! each flag overrides (or, for `--exclude`, adds to) the config file's setting.

use clap::{Args, ValueEnum};
use meshready_core::Scope;
use meshready_core::source::LoadOptions;
use meshready_core::source::kinds::ExtraTemplate;

use crate::config::Config;

/// How the input is found and grouped.
#[derive(Debug, Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Leave out files and directories that match GLOB (gitignore syntax, relative to each
    /// directory argument; repeatable; added to the config file's `exclude:`). Files named on
    /// the command line are always read.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Which objects may relate to each other (Services and pods, namespaces, RBAC, pod
    /// security policies, CNI detection): the whole input is one cluster, or each directory,
    /// or each file [default: cluster, or the config file's].
    #[arg(long, value_enum, value_name = "SCOPE")]
    pub scope: Option<ScopeArg>,
}

/// `--scope` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// The whole input is one cluster.
    Cluster,
    /// Each directory is one cluster (overlays and variants side by side).
    Directory,
    /// Each file is one cluster.
    File,
}

impl From<ScopeArg> for Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Cluster => Self::Cluster,
            ScopeArg::Directory => Self::Directory,
            ScopeArg::File => Self::File,
        }
    }
}

/// The resolved input settings.
#[derive(Debug, Clone, Default)]
pub struct InputSettings {
    /// Exclusion globs: the config file's, then the command line's.
    pub exclude: Vec<String>,
    /// The scope.
    pub scope: Scope,
    /// Pod template paths of kinds the built-in table does not know.
    pub pod_templates: Vec<ExtraTemplate>,
}

impl InputArgs {
    /// These flags, then the config file, then the defaults.
    #[must_use]
    pub fn settings(&self, config: &Config) -> InputSettings {
        InputSettings {
            exclude: config
                .exclude
                .iter()
                .chain(&self.exclude)
                .cloned()
                .collect(),
            scope: self
                .scope
                .map(Scope::from)
                .or(config.scope)
                .unwrap_or_default(),
            pod_templates: config.pod_templates.clone(),
        }
    }
}

impl InputSettings {
    /// Loader options with these pod templates.
    #[must_use]
    pub fn load_options(&self, options: LoadOptions) -> LoadOptions {
        LoadOptions {
            pod_templates: self.pod_templates.clone(),
            ..options
        }
    }
}
