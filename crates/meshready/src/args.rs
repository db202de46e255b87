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
    /// List the PodSecurityPolicies a ServiceAccount may use and whether NET_ADMIN and NET_RAW
    /// are allowed (the Istio docs' kubectl loop, offline), with the PSP, Pod Security and SCC
    /// verdicts for the pod Istio injects (exit 1 when `check` would reject it).
    Caps(CapsArgs),
    /// Check the workloads of a live cluster (read-only; the current kubeconfig context).
    Cluster(ClusterArgs),
    /// Serve the ValidatingAdmissionWebhook over HTTPS (findings as admission warnings).
    Webhook(WebhookArgs),
    /// Print the input with Istio's sidecar injection applied (the model every rule judges).
    Inject(crate::inject::InjectArgs),
    /// Write the rule pages under docs/rules (for maintainers).
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
    /// Record the current findings, so that `check --baseline FILE` reports only new ones.
    Baseline(crate::output_args::BaselineArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell).
    Completions(crate::output_args::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// rustc/ruff-style text.
    Text,
    /// The stable JSON document.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands (annotations on the pull request).
    Github,
    /// JUnit XML, one testsuite per rule.
    Junit,
    /// One line per finding: `file:line:col: severity[CODE] message`.
    Concise,
    /// wgpolicyk8s.io/v1alpha2 PolicyReports (per namespace) and a ClusterPolicyReport, for
    /// `kubectl apply -f -`.
    Policyreport,
    /// openreports.io/v1alpha1 Reports (per namespace) and a ClusterReport.
    Openreports,
}

/// Output formats of `meshready rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// A table.
    Text,
    /// A JSON array of {code, name, severity, summary, istio_versions}.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Threshold {
    Info,
    Warning,
    Error,
    /// Never (thresholds only: findings never fail the run, never deny a request).
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
    /// Files or directories (searched recursively for .yaml, .yml and .json, as ripgrep walks
    /// them: hidden and .gitignored paths left out); `-` reads stdin.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Treat the input as a snapshot of a live cluster (as `meshready cluster --as-manifests`
    /// writes): running pods are post-injection, IST0103 runs, and findings count pods.
    #[arg(long)]
    pub live: bool,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub out: crate::output_args::OutputArgs,
    #[command(flatten)]
    pub input: crate::input_args::InputArgs,
}

/// Which findings are shown and which fail the run, shared by `check` and `cluster`; each value
/// overrides the config file's.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Show findings at or above this severity [default: info, or the config file's].
    #[arg(long, value_enum)]
    pub output_threshold: Option<Threshold>,
    /// Exit with 1 when a finding is at or above this severity [default: error, or the config
    /// file's].
    #[arg(long, value_enum)]
    pub failure_threshold: Option<Threshold>,
}

/// How the model is built and the rules run, shared by every command that runs them (`check`,
/// `cluster`, `webhook`, `caps`); `crate::options` resolves each value against the config file
/// and the defaults in one place.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// Read this config file instead of looking for .meshready.yaml upward from the first
    /// checked path (the working directory for `-`, `cluster` and `webhook`).
    #[arg(long, value_name = "PATH", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Read no config file.
    #[arg(long)]
    pub no_config: bool,
    /// Suppress findings: "CODE=Kind name.namespace", `*` globs allowed (istioctl syntax).
    #[arg(short = 'S', long, value_name = "CODE=Kind name.namespace")]
    pub suppress: Vec<String>,
    /// Ignore the meshready.io/ignore and galley.istio.io/analyze-suppress annotations.
    #[arg(long)]
    pub disallow_annotation_suppression: bool,
    /// Pod Security level every namespace enforces (`baseline:v1.25`, `restricted`), instead of
    /// the namespaces' `pod-security.kubernetes.io/enforce` labels.
    #[arg(long, value_name = "LEVEL[:VERSION]", value_parser = parse_pod_security)]
    pub pod_security: Option<meshready_core::psa::Policy>,
    /// Whether Istio's CNI plugin is installed (auto: look for it in the input) [default: auto,
    /// or the config file's].
    #[arg(long, value_enum)]
    pub istio_cni: Option<IstioCni>,
    /// How to decide which workloads get a sidecar [default: auto, or the config file's].
    #[arg(long, value_enum)]
    pub mesh: Option<Mesh>,
    /// Namespace of objects that name none [default: default (`caps`: --namespace), or the
    /// config file's].
    #[arg(long, value_name = "NAMESPACE")]
    pub default_namespace: Option<String>,
    #[command(flatten)]
    pub istio: crate::istio_args::IstioArgs,
}

/// Resource bounds for untrusted input; each exceeded limit is reported with file:line.
#[derive(Debug, Args)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Largest single document, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_document_size: usize,
    /// Largest total input, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 30)]
    pub max_input_size: usize,
    /// Most documents analysed.
    #[arg(long, value_name = "N", default_value_t = 2_000_000)]
    pub max_documents: usize,
    /// Most nodes that YAML aliases may copy into one document ("billion laughs" guard).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_alias_nodes: usize,
    /// Deepest nesting of mappings and lists.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_depth: usize,
}

