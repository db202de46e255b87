//! Pod Security Admission: every baseline and restricted check of kubernetes/pod-security-admission, for every policy version, on a pod's metadata and spec trees.
//!
//! The checks follow `policy/check_*.go` and the registry rules of `policy/registry.go`: a
//! check applies from its minimum version, the newest versioned implementation at or below the
//! evaluated version runs, `restricted` runs every baseline check except those a restricted check
//! overrides at that version, and a version newer than the newest known one is evaluated as the
//! newest. Each violation names one offender (a container, the pod, a volume, a sysctl, an
//! annotation) with upstream's reason and detail wording for that offender, and the JSON pointer
//! of the most specific field, relative to the pod (template) root (`/spec/...`, `/metadata/...`).

use std::collections::BTreeSet;
use std::fmt;

use crate::source::Node;
use crate::source::node::escape;

/// The newest policy version (`v1.<LATEST_MINOR>`) the checks know; `latest` evaluates as it.
pub const LATEST_MINOR: u32 = 37;

/// Namespace label naming the enforced level.
pub const ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// Namespace label naming the enforced policy version.
pub const ENFORCE_VERSION_LABEL: &str = "pod-security.kubernetes.io/enforce-version";

/// A Pod Security Standards level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No restrictions.
    Privileged,
    /// Prevents known privilege escalations.
    Baseline,
    /// Hardened pods.
    Restricted,
}

impl Level {
    /// Parses a level as `api.ParseLevel` does (exact, case-sensitive).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "privileged" => Some(Self::Privileged),
            "baseline" => Some(Self::Baseline),
            "restricted" => Some(Self::Restricted),
            _ => None,
        }
    }

    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privileged => "privileged",
            Self::Baseline => "baseline",
            Self::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy version: `latest` or `v1.<minor>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// The newest checks.
    Latest,
    /// `v1.<minor>`.
    Minor(u32),
}

impl Version {
    /// Parses a version as `api.ParseVersion` does: `latest` or `^v1\.(0|[1-9][0-9]*)$`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        if s == "latest" {
            return Some(Self::Latest);
        }
        let minor = s.strip_prefix("v1.")?;
        if minor.is_empty()
            || !minor.bytes().all(|b| b.is_ascii_digit())
            || (minor.len() > 1 && minor.starts_with('0'))
        {
            return None;
        }
        minor.parse().ok().map(Self::Minor)
    }

    /// The minor version whose checks run (versions newer than the newest known run as it).
    #[must_use]
    pub fn effective_minor(self) -> u32 {
        match self {
            Self::Latest => LATEST_MINOR,
            Self::Minor(m) => m.min(LATEST_MINOR),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Latest => f.write_str("latest"),
            Self::Minor(m) => write!(f, "v1.{m}"),
        }
    }
}

/// A level at a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy {
    /// The level.
    pub level: Level,
    /// The version of the level's checks.
    pub version: Version,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            level: Level::Privileged,
            version: Version::Latest,
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.level, self.version)
    }
}

impl Policy {
    /// Parses `LEVEL[:VERSION]` (`baseline:v1.25`, `restricted`, `privileged:latest`).
    ///
    /// # Errors
    /// A message naming the bad level or version.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (level, version) = s.split_once(':').unwrap_or((s, "latest"));
        let level = Level::parse(level).ok_or_else(|| {
            format!(
                "invalid pod security level {level:?} (expected privileged, baseline or restricted)"
            )
        })?;
        let version = Version::parse(version).ok_or_else(|| {
            format!("invalid pod security version {version:?} (expected latest or v1.<minor>)")
        })?;
        Ok(Self { level, version })
    }

    /// The enforced policy of a namespace from its labels, with Kubernetes' fallbacks
    /// (`api.PolicyToEvaluate` with the default configuration): a missing level is `privileged`,
    /// an invalid one `restricted` (fail closed); a missing or invalid version is `latest`.
    #[must_use]
    pub fn from_labels(labels: Option<&Node>) -> Self {
        let label = |key: &str| {
            labels
                .and_then(|l| l.get(key))
                .map(|v| v.scalar_text().unwrap_or_default())
        };
        let level = label(ENFORCE_LABEL).map_or(Level::Privileged, |v| {
            Level::parse(&v).unwrap_or(Level::Restricted)
        });
        let version = label(ENFORCE_VERSION_LABEL)
            .and_then(|v| Version::parse(&v))
            .unwrap_or(Version::Latest);
        Self { level, version }
    }

    /// Evaluates a pod (its `metadata` and `spec`) and returns every violation, in upstream's
    /// check order.
    #[must_use]
    pub fn evaluate(&self, meta: &Node, spec: &Node) -> Vec<Violation> {
        if self.level == Level::Privileged {
            return Vec::new();
        }
        let minor = self.version.effective_minor();
        let pod = Pod::new(meta, spec, minor);
        let mut out = Vec::new();
        let overridden: Vec<Check> = if self.level == Level::Restricted {
            CHECKS
                .iter()
                .filter(|c| c.level == Level::Restricted && c.since <= minor)
                .filter_map(|c| c.overrides)
                .collect()
        } else {
            Vec::new()
        };
        for check in CHECKS {
            if check.level > self.level || check.since > minor || overridden.contains(&check.id) {
                continue;
            }
            let mut offenses = Vec::new();
            (check.run)(&pod, &mut offenses);
            out.extend(offenses.into_iter().map(|o| Violation {
                check: check.id,
                reason: o.reason,
                detail: o.detail,
                container: o.container,
                values: o.values,
                pointer: o.pointer,
            }));
        }
        out
    }
}

/// One Pod Security Admission check, by upstream's check ID (`check_<id>.go` in
/// `k8s.io/pod-security-admission/policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// `appArmorProfile`.
    AppArmorProfile,
    /// `capabilities_baseline`.
    CapabilitiesBaseline,
    /// `hostNamespaces`.
    HostNamespaces,
    /// `hostPathVolumes`.
    HostPathVolumes,
    /// `hostPorts`.
    HostPorts,
    /// `hostProbesAndHostLifecycle`.
    HostProbesAndHostLifecycle,
    /// `privileged`.
    Privileged,
    /// `procMount`.
    ProcMount,
    /// `seLinuxOptions`.
    SeLinuxOptions,
    /// `seccompProfile_baseline`.
    SeccompProfileBaseline,
    /// `sysctls`.
    Sysctls,
    /// `windowsHostProcess`.
    WindowsHostProcess,
    /// `allowPrivilegeEscalation`.
    AllowPrivilegeEscalation,
    /// `capabilities_restricted`.
    CapabilitiesRestricted,
    /// `procMount_restricted`.
    ProcMountRestricted,
    /// `restrictedVolumes`.
    RestrictedVolumes,
    /// `runAsNonRoot`.
    RunAsNonRoot,
    /// `runAsUser`.
    RunAsUser,
    /// `seccompProfile_restricted`.
    SeccompProfileRestricted,
}

