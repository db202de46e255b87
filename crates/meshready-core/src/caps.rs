//! `meshready caps`' answer: the PodSecurityPolicies a ServiceAccount may use (the Istio docs' kubectl loop, offline) and the PSP, Pod Security and SCC verdicts for the pod Istio injects, from the same model as `check`.
//!
//! The table is what `kubectl get psp --no-headers
//! -o=custom-columns=NAME:.metadata.name,CAPS:.spec.allowedCapabilities` prints for the PSPs the
//! ServiceAccount may `use`; the RBAC check is admission's (the given namespace, API group
//! `policy` or `extensions`), with the ServiceAccount's groups plus `system:authenticated`, as
//! `kubectl auth can-i --as=system:serviceaccount:NS:SA` impersonates it. The injected pod is
//! a pod of that ServiceAccount in that namespace, injected by [`crate::admission::inject`].

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::admission::inject::inject;
use crate::admission::policy::AdmissionPolicy;
use crate::admission::policy::ContainerSecurity;
use crate::admission::psp::{self, Psp};
use crate::admission::rbac::{Identity, Rbac};
use crate::admission::scc::Scc;
use crate::model::Model;
use crate::model::injector::proxy_ids;
use crate::source::{Node, Pos};

/// The capabilities `istio-init` adds.
const NEEDED: [&str; 2] = ["NET_ADMIN", "NET_RAW"];

/// The last Kubernetes minor version with PodSecurityPolicy.
pub const LAST_PSP_KUBERNETES: u32 = 24;

/// One row: a PSP the ServiceAccount may use.
#[derive(Debug)]
pub struct Row<'p, 'a> {
    /// The PSP.
    pub psp: &'p Psp<'a>,
    /// How the ServiceAccount may use it.
    pub usable_via: String,
    /// How each needed capability is allowed (`None`: it is not).
    pub how: Vec<Option<&'static str>>,
    /// What keeps the injected containers from validating, beyond capabilities too.
    pub violations: Vec<String>,
}

impl Row<'_, '_> {
    /// Whether the PSP allows both NET_ADMIN and NET_RAW.
    #[must_use]
    pub fn covers(&self) -> bool {
        self.how.iter().all(Option::is_some)
    }
}

/// The SCC verdict.
#[derive(Debug)]
pub struct SccAnswer {
    /// The `scc:` line.
    pub line: String,
    /// The SCC that admits the injected containers.
    pub admitted_by: Option<String>,
    /// The usable SCCs, as JSON.
    pub usable: Vec<Value>,
}

/// The Pod Security Admission verdict.
#[derive(Debug)]
pub struct PsaAnswer {
    /// The enforced policy (`baseline:latest`).
    pub policy: String,
    /// What each injected container does wrong (empty: admitted).
    pub rejections: Vec<String>,
    /// The `psa:` line.
    pub line: String,
}

/// The whole answer, before rendering.
#[derive(Debug)]
pub struct Answer<'p, 'a> {
    /// The namespace.
    pub namespace: String,
    /// The ServiceAccount.
    pub service_account: String,
    /// The identity checked (the ServiceAccount plus `system:authenticated`).
    pub identity: Identity,
    /// PSPs in the input.
    pub psp_count: usize,
    /// The PSPs the ServiceAccount may use.
    pub rows: Vec<Row<'p, 'a>>,
    /// The `verdict:` line.
    pub verdict: String,
    /// Some usable PSP allows NET_ADMIN and NET_RAW (or there are no PSPs).
    pub covered: bool,
    /// Some usable PSP admits the injected containers (or there are no PSPs).
    pub admitted: bool,
    /// Whether PodSecurityPolicy applies (Kubernetes 1.24 and older).
    pub psp_applies: bool,
    /// The Kubernetes version.
    pub kubernetes_version: u32,
    /// The SCC verdict, when the input has SCCs.
    pub scc: Option<SccAnswer>,
    /// The Pod Security verdict, when the namespace enforces a level.
    pub psa: Option<PsaAnswer>,
    /// Istio CNI is on.
    pub cni: bool,
    /// The injected Istio containers need more than an ordinary container (capabilities,
    /// root): PSPs and SCCs matter.
    pub needs_privileges: bool,
    /// The injected pod's Istio containers, as `name` (`restartPolicy`).
    pub injected: Vec<String>,
}

impl Answer<'_, '_> {
    /// Whether the injected pod is admitted: the exit status `check` gives the same pod (1
    /// when MR0010, MR0011 or MR0013 would reject it).
    #[must_use]
    pub fn pod_admitted(&self) -> bool {
        let psp_ok = !self.psp_applies || !self.needs_privileges || self.admitted;
        let scc_ok =
            !self.needs_privileges || self.scc.as_ref().is_none_or(|s| s.admitted_by.is_some());
        let psa_ok = self.psa.as_ref().is_none_or(|p| p.rejections.is_empty());
        psp_ok && scc_ok && psa_ok
    }
}

