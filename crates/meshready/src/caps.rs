//! `meshready caps`: the Istio docs' "required pod capabilities" kubectl loop, offline, with a verdict.
//!
//! The table is what `kubectl get psp --no-headers
//! -o=custom-columns=NAME:.metadata.name,CAPS:.spec.allowedCapabilities` prints for the PSPs the
//! ServiceAccount may `use`; the RBAC check is admission's (the given namespace, API group
//! `policy` or `extensions`), with the ServiceAccount's groups plus `system:authenticated`, as
//! `kubectl auth can-i --as=system:serviceaccount:NS:SA` impersonates it.

use std::io::Write;

use anyhow::Result;
use meshready_core::admission::policy::AdmissionPolicy;
use meshready_core::admission::psp::{self, ContainerSecurity, Psp};
use meshready_core::admission::rbac::{Identity, Rbac};
use meshready_core::admission::scc::{self, Scc};
use meshready_core::model::cni::detect_cni;
use meshready_core::source::{LoadOptions, Object};
use serde_json::{Value, json};

use crate::args::{CapsArgs, CapsFormat};

/// The capabilities `istio-init` adds.
const NEEDED: [&str; 2] = ["NET_ADMIN", "NET_RAW"];

/// One row: a PSP the ServiceAccount may use.
struct Row<'p, 'a> {
    psp: &'p Psp<'a>,
    usable_via: String,
    /// How each needed capability is allowed (`None`: it is not).
    how: Vec<Option<&'static str>>,
    /// What keeps the injected containers (istio-init, istio-proxy) from validating, beyond
    /// capabilities too.
    violations: Vec<String>,
}

impl Row<'_, '_> {
    fn covers(&self) -> bool {
        self.how.iter().all(Option::is_some)
    }
}

/// The whole answer, before rendering.
struct Answer<'p, 'a> {
    identity: Identity,
    psp_count: usize,
    rows: Vec<Row<'p, 'a>>,
    verdict: String,
    covered: bool,
    admitted: bool,
    scc: Option<SccAnswer>,
    cni: bool,
}

struct SccAnswer {
    line: String,
    admitted_by: Option<String>,
    usable: Vec<Value>,
}

pub fn run(args: &CapsArgs) -> Result<u8> {
    let inputs = crate::discover::read_inputs(&args.paths)?;
    let options = LoadOptions {
        default_namespace: args
            .default_namespace
            .clone()
            .unwrap_or_else(|| args.namespace.clone()),
        ..LoadOptions::default()
    };
    let loaded = meshready_core::source::load(inputs, &options);
    let psps = Psp::all(&loaded.objects);
    let answer = answer(
        &loaded.objects,
        &psps,
        &args.namespace,
        &args.service_account,
    );
    let rendered = match args.output {
        CapsFormat::Json => {
            let mut text = serde_json::to_string_pretty(&to_json(&answer, args))?;
            text.push('\n');
            text
        }
        CapsFormat::Text => render_text(&answer),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    if !loaded.errors.is_empty() {
        let mut stderr = std::io::stderr().lock();
        for e in &loaded.errors {
            writeln!(
                stderr,
                "meshready: error: {}:{}:{}: {}",
                e.file, e.line, e.column, e.message
            )?;
        }
        return Ok(2);
    }
    let ok = answer.cni
        || (answer.admitted && answer.scc.as_ref().is_none_or(|s| s.admitted_by.is_some()));
    Ok(if ok { 0 } else { 1 })
}

fn answer<'p, 'a>(
    objects: &'a [Object],
    psps: &'p [Psp<'a>],
    namespace: &str,
    service_account: &str,
) -> Answer<'p, 'a> {
    let rbac = Rbac::new(objects);
    let mut identity = Identity::service_account(namespace, service_account);
    identity.groups.push("system:authenticated".into());
    let containers = [
        ContainerSecurity::istio_init(),
        ContainerSecurity::istio_proxy(),
    ];
    let rows: Vec<Row<'p, 'a>> = psps
        .iter()
        .filter_map(|p| {
            let usable_via = psp::usable_via(&rbac, p.name, namespace, &identity, None)?;
            Some(Row {
                psp: p,
                usable_via,
                how: NEEDED.iter().map(|cap| how_allowed(p, cap)).collect(),
                violations: containers.iter().flat_map(|c| p.violations(c)).fold(
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
    let user = &identity.user;
    let covering: Vec<&Row<'_, '_>> = rows.iter().filter(|r| r.covers()).collect();
    let covered = psps.is_empty() || !covering.is_empty();
    let admitted = psps.is_empty() || rows.iter().any(|r| r.violations.is_empty());
    let verdict = if psps.is_empty() {
        "verdict: the input has no PodSecurityPolicy, so none restricts NET_ADMIN and NET_RAW"
            .to_string()
    } else if rows.is_empty() {
        format!(
            "verdict: NET_ADMIN and NET_RAW are not allowed: {user} may use none of the PodSecurityPolicies in namespace {namespace} ({})",
            psps.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        )
    } else if covering.is_empty() {
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
        format!(
            "verdict: NET_ADMIN and NET_RAW are not allowed: no PodSecurityPolicy usable by {user} allows both ({})",
            missing.join("; ")
        )
    } else {
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
    };
    let sccs = Scc::all(objects);
    let scc = (!sccs.is_empty()).then(|| {
        let usable = sccs
            .iter()
            .map(|s| s.usable_via(&rbac, &identity, namespace))
            .collect();
        let verdict = scc::judge(&sccs, usable, &containers);
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
            Some(name) => format!("scc: istio-init is admitted for {user} by SecurityContextConstraints {name}"),
            None if verdict.usable().next().is_none() => format!(
                "scc: istio-init is not admitted: {user} may use none of the SecurityContextConstraints in namespace {namespace} ({})",
                sccs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
            None => {
                let why: Vec<String> = verdict
                    .usable()
                    .map(|c| format!("{}: {}", c.policy.name, c.violations.join(", ")))
                    .collect();
                format!(
                    "scc: istio-init is not admitted: no SecurityContextConstraints usable by {user} admits it ({})",
                    why.join("; ")
                )
            }
        };
        SccAnswer {
            line,
            admitted_by: verdict.admitted_by().map(str::to_string),
            usable,
        }
    });
    Answer {
        psp_count: psps.len(),
        identity,
        rows,
        verdict,
        covered,
        admitted,
        scc,
        cni: detect_cni(objects),
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

fn render_text(answer: &Answer<'_, '_>) -> String {
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
        out.push_str(&format!(
            "{:<width$}{}\n",
            r.psp.name,
            caps_column(&r.psp.capabilities.allowed)
        ));
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
        out.push_str(&format!(
            "note: the injected pod is still rejected: {}\n",
            why.join("; ")
        ));
    }
    if let Some(scc) = &answer.scc {
        out.push_str(&scc.line);
        out.push('\n');
    }
    if answer.cni {
        out.push_str(
            "note: the input turns Istio CNI on: its istio-validation init container needs neither NET_ADMIN nor NET_RAW\n",
        );
    }
    out
}

fn to_json(answer: &Answer<'_, '_>, args: &CapsArgs) -> Value {
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
        "namespace": args.namespace,
        "service_account": args.service_account,
        "user": answer.identity.user,
        "pod_security_policies": answer.psp_count,
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
        "istio_cni": answer.cni,
    })
}
