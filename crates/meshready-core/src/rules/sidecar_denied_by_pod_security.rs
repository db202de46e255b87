//! MR0011: the containers Istio injects break the namespace's enforced Pod Security level, so the injected pods are rejected.

use std::collections::BTreeMap;

use crate::admission::{self, inject};
use crate::finding::Finding;
use crate::psa;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// For every workload that gets a sidecar, meshready simulates Istio's injection — the
    /// `istio-init` init container with NET_ADMIN and NET_RAW, running as root, when Istio CNI
    /// is off; `istio-validation` (UID 1337) when it is on; and the `istio-proxy` container —
    /// and evaluates the injected pod against the Pod Security Standards level that the
    /// namespace enforces (`pod-security.kubernetes.io/enforce` and `enforce-version` labels,
    /// or `--pod-security`), with every check of that policy version. It reports each injected
    /// container that the level rejects, and why. Whether CNI is on comes from
    /// `--istio-cni on|off`, or (`auto`) from the input: the `istio-cni-node` DaemonSet, the
    /// `istio-sidecar-injector` ConfigMap's `pilot.cni.enabled`, or injected pods that carry
    /// `istio-validation`. Problems of the application's own containers are MR0012's.
    ///
    /// ## Why it matters in the mesh
    /// Pod Security Admission runs after the sidecar injector, on the Pods that the ReplicaSet
    /// creates. The Deployment itself is admitted, but every pod is refused (`FailedCreate`):
    /// without CNI `istio-init` adds NET_ADMIN and NET_RAW, which only `privileged` allows;
    /// `restricted` also requires a seccomp profile, which the injected containers do not set.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    ///   labels:
    ///     istio-injection: enabled
    ///     pod-security.kubernetes.io/enforce: baseline
    /// ```
    /// Any Deployment in `shop` is rejected when Istio CNI is off: the injected `istio-init`
    /// container adds NET_ADMIN and NET_RAW.
    ///
    /// ## Fix
    /// Install Istio with the CNI plugin (`istioctl install --set components.cni.enabled=true`),
    /// which removes the privileged init container, or label the namespace
    /// `pod-security.kubernetes.io/enforce=privileged`. Under `restricted`, also set
    /// `securityContext.seccompProfile.type: RuntimeDefault` at the pod level so that the
    /// injected containers inherit it.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/
    /// - https://istio.io/latest/docs/setup/additional-setup/pod-security-admission/
    /// - https://istio.io/latest/docs/setup/additional-setup/cni/
    /// - https://kubernetes.io/docs/concepts/security/pod-security-standards/
    pub struct SidecarDeniedByPodSecurity {
        code: "MR0011",
        name: "sidecar-denied-by-pod-security",
        severity: Error,
        summary: "the containers Istio injects break the namespace's enforced Pod Security level",
        istio_versions: "all Istio versions (Kubernetes 1.23+ with Pod Security Admission)",
        version_dependence: "the injected pod follows the Istio version (native sidecars from 1.27 on kubelet 1.33+); Pod Security `latest` means --kubernetes-version",
    }
}

impl Rule for SidecarDeniedByPodSecurity {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (_, w) in cx.model.meshed() {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let Some(policy) = admission::enforced_policy(cx.model, &w.object.namespace) else {
                continue;
            };
            let injected = inject::injected_spec(cx.model, w);
            let spec = injected.as_ref().unwrap_or(w.spec);
            let app: Vec<psa::Violation> = if injected.is_some() {
                policy.evaluate(w.meta, w.spec)
            } else {
                Vec::new()
            };
            // Violations by injected container (pod-level ones that injection introduced are
            // attributed to the pod, under "").
            let mut by_container: BTreeMap<String, Vec<psa::Violation>> = BTreeMap::new();
            for v in policy.evaluate(w.meta, spec) {
                match v.container.as_deref() {
                    Some(c) if crate::istio::is_injected_container(c) => {
                        by_container.entry(c.to_string()).or_default().push(v);
                    }
                    None if injected.is_some() && !app.contains(&v) => {
                        by_container.entry(String::new()).or_default().push(v);
                    }
                    _ => {}
                }
            }
            let source = admission::policy_source(cx.model, &w.object.namespace);
            for (container, violations) in by_container {
                let reasons = describe(&violations);
                let who = if container.is_empty() {
                    "the injected pod".to_string()
                } else {
                    format!("the injected {container} container")
                };
                let cni_note = if container == crate::istio::ISTIO_INIT {
                    " (Istio CNI is off)"
                } else {
                    ""
                };
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &w.pointer("/spec"),
                    format!("{source} {policy}; {who} {reasons}{cni_note}"),
                    fix(&w.object.namespace, policy, &container, &violations),
                ));
            }
        }
    }
}