impl LimitArgs {
    /// Loader options with these limits.
    pub fn load_options(&self, default_namespace: String) -> meshready_core::source::LoadOptions {
        let defaults = meshready_core::source::LoadOptions::default();
        meshready_core::source::LoadOptions {
            default_namespace,
            limits: meshready_core::source::yaml::Limits {
                max_depth: self.max_depth,
                max_alias_nodes: self.max_alias_nodes,
                max_document_bytes: self.max_document_size,
                ..defaults.limits
            },
            max_input_bytes: self.max_input_size,
            max_documents: self.max_documents,
            prune: None,
            ..defaults
        }
        .with_prune(meshready_core::rules::PRUNE)
    }
}

/// Parses `--pod-security`.
fn parse_pod_security(s: &str) -> Result<meshready_core::psa::Policy, String> {
    meshready_core::psa::Policy::parse(s)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IstioCni {
    /// Istio CNI is installed: the injected init container is istio-validation.
    On,
    /// No Istio CNI: the injected istio-init container needs NET_ADMIN and NET_RAW.
    Off,
    /// Detect it from the input (istio-cni-node DaemonSet, injector values, injected pods).
    Auto,
}

impl From<IstioCni> for meshready_core::settings::CniMode {
    fn from(c: IstioCni) -> Self {
        match c {
            IstioCni::On => Self::On,
            IstioCni::Off => Self::Off,
            IstioCni::Auto => Self::Auto,
        }
    }
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = RulesFormat::Text)]
    pub output: RulesFormat,
}

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Do not write: exit with 1 and name the files that differ from the generated ones.
    #[arg(long)]
    pub check: bool,
    /// The directory of the rule pages.
    #[arg(long, default_value = "docs/rules", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A rule code (IST0144) or name (application-uid-1337).
    pub rule: String,
}

#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8443", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// PEM certificate chain (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// PEM private key (reloaded when the file changes).
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Deny requests with a finding at or above this severity; `never` only warns [default:
    /// never, or the config file's `deny-threshold`].
    #[arg(long, value_enum)]
    pub deny_threshold: Option<Threshold>,
    /// Read the context (Services, Namespaces, RBAC, ...) from these manifests instead of the
    /// cluster.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub offline_context: Vec<PathBuf>,
    /// Largest accepted request body, in bytes (the API server's own limit is 3 MiB).
    #[arg(long, default_value_t = 3 * 1024 * 1024, value_name = "N")]
    pub max_body_bytes: usize,
    /// Namespace of the istio-sidecar-injector ConfigMaps (cluster context only).
    #[arg(long, default_value = "istio-system", value_name = "NAMESPACE")]
    pub istio_namespace: String,
    #[command(flatten)]
    pub rules: RuleArgs,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// The kubeconfig file [default: $KUBECONFIG, ~/.kube/config, then the in-cluster config].
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context [default: the current context].
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// A namespace to check (repeatable) [default: the context's namespace].
    #[arg(short = 'n', long = "namespace", value_name = "NAMESPACE")]
    pub namespaces: Vec<String>,
    /// Check every namespace.
    #[arg(short = 'A', long, conflicts_with = "namespaces")]
    pub all_namespaces: bool,
    /// Give up when reading the cluster takes longer than this (`90`, `90s`, `2m`).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = crate::cluster::parse_duration)]
    pub timeout: std::time::Duration,
    /// Objects per list request; later pages follow the continue token.
    #[arg(long, default_value_t = 500, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub request_limit: u32,
    /// Client-side rate limit: requests per second on average, retries included (client-go's
    /// `QPS`; 0 turns the limit off).
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub qps: f32,
    /// Client-side rate limit: requests sent at once before `--qps` applies (client-go's
    /// `Burst`).
    #[arg(long, default_value_t = 300, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: u32,
    /// Also write everything that was read to FILE, as multi-document YAML
    /// (`meshready check --live FILE` gives the same findings).
    #[arg(long, value_name = "FILE")]
    pub as_manifests: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub out: crate::output_args::OutputArgs,
}

/// Output formats of `meshready caps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CapsFormat {
    /// kubectl's custom-columns table, then the verdict.
    Text,
    /// A JSON object: {psps: [{name, allowed_capabilities, default_add_capabilities,
    /// usable_via, ...}], verdict: {...}, sccs}.
    Json,
}

#[derive(Debug, Args)]
pub struct CapsArgs {
    /// The pods' namespace (RBAC is evaluated in it, as PodSecurityPolicy admission does).
    #[arg(short, long, value_name = "NAMESPACE")]
    pub namespace: String,
    /// The pods' ServiceAccount.
    #[arg(short = 's', long, value_name = "NAME")]
    pub service_account: String,
    /// Manifests with the PodSecurityPolicies, SCCs, Roles and bindings (files, directories,
    /// `-` for stdin).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CapsFormat::Text)]
    pub output: CapsFormat,
    #[command(flatten)]
    pub rules: RuleArgs,
}
