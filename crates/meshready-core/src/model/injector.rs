//! The mesh-wide injection configuration (versions, native sidecars, platform, interception)
//! resolved once per input from the settings and the objects (Nodes, SCCs, OpenShift
//! namespaces, the istiod image), and the proxy's UID/GID per namespace (Istio's
//! `GetProxyIDs`). The model owns it; `admission::inject` builds the injected pod from it.

use serde::Serialize;
use serde_json::Value;

use super::workload::Workload;

use crate::settings::{
    InterceptionMode, NEWEST_ISTIO_MINOR, NEWEST_KUBERNETES_MINOR, NativeSidecars, Platform,
    Settings,
};
use crate::source::{Node, Object};

/// The proxy's UID and GID unless OpenShift's namespace ranges say otherwise.
pub const DEFAULT_PROXY_ID: i64 = 1337;
/// The Istio minor version from which `ENABLE_NATIVE_SIDECARS` defaults to `auto`.
pub const NATIVE_SIDECARS_AUTO_SINCE_ISTIO: u32 = 27;
/// The kubelet minor version from which Istio's `auto` turns native sidecars on.
pub const NATIVE_SIDECARS_KUBELET: u32 = 33;
/// The OpenShift namespace annotation with the UID range.
pub const UID_RANGE_ANNOTATION: &str = "openshift.io/sa.scc.uid-range";
/// The OpenShift namespace annotation with the supplemental group ranges.
pub const SUPPLEMENTAL_GROUPS_ANNOTATION: &str = "openshift.io/sa.scc.supplemental-groups";

/// The mesh-wide injection configuration, resolved once per input from the settings and the
/// input (versions, Nodes, SCCs, OpenShift namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectConfig {
    /// Istio's minor version (1.N).
    pub istio_version: u32,
    /// Why that version: `--istio-version`, the istiod image, the injector ConfigMap, or the
    /// default.
    pub istio_version_source: String,
    /// Kubernetes' minor version (1.N).
    pub kubernetes_version: u32,
    /// Why that version.
    pub kubernetes_version_source: String,
    /// Istio CNI: `istio-validation` instead of `istio-init`.
    pub cni: bool,
    /// Whether `istio-proxy` is a native sidecar unless the pod says otherwise.
    pub native_sidecars: bool,
    /// Why native sidecars are on or off.
    pub native_sidecars_source: String,
    /// Whether the platform is OpenShift (proxy IDs from the namespace's ranges).
    pub openshift: bool,
    /// The mesh-wide interception mode.
    pub interception: InterceptionMode,
    /// `values.global.proxy.holdApplicationUntilProxyStarts`.
    pub hold_application_until_proxy_starts: bool,
}

impl Default for InjectConfig {
    fn default() -> Self {
        Self::resolve(&[], &Settings::default(), false)
    }
}

impl InjectConfig {
    /// Resolves the settings against the input.
    #[must_use]
    pub fn resolve(objects: &[Object], settings: &Settings, cni: bool) -> Self {
        let s = settings.inject;
        let (istio_version, istio_version_source) = match s.istio_version {
            Some(_) => (
                s.istio_version.unwrap_or(NEWEST_ISTIO_MINOR),
                "--istio-version".to_string(),
            ),
            None => detect_istio_version(objects).unwrap_or_else(|| {
                (
                    NEWEST_ISTIO_MINOR,
                    "the newest release; --istio-version changes it".to_string(),
                )
            }),
        };
        let (kubernetes_version, kubernetes_version_source) = match s.kubernetes_version {
            Some(v) => (v, "--kubernetes-version".to_string()),
            None => (
                NEWEST_KUBERNETES_MINOR,
                "the newest release; --kubernetes-version changes it".to_string(),
            ),
        };
        let (native_sidecars, native_sidecars_source) = match s.native_sidecars {
            NativeSidecars::On => (true, "--native-sidecars on".to_string()),
            NativeSidecars::Off => (false, "--native-sidecars off".to_string()),
            NativeSidecars::Auto if istio_version < NATIVE_SIDECARS_AUTO_SINCE_ISTIO => (
                false,
                format!(
                    "Istio 1.{istio_version} turns native sidecars on only when asked (auto from 1.{NATIVE_SIDECARS_AUTO_SINCE_ISTIO})"
                ),
            ),
            NativeSidecars::Auto => native_auto(objects, kubernetes_version),
        };
        let openshift = match s.platform {
            Platform::OpenShift => true,
            Platform::Kubernetes => false,
            Platform::Auto => detect_openshift(objects),
        };
        Self {
            istio_version,
            istio_version_source,
            kubernetes_version,
            kubernetes_version_source,
            cni,
            native_sidecars,
            native_sidecars_source,
            openshift,
            interception: s.interception,
            hold_application_until_proxy_starts: s.hold_application_until_proxy_starts,
        }
    }
}