/// A short account of what the injected container does wrong.
fn describe(violations: &[psa::Violation]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for v in violations {
        let part = match v.check {
            psa::Check::CapabilitiesBaseline => format!("adds {}", v.values.join(", ")),
            psa::Check::CapabilitiesRestricted if !v.values.is_empty() => {
                format!("adds {}", v.values.join(", "))
            }
            psa::Check::CapabilitiesRestricted => "does not drop ALL capabilities".to_string(),
            psa::Check::RunAsNonRoot if v.detail.contains("=false") => {
                "sets runAsNonRoot=false".to_string()
            }
            psa::Check::RunAsNonRoot => "does not set runAsNonRoot=true".to_string(),
            psa::Check::RunAsUser => "runs as root (runAsUser=0)".to_string(),
            psa::Check::SeccompProfileRestricted | psa::Check::SeccompProfileBaseline
                if v.values.is_empty() =>
            {
                "sets no seccomp profile".to_string()
            }
            psa::Check::AllowPrivilegeEscalation => "allows privilege escalation".to_string(),
            psa::Check::Privileged => "is privileged".to_string(),
            _ => v.message(),
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    match parts.len() {
        0 => String::new(),
        1 => parts.remove(0),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    }
}

fn fix(
    namespace: &str,
    policy: psa::Policy,
    container: &str,
    violations: &[psa::Violation],
) -> String {
    let mut sentences = Vec::new();
    if container == crate::istio::ISTIO_INIT {
        sentences.push(
            "Enable the Istio CNI plugin (`istioctl install --set components.cni.enabled=true`) so that the injected init container needs no NET_ADMIN, NET_RAW or root."
                .to_string(),
        );
    }
    if policy.level == psa::Level::Restricted
        && violations
            .iter()
            .any(|v| v.check == psa::Check::SeccompProfileRestricted && v.values.is_empty())
    {
        sentences.push(
            "Set `securityContext.seccompProfile.type: RuntimeDefault` at the pod level so that the injected containers inherit it."
                .to_string(),
        );
    }
    let verb = if sentences.is_empty() {
        "Label"
    } else {
        "Otherwise, label"
    };
    sentences.push(format!(
        "{verb} namespace {namespace:?} `pod-security.kubernetes.io/enforce=privileged` (or a level that admits the sidecar)."
    ));
    sentences.join(" ")
}

#[cfg(test)]
mod tests {
    use crate::settings::CniMode;
    use crate::source::{LoadOptions, load_str};
    use crate::{CheckOptions, Finding, check};

    fn run(yaml: &str, cni: CniMode) -> Vec<Finding> {
        let loaded = load_str("test.yaml", yaml, &LoadOptions::default());
        let mut options = CheckOptions::default();
        options.settings.admission.cni = cni;
        check(&loaded, &options)
            .findings
            .into_iter()
            .filter(|f| f.code == "MR0011" || f.code == "MR0012")
            .collect()
    }

    fn workload(level: &str, pod_security_context: &str, app_security_context: &str) -> String {
        format!(
            "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio-injection: enabled
    pod-security.kubernetes.io/enforce: {level}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    metadata:
      labels:
        app: web
    spec:
      securityContext: {pod_security_context}
      containers:
      - name: app
        image: app
        securityContext: {app_security_context}
"
        )
    }

    const HARDENED: &str = "{allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: {drop: [ALL]}, seccompProfile: {type: RuntimeDefault}}";

    #[test]
    fn privileged_admits_the_injected_pod() {
        assert!(run(&workload("privileged", "{}", "{}"), CniMode::Off).is_empty());
        assert!(run(&workload("privileged", "{}", "{}"), CniMode::On).is_empty());
    }

    #[test]
    fn baseline_rejects_istio_init_without_cni() {
        let f = run(&workload("baseline", "{}", "{}"), CniMode::Off);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, "MR0011");
        assert_eq!(
            f[0].message,
            r#"namespace "shop" enforces baseline:latest; the injected istio-init container adds NET_ADMIN, NET_RAW (Istio CNI is off)"#
        );
        assert_eq!(f[0].path, "/spec/template/spec");
        assert!(f[0].fix.contains("Istio CNI"), "{}", f[0].fix);
    }

    #[test]
    fn baseline_admits_the_injected_pod_with_cni() {
        assert!(run(&workload("baseline", "{}", "{}"), CniMode::On).is_empty());
        // Auto-detection: the istio-cni-node DaemonSet is in the input.
        let with_ds = format!(
            "{}---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: istio-cni-node\n  namespace: istio-system\n  labels:\n    istio: cni\nspec:\n  template:\n    spec:\n      containers:\n      - name: install-cni\n",
            workload("baseline", "{}", "{}")
        );
        assert!(
            run(&with_ds, CniMode::Auto)
                .iter()
                .all(|f| f.code != "MR0011")
        );
    }

    #[test]
    fn tproxy_needs_net_admin_in_the_proxy_even_with_cni() {
        let yaml = workload("baseline", "{}", "{}").replace(
            "        app: web\n",
            "        app: web\n      annotations:\n        sidecar.istio.io/interceptionMode: TPROXY\n",
        );
        let f = run(&yaml, CniMode::On);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            r#"namespace "shop" enforces baseline:latest; the injected istio-proxy container adds NET_ADMIN"#
        );
    }

    #[test]
    fn already_injected_templates_are_evaluated_as_they_are() {
        let yaml = workload("baseline", "{}", "{}").replace(
            "      containers:\n",
            "      initContainers:\n      - name: istio-init\n        securityContext: {capabilities: {add: [NET_ADMIN, NET_RAW]}}\n      containers:\n      - name: istio-proxy\n        image: docker.io/istio/proxyv2:1.20.0\n",
        );
        // Explicit CNI does not change a pod that was injected without it.
        let f = run(&yaml, CniMode::On);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].code, "MR0011");
        assert!(
            f[0].message
                .contains("istio-init container adds NET_ADMIN, NET_RAW")
        );
    }

    #[test]
    fn restricted_rejects_the_sidecar_when_only_app_containers_set_seccomp() {
        let f = run(&workload("restricted", "{}", HARDENED), CniMode::On);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(f.iter().all(|f| f.code == "MR0011"));
        let messages: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert!(
            messages.contains(
                &r#"namespace "shop" enforces restricted:latest; the injected istio-proxy container sets no seccomp profile"#
            ),
            "{messages:?}"
        );
        assert!(
            messages.contains(
                &r#"namespace "shop" enforces restricted:latest; the injected istio-validation container sets no seccomp profile"#
            ),
            "{messages:?}"
        );
        assert!(f[0].fix.contains("seccompProfile"));
        // A pod-level profile covers the injected containers.
        let pod_level = workload(
            "restricted",
            "{seccompProfile: {type: RuntimeDefault}}",
            HARDENED,
        );
        assert!(run(&pod_level, CniMode::On).is_empty());
    }
}
