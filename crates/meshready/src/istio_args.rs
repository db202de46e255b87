//! Flags of the injected pod's model (Istio and Kubernetes versions, native sidecars, platform, interception), shared by check, cluster, webhook, caps and inject.

use clap::{Args, ValueEnum};
use meshready_core::settings::{
    InjectSettings, InterceptionMode, NEWEST_ISTIO_MINOR, NEWEST_KUBERNETES_MINOR, NativeSidecars,
    OLDEST_ISTIO_MINOR, Platform,
};

use crate::config::Config;

/// How Istio injects pods; each value overrides the config file's.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Injection model")]
pub struct IstioArgs {
    /// Istio version to model, 1.20 to 1.31 [default: the istiod Deployment or injector
    /// ConfigMap in the input, else the newest].
    #[arg(long, value_name = "1.N", value_parser = parse_istio_version)]
    pub istio_version: Option<u32>,
    /// Kubernetes version to model [default: the newest]. PodSecurityPolicy is checked only up
    /// to 1.24; Pod Security `latest` means this version.
    #[arg(long, value_name = "1.N", value_parser = parse_kubernetes_version)]
    pub kubernetes_version: Option<u32>,
    /// Whether istio-proxy is a native sidecar (auto: Istio 1.27+ and every Node of the input
    /// at kubelet 1.33+; without Nodes, --kubernetes-version) [default: auto].
    #[arg(long, value_enum)]
    pub native_sidecars: Option<NativeSidecarsArg>,
    /// The platform (auto: OpenShift when the input has SCCs or Namespaces with
    /// openshift.io/sa.scc.* annotations) [default: auto].
    #[arg(long, value_enum)]
    pub platform: Option<PlatformArg>,
    /// The mesh-wide interception mode (pods may override it with
    /// sidecar.istio.io/interceptionMode) [default: redirect].
    #[arg(long, value_enum)]
    pub interception_mode: Option<InterceptionArg>,
    /// The mesh holds applications until the proxy starts (values.global.proxy.holdApplicationUntilProxyStarts).
    #[arg(long)]
    pub hold_application_until_proxy_starts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NativeSidecarsArg {
    /// istio-proxy is an init container with restartPolicy Always.
    On,
    /// istio-proxy is a regular container.
    Off,
    /// Istio's ENABLE_NATIVE_SIDECARS=auto.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlatformArg {
    /// Plain Kubernetes: the proxy runs as UID/GID 1337.
    Kubernetes,
    /// OpenShift: the proxy's UID/GID are the top of the namespace's ranges.
    Openshift,
    /// Detect OpenShift from the input.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InterceptionArg {
    /// iptables REDIRECT (Istio's default).
    Redirect,
    /// TPROXY: the proxy runs as root with NET_ADMIN.
    Tproxy,
}

impl From<NativeSidecarsArg> for NativeSidecars {
    fn from(a: NativeSidecarsArg) -> Self {
        match a {
            NativeSidecarsArg::On => Self::On,
            NativeSidecarsArg::Off => Self::Off,
            NativeSidecarsArg::Auto => Self::Auto,
        }
    }
}

impl From<PlatformArg> for Platform {
    fn from(a: PlatformArg) -> Self {
        match a {
            PlatformArg::Kubernetes => Self::Kubernetes,
            PlatformArg::Openshift => Self::OpenShift,
            PlatformArg::Auto => Self::Auto,
        }
    }
}

impl From<InterceptionArg> for InterceptionMode {
    fn from(a: InterceptionArg) -> Self {
        match a {
            InterceptionArg::Redirect => Self::Redirect,
            InterceptionArg::Tproxy => Self::Tproxy,
        }
    }
}

impl IstioArgs {
    /// The model's settings: these flags, then the config file, then the defaults.
    #[must_use]
    pub fn inject_settings(&self, config: &Config) -> InjectSettings {
        InjectSettings {
            istio_version: self.istio_version.or(config.istio_version),
            kubernetes_version: self.kubernetes_version.or(config.kubernetes_version),
            native_sidecars: self
                .native_sidecars
                .or(config.native_sidecars)
                .unwrap_or(NativeSidecarsArg::Auto)
                .into(),
            platform: self
                .platform
                .or(config.platform)
                .unwrap_or(PlatformArg::Auto)
                .into(),
            interception: self
                .interception_mode
                .or(config.interception_mode)
                .unwrap_or(InterceptionArg::Redirect)
                .into(),
            hold_application_until_proxy_starts: self.hold_application_until_proxy_starts,
        }
    }
}

/// Parses `1.N` within `range`.
pub fn parse_minor(text: &str, what: &str, oldest: u32, newest: u32) -> Result<u32, String> {
    let minor = text
        .strip_prefix("v")
        .unwrap_or(text)
        .strip_prefix("1.")
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|m| m.parse::<u32>().ok())
        .ok_or_else(|| format!("invalid {what} version {text:?} (expected 1.N)"))?;
    if (oldest..=newest).contains(&minor) {
        Ok(minor)
    } else {
        Err(format!(
            "{what} version 1.{minor} is not supported (expected 1.{oldest} to 1.{newest})"
        ))
    }
}

/// Parses `--istio-version`.
pub fn parse_istio_version(text: &str) -> Result<u32, String> {
    parse_minor(text, "Istio", OLDEST_ISTIO_MINOR, NEWEST_ISTIO_MINOR)
}

/// Parses `--kubernetes-version`.
pub fn parse_kubernetes_version(text: &str) -> Result<u32, String> {
    parse_minor(
        text,
        "Kubernetes",
        meshready_core::settings::OLDEST_KUBERNETES_MINOR,
        NEWEST_KUBERNETES_MINOR,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_within_their_range() {
        assert_eq!(parse_istio_version("1.27"), Ok(27));
        assert!(parse_istio_version("1.19").is_err());
        assert!(parse_istio_version("1.32").is_err());
        assert!(parse_istio_version("1.x").is_err());
        assert_eq!(parse_kubernetes_version("v1.24"), Ok(24));
        assert!(parse_kubernetes_version("2.0").is_err());
    }

    #[test]
    fn flags_override_the_config_file() {
        let config = Config {
            istio_version: Some(22),
            platform: Some(PlatformArg::Openshift),
            ..Config::default()
        };
        let args = IstioArgs {
            istio_version: Some(27),
            ..IstioArgs::default()
        };
        let s = args.inject_settings(&config);
        assert_eq!(s.istio_version, Some(27));
        assert_eq!(s.platform, Platform::OpenShift);
        assert_eq!(s.native_sidecars, NativeSidecars::Auto);
    }
}