impl Check {
    /// Upstream's check ID (`capabilities_baseline`).
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::AppArmorProfile => "appArmorProfile",
            Self::CapabilitiesBaseline => "capabilities_baseline",
            Self::HostNamespaces => "hostNamespaces",
            Self::HostPathVolumes => "hostPathVolumes",
            Self::HostPorts => "hostPorts",
            Self::HostProbesAndHostLifecycle => "hostProbesAndHostLifecycle",
            Self::Privileged => "privileged",
            Self::ProcMount => "procMount",
            Self::SeLinuxOptions => "seLinuxOptions",
            Self::SeccompProfileBaseline => "seccompProfile_baseline",
            Self::Sysctls => "sysctls",
            Self::WindowsHostProcess => "windowsHostProcess",
            Self::AllowPrivilegeEscalation => "allowPrivilegeEscalation",
            Self::CapabilitiesRestricted => "capabilities_restricted",
            Self::ProcMountRestricted => "procMount_restricted",
            Self::RestrictedVolumes => "restrictedVolumes",
            Self::RunAsNonRoot => "runAsNonRoot",
            Self::RunAsUser => "runAsUser",
            Self::SeccompProfileRestricted => "seccompProfile_restricted",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One reason why a pod is rejected: one offender of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check.
    pub check: Check,
    /// Upstream's forbidden reason (`non-default capabilities`).
    pub reason: String,
    /// Upstream's forbidden detail, for this offender only.
    pub detail: String,
    /// The offending container, if the violation is about one.
    pub container: Option<String>,
    /// The offending values (capabilities, hosts, types...), when the check names any.
    pub values: Vec<String>,
    /// JSON pointer of the most specific offending field, relative to the pod (template) root.
    pub pointer: String,
}

/// What a check function reports: a violation before the registry names its check.
struct Offense {
    reason: String,
    detail: String,
    container: Option<String>,
    values: Vec<String>,
    pointer: String,
}

impl Violation {
    /// `reason (detail)`, as upstream's aggregated message shows it.
    #[must_use]
    pub fn message(&self) -> String {
        if self.detail.is_empty() {
            self.reason.clone()
        } else {
            format!("{} ({})", self.reason, self.detail)
        }
    }
}

// ----------------------------------------------------------------------------------------------
// The pod as the checks see it.

/// A container as `visitContainers` hands it over.
struct Ctr<'a> {
    name: String,
    node: &'a Node,
    /// `/spec/<list>/<index>`.
    ptr: String,
    /// Its non-null `securityContext`.
    sc: Option<&'a Node>,
}

impl Ctr<'_> {
    fn sc_field(&self, keys: &[&str]) -> Option<&Node> {
        self.sc.and_then(|sc| at(sc, keys))
    }
}

struct Pod<'a> {
    meta: &'a Node,
    spec: &'a Node,
    minor: u32,
    containers: Vec<Ctr<'a>>,
    /// The pod's non-null `securityContext`.
    sc: Option<&'a Node>,
}

impl<'a> Pod<'a> {
    fn new(meta: &'a Node, spec: &'a Node, minor: u32) -> Self {
        let mut containers = Vec::new();
        for list in ["initContainers", "containers", "ephemeralContainers"] {
            for (i, node) in spec
                .get(list)
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if node.is_null() {
                    continue;
                }
                containers.push(Ctr {
                    name: node.get("name").map(text).unwrap_or_default(),
                    node,
                    ptr: format!("/spec/{list}/{i}"),
                    sc: present(node.get("securityContext")),
                });
            }
        }
        Self {
            meta,
            spec,
            minor,
            containers,
            sc: present(spec.get("securityContext")),
        }
    }

    fn sc_field(&self, keys: &[&str]) -> Option<&'a Node> {
        self.sc.and_then(|sc| at(sc, keys))
    }

    /// `spec.os.name == windows` (the exemptions from v1.25).
    fn windows(&self) -> bool {
        at(self.spec, &["os", "name"]).map(text).as_deref() == Some("windows")
    }

    /// `spec.hostUsers: false` (the user-namespace relaxations from v1.35).
    fn user_namespace(&self) -> bool {
        at(self.spec, &["hostUsers"]).and_then(Node::as_bool) == Some(false)
    }

    fn annotation(&self, key: &str) -> Option<&'a Node> {
        at(self.meta, &["annotations", key])
    }
}