/// Answers for a pod of `service_account` in `namespace`, from the model's objects and
/// injection settings.
#[must_use]
pub fn answer<'p, 'a>(
    model: &Model<'a>,
    psps: &'p [Psp<'a>],
    namespace: &str,
    service_account: &str,
) -> Answer<'p, 'a> {
    let objects = model.objects;
    let rbac = Rbac::new(objects);
    let mut identity = Identity::service_account(namespace, service_account);
    identity.groups.push("system:authenticated".into());
    let (meta, spec) = injected_pod(model, namespace, service_account);
    let istio: Vec<ContainerSecurity> = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| spec.get(list).map(Node::items).unwrap_or_default())
        .filter(|c| {
            c.get("name")
                .and_then(Node::as_str)
                .is_some_and(crate::istio::is_injected_container)
        })
        .map(|c| ContainerSecurity::from_container(c, &spec))
        .collect();
    let injected: Vec<String> = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| {
            spec.get(list)
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .map(move |c| (list, c))
        })
        .filter_map(|(list, c)| {
            let name = c.get("name").and_then(Node::as_str)?;
            crate::istio::is_injected_container(name).then(|| {
                match c.get("restartPolicy").and_then(Node::as_str) {
                    Some(p) => format!("{name} ({list}, restartPolicy {p})"),
                    None => format!("{name} ({list})"),
                }
            })
        })
        .collect();
    let needs_privileges = istio
        .iter()
        .any(|c| !c.add.is_empty() || c.run_as_user == Some(0) || c.privileged);
    let rows: Vec<Row<'p, 'a>> = psps
        .iter()
        .filter_map(|p| {
            let usable_via = psp::usable_via(&rbac, p.name, namespace, &identity, None)?;
            Some(Row {
                psp: p,
                usable_via,
                how: NEEDED.iter().map(|cap| how_allowed(p, cap)).collect(),
                violations: istio.iter().flat_map(|c| p.violations(c)).fold(
                    Vec::new(),
                    |mut all, v| {
                        if !all.contains(&v) {
                            all.push(v);
                        }
                        all
                    },
                ),
            })
        })
        .collect();
    let covered = psps.is_empty() || rows.iter().any(Row::covers);
    let admitted = psps.is_empty() || rows.iter().any(|r| r.violations.is_empty());
    let verdict = psp_verdict(psps, &rows, &identity.user, namespace);
    let first_istio = if istio.iter().any(|c| c.name == crate::istio::ISTIO_INIT) {
        crate::istio::ISTIO_INIT
    } else {
        crate::istio::ISTIO_PROXY
    };
    let sccs = Scc::all(objects);
    let scc = (!sccs.is_empty())
        .then(|| scc_answer(&sccs, &rbac, &identity, namespace, &istio, first_istio));
    let psa = crate::admission::enforced_policy(model, namespace).map(|policy| {
        let meta_node = Node::from_json(&meta, Pos::default());
        let mut by_container: Vec<(String, Vec<String>)> = Vec::new();
        for v in policy.evaluate(&meta_node, &spec) {
            let Some(c) = v
                .container
                .as_deref()
                .filter(|c| crate::istio::is_injected_container(c))
            else {
                continue;
            };
            let what = if matches!(
                v.check,
                crate::psa::Check::CapabilitiesBaseline | crate::psa::Check::CapabilitiesRestricted
            ) && !v.values.is_empty()
            {
                format!("adds {}", v.values.join(", "))
            } else {
                v.message()
            };
            match by_container.iter_mut().find(|(name, _)| name == c) {
                Some((_, list)) if !list.contains(&what) => list.push(what),
                Some(_) => {}
                None => by_container.push((c.to_string(), vec![what])),
            }
        }
        let rejections: Vec<String> = by_container
            .iter()
            .map(|(c, what)| format!("`{c}` {}", what.join(", ")))
            .collect();
        let source = crate::admission::policy_source(model, namespace);
        let line = if rejections.is_empty() {
            format!("psa: {source} {policy}, which admits the injected pod")
        } else {
            format!(
                "psa: {source} {policy}, which rejects the injected pod: {}{}",
                rejections.join("; "),
                if model.inject.cni {
                    ""
                } else {
                    " (Istio CNI is off)"
                }
            )
        };
        PsaAnswer {
            policy: policy.to_string(),
            rejections,
            line,
        }
    });
    Answer {
        namespace: namespace.to_string(),
        service_account: service_account.to_string(),
        psp_count: psps.len(),
        identity,
        rows,
        verdict,
        covered,
        admitted,
        psp_applies: model.inject.kubernetes_version <= LAST_PSP_KUBERNETES,
        kubernetes_version: model.inject.kubernetes_version,
        scc,
        psa,
        cni: model.inject.cni,
        needs_privileges,
        injected,
    }
}