/// `auto` from Istio 1.27: on when every Node of the input runs kubelet ≥ 1.33; without Nodes,
/// when the Kubernetes version is.
fn native_auto(objects: &[Object], kubernetes_version: u32) -> (bool, String) {
    let nodes: Vec<&Object> = objects.iter().filter(|o| o.kind == "Node").collect();
    if nodes.is_empty() {
        let on = kubernetes_version >= NATIVE_SIDECARS_KUBELET;
        return (
            on,
            format!(
                "--native-sidecars auto: Kubernetes 1.{kubernetes_version} {} 1.{NATIVE_SIDECARS_KUBELET}",
                if on { "is at least" } else { "is older than" }
            ),
        );
    }
    match nodes
        .iter()
        .find(|n| kubelet_minor(n).is_none_or(|m| m < NATIVE_SIDECARS_KUBELET))
    {
        Some(old) => (
            false,
            format!(
                "--native-sidecars auto: Node {} runs kubelet older than 1.{NATIVE_SIDECARS_KUBELET}",
                old.name
            ),
        ),
        None => (
            true,
            format!(
                "--native-sidecars auto: every Node runs kubelet 1.{NATIVE_SIDECARS_KUBELET} or newer"
            ),
        ),
    }
}

/// A Node's kubelet minor version (`status.nodeInfo.kubeletVersion`, `v1.33.0-eks-1`).
#[must_use]
pub fn kubelet_minor(node: &Object) -> Option<u32> {
    let v = node
        .root
        .at(&["status", "nodeInfo", "kubeletVersion"])
        .and_then(Node::as_str)?;
    minor_of(v.strip_prefix('v').unwrap_or(v))
}

/// The minor of `1.N[.P][-suffix]`.
#[must_use]
pub fn minor_of(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("1.")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Istio's version from the input: the image tag of an istiod Deployment's `discovery`
/// container, else `global.tag` in the injector ConfigMap's `values`.
#[must_use]
pub fn detect_istio_version(objects: &[Object]) -> Option<(u32, String)> {
    // Candidates by (namespace, name), so that the input's order does not matter.
    let mut sorted: Vec<&Object> = objects
        .iter()
        .filter(|o| {
            (o.kind == "Deployment" && o.name.starts_with("istiod"))
                || (o.kind == "ConfigMap" && o.name.starts_with("istio-sidecar-injector"))
        })
        .collect();
    sorted.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let from_istiod = sorted.iter().find_map(|o| {
        if o.kind != "Deployment" || !(o.name == "istiod" || o.name.starts_with("istiod-")) {
            return None;
        }
        let w = Workload::new(0, o)?;
        w.containers().find_map(|c| {
            let image = c.node.get("image").and_then(Node::as_str)?;
            let (_, tag) = image.rsplit_once(':')?;
            let minor = minor_of(tag)?;
            Some((
                minor,
                format!(
                    "the image of Deployment {}/{} ({image})",
                    o.namespace, o.name
                ),
            ))
        })
    });
    from_istiod.or_else(|| {
        sorted.iter().find_map(|o| {
            if o.kind != "ConfigMap"
                || !(o.name == "istio-sidecar-injector"
                    || o.name.starts_with("istio-sidecar-injector-"))
            {
                return None;
            }
            let values = o.root.at(&["data", "values"]).and_then(Node::as_str)?;
            let v: Value = serde_json::from_str(values).ok()?;
            let tag = v.pointer("/global/tag").and_then(Value::as_str)?;
            Some((
                minor_of(tag)?,
                format!("global.tag {tag} in ConfigMap {}/{}", o.namespace, o.name),
            ))
        })
    })
}

/// OpenShift when the input holds SCCs or Namespaces with `openshift.io/sa.scc.*` annotations.
#[must_use]
pub fn detect_openshift(objects: &[Object]) -> bool {
    objects.iter().any(|o| {
        (o.kind == "SecurityContextConstraints"
            && (o.api_version.starts_with("security.openshift.io/") || o.api_version == "v1"))
            || (o.kind == "Namespace"
                && o.root.at(&["metadata", "annotations"]).is_some_and(|a| {
                    a.entries()
                        .iter()
                        .any(|e| e.key.starts_with("openshift.io/sa.scc."))
                }))
    })
}

/// The proxy's UID and GID for a namespace, and where each came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyIds {
    /// `runAsUser` of `istio-proxy`.
    pub uid: i64,
    /// `runAsGroup` of `istio-proxy`.
    pub gid: i64,
    /// Where the UID came from (`Istio's default`, `the top of namespace "x"'s
    /// openshift.io/sa.scc.uid-range 1000620000/10000`).
    pub uid_source: String,
    /// Where the GID came from.
    pub gid_source: String,
}