fn present(n: Option<&Node>) -> Option<&Node> {
    n.filter(|n| !n.is_null())
}

/// Follows keys, treating `null` as absent (as Go's decoding into pointers does).
fn at<'a>(n: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    keys.iter().try_fold(n, |n, k| present(n.get(k)))
}

fn text(n: &Node) -> String {
    n.scalar_text().unwrap_or_default()
}

fn join_quote<S: AsRef<str>>(items: &[S]) -> String {
    items
        .iter()
        .map(|s| format!("{:?}", s.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural<'s>(singular: &'s str, plural: &'s str, n: usize) -> &'s str {
    if n == 1 { singular } else { plural }
}

fn violation(
    reason: &str,
    detail: String,
    container: Option<&str>,
    values: Vec<String>,
    pointer: String,
) -> Offense {
    Offense {
        reason: reason.to_string(),
        detail,
        container: container.map(str::to_string),
        values,
        pointer,
    }
}

/// A pointer to a container's `securityContext` field, falling back to the deepest part that
/// exists (the field, the `securityContext`, the container).
fn sc_pointer(c: &Ctr<'_>, keys: &[&str]) -> String {
    let mut ptr = c.ptr.clone();
    let Some(mut node) = c.sc else {
        return ptr;
    };
    ptr.push_str("/securityContext");
    for k in keys {
        match node.get(k) {
            Some(n) => {
                ptr.push('/');
                ptr.push_str(&escape(k));
                node = n;
            }
            None => break,
        }
    }
    ptr
}

/// The same for the pod-level `securityContext`.
fn pod_sc_pointer(pod: &Pod<'_>, keys: &[&str]) -> String {
    let mut ptr = "/spec".to_string();
    let Some(mut node) = pod.sc else {
        return ptr;
    };
    ptr.push_str("/securityContext");
    for k in keys {
        match node.get(k) {
            Some(n) => {
                ptr.push('/');
                ptr.push_str(&escape(k));
                node = n;
            }
            None => break,
        }
    }
    ptr
}

// ----------------------------------------------------------------------------------------------
// The registry.

struct CheckDef {
    id: Check,
    level: Level,
    /// Minimum minor version.
    since: u32,
    /// The baseline check this restricted check replaces (at every version it applies to).
    overrides: Option<Check>,
    run: fn(&Pod<'_>, &mut Vec<Offense>),
}

/// Every check, baseline then restricted, each group sorted by ID (upstream's order).
static CHECKS: &[CheckDef] = &[
    CheckDef {
        id: Check::AppArmorProfile,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: app_armor_profile,
    },
    CheckDef {
        id: Check::CapabilitiesBaseline,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: capabilities_baseline,
    },
    CheckDef {
        id: Check::HostNamespaces,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: host_namespaces,
    },
    CheckDef {
        id: Check::HostPathVolumes,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: host_path_volumes,
    },
    CheckDef {
        id: Check::HostPorts,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: host_ports,
    },
    CheckDef {
        id: Check::HostProbesAndHostLifecycle,
        level: Level::Baseline,
        since: 34,
        overrides: None,
        run: host_probes_and_host_lifecycle,
    },
    CheckDef {
        id: Check::Privileged,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: privileged,
    },
    CheckDef {
        id: Check::ProcMount,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: proc_mount_baseline,
    },
    CheckDef {
        id: Check::SeLinuxOptions,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: se_linux_options,
    },
    CheckDef {
        id: Check::SeccompProfileBaseline,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: seccomp_profile_baseline,
    },
    CheckDef {
        id: Check::Sysctls,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: sysctls,
    },
    CheckDef {
        id: Check::WindowsHostProcess,
        level: Level::Baseline,
        since: 0,
        overrides: None,
        run: windows_host_process,
    },
    CheckDef {
        id: Check::AllowPrivilegeEscalation,
        level: Level::Restricted,
        since: 8,
        overrides: None,
        run: allow_privilege_escalation,
    },
    CheckDef {
        id: Check::CapabilitiesRestricted,
        level: Level::Restricted,
        since: 22,
        overrides: Some(Check::CapabilitiesBaseline),
        run: capabilities_restricted,
    },
    CheckDef {
        id: Check::ProcMountRestricted,
        level: Level::Restricted,
        since: 35,
        overrides: Some(Check::ProcMount),
        run: proc_mount_unconditional,
    },
    CheckDef {
        id: Check::RestrictedVolumes,
        level: Level::Restricted,
        since: 0,
        overrides: Some(Check::HostPathVolumes),
        run: restricted_volumes,
    },
    CheckDef {
        id: Check::RunAsNonRoot,
        level: Level::Restricted,
        since: 0,
        overrides: None,
        run: run_as_non_root,
    },
    CheckDef {
        id: Check::RunAsUser,
        level: Level::Restricted,
        since: 23,
        overrides: None,
        run: run_as_user,
    },
    CheckDef {
        id: Check::SeccompProfileRestricted,
        level: Level::Restricted,
        since: 19,
        overrides: Some(Check::SeccompProfileBaseline),
        run: seccomp_profile_restricted,
    },
];

/// The IDs of every check, in evaluation order.
#[must_use]
pub fn check_ids() -> Vec<&'static str> {
    CHECKS.iter().map(|c| c.id.id()).collect()
}

// ----------------------------------------------------------------------------------------------
// Baseline checks.

const APPARMOR_ANNOTATION_PREFIX: &str = "container.apparmor.security.beta.kubernetes.io/";

/// `check_appArmorProfile.go`: profile types RuntimeDefault / Localhost only; the beta
/// annotations `runtime/default`, `localhost/*` or empty only.
fn app_armor_profile(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    let allowed_type = |t: &str| matches!(t, "RuntimeDefault" | "Localhost");
    let detail = |who: &str, v: &str| format!("{who} must not set AppArmor profile type to {v:?}");
    if let Some(p) = pod.sc_field(&["appArmorProfile"]) {
        let t = p.get("type").map(text).unwrap_or_default();
        if !allowed_type(&t) {
            out.push(violation(
                "forbidden AppArmor profile",
                detail("pod", &t),
                None,
                vec![t],
                pod_sc_pointer(pod, &["appArmorProfile", "type"]),
            ));
        }
    }
    for c in &pod.containers {
        if let Some(p) = c.sc_field(&["appArmorProfile"]) {
            let t = p.get("type").map(text).unwrap_or_default();
            if !allowed_type(&t) {
                out.push(violation(
                    "forbidden AppArmor profile",
                    detail(&format!("container {:?}", c.name), &t),
                    Some(&c.name),
                    vec![t],
                    sc_pointer(c, &["appArmorProfile", "type"]),
                ));
            }
        }
    }
    let mut annotations: Vec<(&str, String)> = pod
        .meta
        .get("annotations")
        .map(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter(|e| e.key.starts_with(APPARMOR_ANNOTATION_PREFIX))
        .map(|e| (&*e.key, text(&e.value)))
        .filter(|(_, v)| !(v.is_empty() || v == "runtime/default" || v.starts_with("localhost/")))
        .collect();
    annotations.sort();
    for (k, v) in annotations {
        let container = &k[APPARMOR_ANNOTATION_PREFIX.len()..];
        let value = format!("{k}={v:?}");
        out.push(violation(
            "forbidden AppArmor profile",
            detail("annotation", &value),
            pod.containers
                .iter()
                .any(|c| c.name == container)
                .then_some(container),
            vec![value],
            format!("/metadata/annotations/{}", escape(k)),
        ));
    }
}

/// The capabilities a baseline pod may add (`capabilities_allowed_1_0`).
pub const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The added capabilities of a container outside `allowed`: (sorted distinct values, index of
/// the first offending entry).
fn forbidden_adds(c: &Ctr<'_>, allowed: &[&str]) -> Option<(Vec<String>, usize)> {
    let add = c.sc_field(&["capabilities", "add"])?;
    let mut bad = BTreeSet::new();
    let mut first = None;
    for (i, cap) in add.items().iter().enumerate() {
        let cap = text(cap);
        if !allowed.contains(&cap.as_str()) {
            first.get_or_insert(i);
            bad.insert(cap);
        }
    }
    first.map(|i| (bad.into_iter().collect(), i))
}

/// `check_capabilities_baseline.go`: added capabilities within the 13 defaults.
fn capabilities_baseline(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for c in &pod.containers {
        if let Some((caps, i)) = forbidden_adds(c, &BASELINE_CAPABILITIES) {
            out.push(violation(
                "non-default capabilities",
                format!(
                    "container {:?} must not include {} in securityContext.capabilities.add",
                    c.name,
                    join_quote(&caps)
                ),
                Some(&c.name),
                caps,
                format!("{}/securityContext/capabilities/add/{i}", c.ptr),
            ));
        }
    }
}

/// `check_hostNamespaces.go`: no hostNetwork, hostPID, hostIPC.
fn host_namespaces(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for key in ["hostNetwork", "hostPID", "hostIPC"] {
        if at(pod.spec, &[key]).and_then(Node::as_bool) == Some(true) {
            out.push(violation(
                "host namespaces",
                format!("{key}=true"),
                None,
                Vec::new(),
                format!("/spec/{key}"),
            ));
        }
    }
}

fn volumes<'a>(pod: &Pod<'a>) -> impl Iterator<Item = (usize, &'a Node)> {
    pod.spec
        .get("volumes")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_null())
}

/// `check_hostPathVolumes.go`: no hostPath volumes.
fn host_path_volumes(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for (i, v) in volumes(pod) {
        if present(v.get("hostPath")).is_some() {
            let name = v.get("name").map(text).unwrap_or_default();
            out.push(violation(
                "hostPath volumes",
                format!("volume {name:?}"),
                None,
                vec![name],
                format!("/spec/volumes/{i}/hostPath"),
            ));
        }
    }
}

/// `check_hostPorts.go`: no non-zero hostPort.
fn host_ports(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for c in &pod.containers {
        let mut ports = BTreeSet::new();
        let mut first = None;
        for (i, p) in c
            .node
            .get("ports")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(hp) = at(p, &["hostPort"]).and_then(Node::as_i64)
                && hp != 0
            {
                first.get_or_insert(i);
                ports.insert(hp.to_string());
            }
        }
        if let Some(i) = first {
            let ports: Vec<String> = ports.into_iter().collect();
            out.push(violation(
                "hostPort",
                format!(
                    "container {:?} uses {} {}",
                    c.name,
                    plural("hostPort", "hostPorts", ports.len()),
                    ports.join(", ")
                ),
                Some(&c.name),
                ports,
                format!("{}/ports/{i}/hostPort", c.ptr),
            ));
        }
    }
}

/// `check_hostProbesAndhostLifecycle.go` (v1.34+): probes and lifecycle handlers must not name
/// a host.
fn host_probes_and_host_lifecycle(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    const HANDLERS: [&[&str]; 5] = [
        &["livenessProbe"],
        &["readinessProbe"],
        &["startupProbe"],
        &["lifecycle", "postStart"],
        &["lifecycle", "preStop"],
    ];
    for c in &pod.containers {
        let mut hosts = BTreeSet::new();
        let mut first = None;
        for path in HANDLERS {
            let Some(handler) = at(c.node, path) else {
                continue;
            };
            for action in ["httpGet", "tcpSocket"] {
                if let Some(host) = at(handler, &[action, "host"]).map(text)
                    && !host.is_empty()
                {
                    first.get_or_insert_with(|| {
                        format!("{}/{}/{action}/host", c.ptr, path.join("/"))
                    });
                    hosts.insert(host);
                }
            }
        }
        if let Some(ptr) = first {
            let hosts: Vec<String> = hosts.into_iter().collect();
            out.push(violation(
                "probe or lifecycle host",
                format!(
                    "container {:?} uses {} {}",
                    c.name,
                    plural(
                        "probe or lifecycle host",
                        "probe or lifecycle hosts",
                        hosts.len()
                    ),
                    join_quote(&hosts)
                ),
                Some(&c.name),
                hosts,
                ptr,
            ));
        }
    }
}

/// `check_privileged.go`: no `privileged: true`.
fn privileged(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for c in &pod.containers {
        if c.sc_field(&["privileged"]).and_then(Node::as_bool) == Some(true) {
            out.push(violation(
                "privileged",
                format!(
                    "container {:?} must not set securityContext.privileged=true",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["privileged"]),
            ));
        }
    }
}

/// `check_procMount_baseline.go`: procMount `Default` or unset; from v1.35 any value when the
/// pod has its own user namespace.
fn proc_mount_baseline(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 35 && pod.user_namespace() {
        return;
    }
    proc_mount_unconditional(pod, out);
}

/// `procMount_1_0`: procMount `Default` or unset.
fn proc_mount_unconditional(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for c in &pod.containers {
        if let Some(pm) = c.sc_field(&["procMount"]).map(text)
            && pm != "Default"
        {
            out.push(violation(
                "procMount",
                format!(
                    "container {:?} must not set securityContext.procMount to {pm:?}",
                    c.name
                ),
                Some(&c.name),
                vec![pm],
                sc_pointer(c, &["procMount"]),
            ));
        }
    }
}

/// `check_seLinuxOptions.go`: type empty, `container_t`, `container_init_t`, `container_kvm_t`
/// (and `container_engine_t` from v1.31); no user, no role.
fn se_linux_options(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    let minor = pod.minor;
    let check = |opts: &Node| -> Option<(Vec<String>, Vec<String>, &'static str)> {
        let t = opts.get("type").map(text).unwrap_or_default();
        let mut allowed = vec!["", "container_t", "container_init_t", "container_kvm_t"];
        if minor >= 31 {
            allowed.push("container_engine_t");
        }
        let mut data = Vec::new();
        let mut values = Vec::new();
        let mut field = None;
        if !allowed.contains(&t.as_str()) {
            data.push(format!("type {t:?}"));
            values.push(t);
            field.get_or_insert("type");
        }
        for key in ["user", "role"] {
            if !opts.get(key).map(text).unwrap_or_default().is_empty() {
                data.push(format!("{key} may not be set"));
                field.get_or_insert(key);
            }
        }
        field.map(|f| (data, values, f))
    };
    if let Some(opts) = pod.sc_field(&["seLinuxOptions"])
        && let Some((data, values, field)) = check(opts)
    {
        out.push(violation(
            "seLinuxOptions",
            format!(
                "pod set forbidden securityContext.seLinuxOptions: {}",
                data.join("; ")
            ),
            None,
            values,
            pod_sc_pointer(pod, &["seLinuxOptions", field]),
        ));
    }
    for c in &pod.containers {
        if let Some(opts) = c.sc_field(&["seLinuxOptions"])
            && let Some((data, values, field)) = check(opts)
        {
            out.push(violation(
                "seLinuxOptions",
                format!(
                    "container {:?} set forbidden securityContext.seLinuxOptions: {}",
                    c.name,
                    data.join("; ")
                ),
                Some(&c.name),
                values,
                sc_pointer(c, &["seLinuxOptions", field]),
            ));
        }
    }
}

const SECCOMP_POD_ANNOTATION: &str = "seccomp.security.alpha.kubernetes.io/pod";
const SECCOMP_CONTAINER_ANNOTATION_PREFIX: &str = "container.seccomp.security.alpha.kubernetes.io/";

fn valid_seccomp_type(t: &str) -> bool {
    matches!(t, "RuntimeDefault" | "Localhost")
}

/// `check_seccompProfile_baseline.go`: before v1.19 the alpha annotations must not be
/// `unconfined` (only `runtime/default`, `docker/default`, `localhost/*`); from v1.19 the
/// `seccompProfile.type` fields, where set, must be RuntimeDefault or Localhost.
fn seccomp_profile_baseline(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor < 19 {
        let valid = |v: &str| {
            v == "runtime/default" || v == "docker/default" || v.starts_with("localhost/")
        };
        let mut check = |key: String, container: Option<&str>| {
            if let Some(v) = pod.annotation(&key).map(text)
                && !valid(&v)
            {
                let value = format!("{key}={v:?}");
                out.push(violation(
                    "seccompProfile",
                    format!("forbidden annotation {value}"),
                    container,
                    vec![v],
                    format!("/metadata/annotations/{}", escape(&key)),
                ));
            }
        };
        check(SECCOMP_POD_ANNOTATION.to_string(), None);
        for c in &pod.containers {
            check(
                format!("{SECCOMP_CONTAINER_ANNOTATION_PREFIX}{}", c.name),
                Some(&c.name),
            );
        }
        return;
    }
    seccomp_fields(pod, out, false);
}

/// The `seccompProfile` field checks; `require` adds restricted's "must be set" rule.
fn seccomp_fields(pod: &Pod<'_>, out: &mut Vec<Offense>, require: bool) {
    let mut pod_set = false;
    if let Some(p) = pod.sc_field(&["seccompProfile"]) {
        let t = p.get("type").map(text).unwrap_or_default();
        if valid_seccomp_type(&t) {
            pod_set = true;
        } else {
            out.push(violation(
                "seccompProfile",
                format!("pod must not set securityContext.seccompProfile.type to {t:?}"),
                None,
                vec![t],
                pod_sc_pointer(pod, &["seccompProfile", "type"]),
            ));
        }
    }
    for c in &pod.containers {
        match c.sc_field(&["seccompProfile"]) {
            Some(p) => {
                let t = p.get("type").map(text).unwrap_or_default();
                if !valid_seccomp_type(&t) {
                    out.push(violation(
                        "seccompProfile",
                        format!(
                            "container {:?} must not set securityContext.seccompProfile.type to {t:?}",
                            c.name
                        ),
                        Some(&c.name),
                        vec![t],
                        sc_pointer(c, &["seccompProfile", "type"]),
                    ));
                }
            }
            None if require && !pod_set => out.push(violation(
                "seccompProfile",
                format!(
                    "pod or container {:?} must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\"",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["seccompProfile"]),
            )),
            None => {}
        }
    }
}

/// The safe sysctls at a minor version (`check_sysctls.go`).
#[must_use]
pub fn safe_sysctls(minor: u32) -> Vec<&'static str> {
    let mut allowed = vec![
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ];
    if minor >= 27 {
        allowed.push("net.ipv4.ip_local_reserved_ports");
    }
    if minor >= 29 {
        allowed.extend([
            "net.ipv4.tcp_keepalive_time",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_keepalive_intvl",
            "net.ipv4.tcp_keepalive_probes",
        ]);
    }
    if minor >= 32 {
        allowed.extend(["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]);
    }
    if minor >= 37 {
        allowed.extend([
            "net.ipv4.tcp_slow_start_after_idle",
            "net.ipv4.tcp_notsent_lowat",
        ]);
    }
    allowed
}

/// `check_sysctls.go`: only the safe sysctls of the version.
fn sysctls(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    let allowed = safe_sysctls(pod.minor);
    let Some(list) = pod.sc_field(&["sysctls"]) else {
        return;
    };
    for (i, s) in list.items().iter().enumerate() {
        let name = s.get("name").map(text).unwrap_or_default();
        if !allowed.contains(&name.as_str()) {
            out.push(violation(
                "forbidden sysctls",
                name.clone(),
                None,
                vec![name],
                format!("{}/{i}", pod_sc_pointer(pod, &["sysctls"])),
            ));
        }
    }
}

/// `check_windowsHostProcess.go`: no `windowsOptions.hostProcess: true`.
fn windows_host_process(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    const KEYS: [&str; 2] = ["windowsOptions", "hostProcess"];
    if pod.sc_field(&KEYS).and_then(Node::as_bool) == Some(true) {
        out.push(violation(
            "hostProcess",
            "pod must not set securityContext.windowsOptions.hostProcess=true".into(),
            None,
            Vec::new(),
            pod_sc_pointer(pod, &KEYS),
        ));
    }
    for c in &pod.containers {
        if c.sc_field(&KEYS).and_then(Node::as_bool) == Some(true) {
            out.push(violation(
                "hostProcess",
                format!(
                    "container {:?} must not set securityContext.windowsOptions.hostProcess=true",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &KEYS),
            ));
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Restricted checks.

/// `check_allowPrivilegeEscalation.go` (v1.8+; Windows pods exempt from v1.25): every container
/// sets `allowPrivilegeEscalation: false`.
fn allow_privilege_escalation(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 25 && pod.windows() {
        return;
    }
    for c in &pod.containers {
        if c.sc_field(&["allowPrivilegeEscalation"])
            .and_then(Node::as_bool)
            != Some(false)
        {
            out.push(violation(
                "allowPrivilegeEscalation != false",
                format!(
                    "container {:?} must set securityContext.allowPrivilegeEscalation=false",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["allowPrivilegeEscalation"]),
            ));
        }
    }
}

/// `check_capabilities_restricted.go` (v1.22+, overrides `capabilities_baseline`; Windows pods
/// exempt from v1.25): every container drops `ALL` and adds nothing but `NET_BIND_SERVICE`.
fn capabilities_restricted(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 25 && pod.windows() {
        return;
    }
    for c in &pod.containers {
        let drops_all = c
            .sc_field(&["capabilities", "drop"])
            .is_some_and(|d| d.items().iter().any(|x| x.as_str() == Some("ALL")));
        if !drops_all {
            out.push(violation(
                "unrestricted capabilities",
                format!(
                    "container {:?} must set securityContext.capabilities.drop=[\"ALL\"]",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["capabilities", "drop"]),
            ));
        }
        if let Some((caps, i)) = forbidden_adds(c, &["NET_BIND_SERVICE"]) {
            out.push(violation(
                "unrestricted capabilities",
                format!(
                    "container {:?} must not include {} in securityContext.capabilities.add",
                    c.name,
                    join_quote(&caps)
                ),
                Some(&c.name),
                caps,
                format!("{}/securityContext/capabilities/add/{i}", c.ptr),
            ));
        }
    }
}

/// Volume sources that the restricted level allows.
const ALLOWED_VOLUME_SOURCES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];

/// Restricted volume sources, in the order upstream names a volume's type.
const RESTRICTED_VOLUME_SOURCES: [&str; 21] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
];

/// `check_restrictedVolumes.go` (overrides `hostPathVolumes`): only configMap, csi,
/// downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes.
/// A volume that names no source at all is an emptyDir (API defaulting runs before admission).
fn restricted_volumes(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    for (i, v) in volumes(pod) {
        let source = RESTRICTED_VOLUME_SOURCES
            .iter()
            .find(|k| present(v.get(k)).is_some());
        // A volume without any source is defaulted to emptyDir before admission.
        if ALLOWED_VOLUME_SOURCES
            .iter()
            .any(|k| present(v.get(k)).is_some())
            || source.is_none()
        {
            continue;
        }
        let name = v.get("name").map(text).unwrap_or_default();
        let kind = source.copied().unwrap_or_default();
        out.push(violation(
            "restricted volume types",
            format!("volume {name:?} uses restricted volume type {kind:?}"),
            None,
            vec![kind.to_string()],
            format!("/spec/volumes/{i}/{kind}"),
        ));
    }
}

/// `check_runAsNonRoot.go`: `runAsNonRoot: true` at the pod level or in every container, never
/// `false`; from v1.35 pods with their own user namespace are exempt.
fn run_as_non_root(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 35 && pod.user_namespace() {
        return;
    }
    let mut pod_true = false;
    match pod.sc_field(&["runAsNonRoot"]).and_then(Node::as_bool) {
        Some(false) => out.push(violation(
            "runAsNonRoot != true",
            "pod must not set securityContext.runAsNonRoot=false".into(),
            None,
            Vec::new(),
            pod_sc_pointer(pod, &["runAsNonRoot"]),
        )),
        Some(true) => pod_true = true,
        None => {}
    }
    for c in &pod.containers {
        match c.sc_field(&["runAsNonRoot"]).and_then(Node::as_bool) {
            Some(false) => out.push(violation(
                "runAsNonRoot != true",
                format!(
                    "container {:?} must not set securityContext.runAsNonRoot=false",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["runAsNonRoot"]),
            )),
            Some(true) => {}
            None if !pod_true => out.push(violation(
                "runAsNonRoot != true",
                format!(
                    "pod or container {:?} must set securityContext.runAsNonRoot=true",
                    c.name
                ),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["runAsNonRoot"]),
            )),
            None => {}
        }
    }
}

/// `check_runAsUser.go` (v1.23+): no `runAsUser: 0`; from v1.35 pods with their own user
/// namespace are exempt.
fn run_as_user(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 35 && pod.user_namespace() {
        return;
    }
    if pod.sc_field(&["runAsUser"]).and_then(Node::as_i64) == Some(0) {
        out.push(violation(
            "runAsUser=0",
            "pod must not set runAsUser=0".into(),
            None,
            Vec::new(),
            pod_sc_pointer(pod, &["runAsUser"]),
        ));
    }
    for c in &pod.containers {
        if c.sc_field(&["runAsUser"]).and_then(Node::as_i64) == Some(0) {
            out.push(violation(
                "runAsUser=0",
                format!("container {:?} must not set runAsUser=0", c.name),
                Some(&c.name),
                Vec::new(),
                sc_pointer(c, &["runAsUser"]),
            ));
        }
    }
}

/// `check_seccompProfile_restricted.go` (v1.19+, overrides `seccompProfile_baseline`; Windows
/// pods exempt from v1.25): RuntimeDefault or Localhost at the pod level or in every container.
fn seccomp_profile_restricted(pod: &Pod<'_>, out: &mut Vec<Offense>) {
    if pod.minor >= 25 && pod.windows() {
        return;
    }
    seccomp_fields(pod, out, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Node {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), serde_json::Value::from(*v)))
            .collect();
        Node::from_json(
            &serde_json::Value::Object(map),
            crate::source::Pos::default(),
        )
    }

    fn policy(level: Level, version: Version) -> Policy {
        Policy { level, version }
    }

    #[test]
    fn namespace_labels_fall_back_as_kubernetes_does() {
        use Level::*;
        use Version::*;
        assert_eq!(Policy::from_labels(None), policy(Privileged, Latest));
        assert_eq!(
            Policy::from_labels(Some(&labels(&[]))),
            policy(Privileged, Latest)
        );
        let cases: &[(&[(&str, &str)], Policy)] = &[
            (&[(ENFORCE_LABEL, "baseline")], policy(Baseline, Latest)),
            (
                &[
                    (ENFORCE_LABEL, "restricted"),
                    (ENFORCE_VERSION_LABEL, "v1.25"),
                ],
                policy(Restricted, Minor(25)),
            ),
            // An invalid level fails closed.
            (&[(ENFORCE_LABEL, "Baseline")], policy(Restricted, Latest)),
            (&[(ENFORCE_LABEL, "")], policy(Restricted, Latest)),
            (&[(ENFORCE_LABEL, "strict")], policy(Restricted, Latest)),
            // An invalid version is latest.
            (
                &[(ENFORCE_LABEL, "baseline"), (ENFORCE_VERSION_LABEL, "1.25")],
                policy(Baseline, Latest),
            ),
            (
                &[
                    (ENFORCE_LABEL, "baseline"),
                    (ENFORCE_VERSION_LABEL, "v1.05"),
                ],
                policy(Baseline, Latest),
            ),
            (
                &[(ENFORCE_LABEL, "baseline"), (ENFORCE_VERSION_LABEL, "v2.0")],
                policy(Baseline, Latest),
            ),
            // A version label without a level changes nothing that matters.
            (
                &[(ENFORCE_VERSION_LABEL, "v1.20")],
                policy(Privileged, Minor(20)),
            ),
            (
                &[("pod-security.kubernetes.io/warn", "restricted")],
                policy(Privileged, Latest),
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(
                Policy::from_labels(Some(&labels(pairs))),
                *want,
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn versions_newer_than_known_evaluate_as_latest() {
        assert_eq!(Version::Minor(99).effective_minor(), LATEST_MINOR);
        assert_eq!(Version::Latest.effective_minor(), LATEST_MINOR);
        assert_eq!(Version::Minor(3).effective_minor(), 3);
        assert_eq!(Version::parse("v1.0"), Some(Version::Minor(0)));
        assert_eq!(Version::parse("v1.99"), Some(Version::Minor(99)));
        assert_eq!(Version::parse("v1."), None);
        assert_eq!(Version::parse("V1.2"), None);
    }

    #[test]
    fn policy_flag_parses() {
        assert_eq!(
            Policy::parse("baseline:v1.25"),
            Ok(policy(Level::Baseline, Version::Minor(25)))
        );
        assert_eq!(
            Policy::parse("restricted"),
            Ok(policy(Level::Restricted, Version::Latest))
        );
        assert_eq!(
            Policy::parse("privileged:latest"),
            Ok(policy(Level::Privileged, Version::Latest))
        );
        assert!(Policy::parse("strict").is_err());
        assert!(Policy::parse("baseline:1.25").is_err());
        assert_eq!(
            Policy::parse("baseline:v1.25").unwrap().to_string(),
            "baseline:v1.25"
        );
    }

    fn spec(json: serde_json::Value) -> Node {
        Node::from_json(&json, crate::source::Pos::default())
    }

    #[test]
    fn istio_init_fails_baseline_with_upstream_wording() {
        let s = spec(serde_json::json!({
            "initContainers": [{"name": "istio-init", "securityContext": {
                "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}}}],
            "containers": [{"name": "app"}],
        }));
        let v = policy(Level::Baseline, Version::Latest).evaluate(&crate::source::node::NULL, &s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].check, Check::CapabilitiesBaseline);
        assert_eq!(
            v[0].message(),
            r#"non-default capabilities (container "istio-init" must not include "NET_ADMIN", "NET_RAW" in securityContext.capabilities.add)"#
        );
        assert_eq!(v[0].container.as_deref(), Some("istio-init"));
        assert_eq!(
            v[0].pointer,
            "/spec/initContainers/0/securityContext/capabilities/add/0"
        );
    }

    #[test]
    fn restricted_overrides_baseline_checks_at_their_versions() {
        let s = spec(serde_json::json!({
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{"name": "app", "securityContext": {
                "allowPrivilegeEscalation": false,
                "capabilities": {"add": ["NET_RAW"], "drop": ["ALL"]}}}],
        }));
        let checks = |minor| {
            policy(Level::Restricted, Version::Minor(minor))
                .evaluate(&crate::source::node::NULL, &s)
                .into_iter()
                .map(|v| v.check)
                .collect::<Vec<_>>()
        };
        assert_eq!(checks(21), [Check::CapabilitiesBaseline]);
        assert_eq!(checks(22), [Check::CapabilitiesRestricted]);
        assert_eq!(checks(37), [Check::CapabilitiesRestricted]);
    }
}