/// A pod of `service_account` in `namespace` after injection: (metadata JSON, spec).
fn injected_pod(model: &Model<'_>, namespace: &str, service_account: &str) -> (Value, Node) {
    let meta = json!({"name": "caps", "namespace": namespace});
    let spec = json!({
        "serviceAccountName": service_account,
        "containers": [{"name": "app", "image": "app"}],
    });
    let ids = proxy_ids(
        model.inject.openshift,
        model.namespaces.get(namespace).copied(),
    );
    match inject(&meta, &spec, &model.inject, &ids) {
        Ok(injected) => (
            injected.metadata,
            Node::from_json(&injected.spec, Pos::default()),
        ),
        Err(_) => (meta, Node::from_json(&spec, Pos::default())),
    }
}

fn psp_verdict(psps: &[Psp<'_>], rows: &[Row<'_, '_>], user: &str, namespace: &str) -> String {
    if psps.is_empty() {
        return "verdict: the input has no PodSecurityPolicy, so none restricts NET_ADMIN and NET_RAW"
            .to_string();
    }
    if rows.is_empty() {
        return format!(
            "verdict: NET_ADMIN and NET_RAW are not allowed: {user} may use none of the PodSecurityPolicies in namespace {namespace} ({})",
            psps.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        );
    }
    let covering: Vec<&Row<'_, '_>> = rows.iter().filter(|r| r.covers()).collect();
    if covering.is_empty() {
        let missing: Vec<String> = rows
            .iter()
            .map(|r| {
                let lacks: Vec<&str> = NEEDED
                    .iter()
                    .zip(&r.how)
                    .filter(|(_, how)| how.is_none())
                    .map(|(cap, _)| *cap)
                    .collect();
                format!("{} lacks {}", r.psp.name, lacks.join(" and "))
            })
            .collect();
        return format!(
            "verdict: NET_ADMIN and NET_RAW are not allowed: no PodSecurityPolicy usable by {user} allows both ({})",
            missing.join("; ")
        );
    }
    let by: Vec<String> = covering
        .iter()
        .map(|r| {
            let notes: Vec<String> = NEEDED
                .iter()
                .zip(&r.how)
                .filter_map(|(cap, how)| match how {
                    Some("allowedCapabilities") | None => None,
                    Some(how) => Some(format!("{cap} via {how}")),
                })
                .collect();
            if notes.is_empty() {
                r.psp.name.to_string()
            } else {
                format!("{} ({})", r.psp.name, notes.join(", "))
            }
        })
        .collect();
    format!(
        "verdict: NET_ADMIN and NET_RAW are allowed for {user} by {}",
        by.join(", ")
    )
}

fn scc_answer(
    sccs: &[Scc<'_>],
    rbac: &Rbac,
    identity: &Identity,
    namespace: &str,
    istio: &[ContainerSecurity],
    named: &str,
) -> SccAnswer {
    let user = &identity.user;
    let usable = sccs
        .iter()
        .map(|s| s.usable_via(rbac, identity, namespace))
        .collect();
    let verdict = crate::admission::policy::judge(sccs, usable, istio);
    let usable: Vec<Value> = verdict
        .usable()
        .map(|c| {
            json!({
                "name": c.policy.name,
                "priority": c.policy.priority,
                "usable_via": c.usable_via,
                "violations": c.violations,
            })
        })
        .collect();
    let line = match verdict.admitted_by() {
        Some(name) => {
            format!("scc: {named} is admitted for {user} by SecurityContextConstraints {name}")
        }
        None if verdict.usable().next().is_none() => format!(
            "scc: {named} is not admitted: {user} may use none of the SecurityContextConstraints in namespace {namespace} ({})",
            sccs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
        ),
        None => {
            let why: Vec<String> = verdict
                .usable()
                .map(|c| format!("{}: {}", c.policy.name, c.violations.join(", ")))
                .collect();
            format!(
                "scc: {named} is not admitted: no SecurityContextConstraints usable by {user} admits it ({})",
                why.join("; ")
            )
        }
    };
    SccAnswer {
        line,
        admitted_by: verdict.admitted_by().map(str::to_string),
        usable,
    }
}

/// How PSP `p` lets a container add `cap`: `allowedCapabilities`, `allowedCapabilities *` or
/// `defaultAddCapabilities`.
fn how_allowed(p: &Psp<'_>, cap: &str) -> Option<&'static str> {
    let caps = &p.capabilities;
    if caps.allowed.iter().any(|c| c == cap) {
        Some("allowedCapabilities")
    } else if caps.allowed.iter().any(|c| c == "*") {
        Some("allowedCapabilities *")
    } else if caps.default_add.iter().any(|c| c == cap) {
        Some("defaultAddCapabilities")
    } else {
        None
    }
}

/// `.spec.allowedCapabilities` as kubectl's custom-columns prints it: Go's `%v` of the list
/// (`[NET_ADMIN NET_RAW]`), `<none>` when absent or empty (the API server drops empty lists).
fn caps_column(caps: &[String]) -> String {
    if caps.is_empty() {
        "<none>".to_string()
    } else {
        format!("[{}]", caps.join(" "))
    }
}

/// The text report: the table, the PSP verdict and notes, the SCC and Pod Security lines.
#[must_use]
pub fn render_text(answer: &Answer<'_, '_>) -> String {
    // kubectl's tabwriter: minimum cell width 6, padding 3; the last column is not padded.
    let width = answer
        .rows
        .iter()
        .map(|r| r.psp.name.chars().count() + 3)
        .max()
        .unwrap_or(0)
        .max(6);
    let mut out = String::new();
    for r in &answer.rows {
        let _ = writeln!(
            out,
            "{:<width$}{}",
            r.psp.name,
            caps_column(&r.psp.capabilities.allowed)
        );
    }
    out.push_str(&answer.verdict);
    out.push('\n');
    if answer.covered && !answer.admitted {
        let why: Vec<String> = answer
            .rows
            .iter()
            .filter(|r| r.covers())
            .map(|r| format!("{}: {}", r.psp.name, r.violations.join(", ")))
            .collect();
        let _ = writeln!(
            out,
            "note: the injected pod is still rejected: {}",
            why.join("; ")
        );
    }
    if answer.psp_count > 0 && !answer.psp_applies {
        let _ = writeln!(
            out,
            "note: PodSecurityPolicy was removed in Kubernetes 1.25, so for Kubernetes 1.{} none of this applies (--kubernetes-version 1.24 checks it)",
            answer.kubernetes_version
        );
    }
    if let Some(scc) = &answer.scc {
        out.push_str(&scc.line);
        out.push('\n');
    }
    if let Some(psa) = &answer.psa {
        out.push_str(&psa.line);
        out.push('\n');
    }
    if answer.cni {
        out.push_str(
            "note: the input turns Istio CNI on: its istio-validation init container needs neither NET_ADMIN nor NET_RAW\n",
        );
    }
    out
}

/// The JSON report.
#[must_use]
pub fn to_json(answer: &Answer<'_, '_>) -> Value {
    let psps: Vec<Value> = answer
        .rows
        .iter()
        .map(|r| {
            json!({
                "name": r.psp.name,
                "allowed_capabilities": r.psp.capabilities.allowed,
                "default_add_capabilities": r.psp.capabilities.default_add,
                "required_drop_capabilities": r.psp.capabilities.required_drop,
                "usable_via": r.usable_via,
                "covers_net_admin_and_net_raw": r.covers(),
                "violations": r.violations,
            })
        })
        .collect();
    let covered_by: Vec<&str> = answer
        .rows
        .iter()
        .filter(|r| r.covers())
        .map(|r| r.psp.name)
        .collect();
    let admitted_by: Option<&str> = answer
        .rows
        .iter()
        .find(|r| r.violations.is_empty())
        .map(|r| r.psp.name);
    json!({
        "namespace": answer.namespace,
        "service_account": answer.service_account,
        "user": answer.identity.user,
        "pod_security_policies": answer.psp_count,
        "pod_security_policy_applies": answer.psp_applies,
        "kubernetes_version": format!("1.{}", answer.kubernetes_version),
        "psps": psps,
        "verdict": {
            "covered": answer.covered,
            "covered_by": covered_by,
            "admitted": answer.admitted,
            "admitted_by": admitted_by,
            "message": answer.verdict.trim_start_matches("verdict: "),
        },
        "sccs": answer.scc.as_ref().map(|s| json!({
            "admitted_by": s.admitted_by,
            "usable": s.usable,
            "message": s.line.trim_start_matches("scc: "),
        })),
        "pod_security": answer.psa.as_ref().map(|p| json!({
            "policy": p.policy,
            "admitted": p.rejections.is_empty(),
            "rejections": p.rejections,
            "message": p.line.trim_start_matches("psa: "),
        })),
        "injected_containers": answer.injected,
        "istio_cni": answer.cni,
        "admitted": answer.pod_admitted(),
    })
}