impl Default for ProxyIds {
    fn default() -> Self {
        Self {
            uid: DEFAULT_PROXY_ID,
            gid: DEFAULT_PROXY_ID,
            uid_source: "Istio's default".into(),
            gid_source: "Istio's default".into(),
        }
    }
}

/// Istio's `GetProxyIDs`: on OpenShift the top of the namespace's UID range and of its first
/// supplemental-groups range (falling back to the UID range); 1337 otherwise.
#[must_use]
pub fn proxy_ids(openshift: bool, namespace: Option<&Object>) -> ProxyIds {
    let mut ids = ProxyIds::default();
    let Some(ns) = namespace.filter(|_| openshift) else {
        return ids;
    };
    let uid_range = ns
        .annotation(UID_RANGE_ANNOTATION)
        .filter(|v| !v.is_empty());
    if let Some(range) = &uid_range
        && let Some((_, top)) = parse_block(range)
    {
        ids.uid = top;
        ids.uid_source = format!(
            "the top of namespace {:?}'s {UID_RANGE_ANNOTATION} {range}",
            ns.name
        );
    }
    let (groups, key) = match ns.annotation(SUPPLEMENTAL_GROUPS_ANNOTATION) {
        Some(g) => (Some(g), SUPPLEMENTAL_GROUPS_ANNOTATION),
        None => (uid_range.clone(), UID_RANGE_ANNOTATION),
    };
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        let blocks: Option<Vec<(i64, i64)>> = groups.split(',').map(parse_block).collect();
        if let Some(first) = blocks.as_ref().and_then(|b| b.first()) {
            ids.gid = first.1;
            ids.gid_source = format!(
                "the top of namespace {:?}'s first {key} range {groups}",
                ns.name
            );
        }
    }
    ids
}

/// OpenShift's `ParseBlock`: `start/size` or `start-end` (as `fmt.Sscanf("%d/%d")` reads
/// them: leading digits, trailing text ignored) → (start, end).
pub(crate) fn parse_block(text: &str) -> Option<(i64, i64)> {
    let number = |s: &str| -> Option<u32> {
        let digits: String = s
            .trim_start()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    if let Some((start, size)) = text.split_once('/') {
        let (start, size) = (number(start)?, number(size)?);
        // uint32 arithmetic, as upstream.
        let end = start.wrapping_add(size).wrapping_sub(1);
        Some((i64::from(start), i64::from(end)))
    } else {
        let (start, end) = text.split_once('-')?;
        Some((i64::from(number(start)?), i64::from(number(end)?)))
    }
}
