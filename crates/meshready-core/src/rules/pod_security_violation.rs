//! MR0012: the application's own containers or pod spec break the namespace's enforced Pod Security level.

use crate::admission;
use crate::finding::Finding;
use crate::psa;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every workload's pod template — in the mesh or not — against the Pod Security Standards
    /// level that its namespace enforces: the namespace's `pod-security.kubernetes.io/enforce`
    /// and `enforce-version` labels (with Kubernetes' fallbacks: an invalid level means
    /// `restricted`, an invalid or too new version means `latest`), or `--pod-security
    /// LEVEL[:VERSION]` for every namespace. All baseline and restricted checks of every policy
    /// version are evaluated exactly as the `PodSecurity` admission plugin does (privileged,
    /// host namespaces, host ports and paths, capabilities, seccomp, AppArmor, SELinux,
    /// procMount, sysctls, volume types, runAsNonRoot, runAsUser, allowPrivilegeEscalation, ...).
    /// Each offending field is reported once. Containers that Istio injects are left to
    /// MR0011; namespaces that enforce `privileged`, or carry no label, are not checked.
    ///
    /// ## Why it matters in the mesh
    /// `PodSecurity` only warns about a Deployment's template; it rejects the Pods that the
    /// ReplicaSet creates, so the rollout stalls with `FailedCreate` events while `kubectl
    /// apply` succeeded. Onboarding a namespace into the mesh often comes with tightening its
    /// pod security level; this rule shows what the application itself must change, separately
    /// from what the sidecar needs (MR0011).
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: v1
    /// kind: Namespace
    /// metadata:
    ///   name: shop
    ///   labels:
    ///     pod-security.kubernetes.io/enforce: baseline
    /// ---
    /// # in namespace shop
    /// spec:
    ///   containers:
    ///   - name: app
    ///     securityContext:
    ///       privileged: true
    /// ```
    ///
    /// ## Fix
    /// Change the reported field so that the pod meets the enforced level (the message quotes
    /// the Kubernetes rule), or enforce a less strict level on the namespace if the workload
    /// really needs the privilege.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/security/pod-security-standards/
    /// - https://kubernetes.io/docs/concepts/security/pod-security-admission/
    /// - https://github.com/kubernetes/pod-security-admission/tree/master/policy
    pub struct PodSecurityViolation {
        code: "MR0012",
        name: "pod-security-violation",
        severity: Error,
        summary: "the application's own containers or pod spec break the namespace's enforced Pod Security level",
        istio_versions: "all Istio versions (Kubernetes 1.23+ with Pod Security Admission)",
    }
}

impl Rule for PodSecurityViolation {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for w in &cx.model.workloads {
            if cx.model.is_control_plane(w) {
                continue;
            }
            let Some(policy) = admission::enforced_policy(cx.model, &w.object.namespace) else {
                continue;
            };
            let source = admission::policy_source(cx.model, &w.object.namespace);
            for v in policy.evaluate(w.meta, w.spec) {
                if v.container
                    .as_deref()
                    .is_some_and(|c| crate::model::workload::ISTIO_CONTAINERS.contains(&c))
                {
                    continue;
                }
                out.push(cx.finding(
                    &Self::META,
                    w.object,
                    &w.pointer(&v.pointer),
                    format!("{source} {policy}: {}", v.message()),
                    fix(&v, policy),
                ));
            }
        }
    }
}

/// The fix for one violation.
fn fix(v: &psa::Violation, policy: psa::Policy) -> String {
    let change = match v.check {
        psa::Check::Privileged => "Remove `privileged: true` from the container's securityContext.",
        psa::Check::HostNamespaces => "Do not share the host's network, PID or IPC namespace.",
        psa::Check::HostPathVolumes | psa::Check::RestrictedVolumes => {
            "Use a volume type the level allows (configMap, secret, emptyDir, projected, downwardAPI, persistentVolumeClaim, csi, ephemeral) instead."
        }
        psa::Check::HostPorts => "Remove the `hostPort` and expose the port through a Service.",
        psa::Check::HostProbesAndHostLifecycle => {
            "Remove the `host` field from the probe or lifecycle handler so that it targets the pod itself."
        }
        psa::Check::CapabilitiesBaseline => {
            "Remove the capability from `securityContext.capabilities.add`; baseline allows only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID and SYS_CHROOT."
        }
        psa::Check::CapabilitiesRestricted => {
            "Set `securityContext.capabilities.drop: [\"ALL\"]` and add nothing but NET_BIND_SERVICE."
        }
        psa::Check::ProcMount | psa::Check::ProcMountRestricted => {
            "Remove `procMount` or set it to `Default`."
        }
        psa::Check::SeLinuxOptions => {
            "Remove the SELinux user and role, and use type container_t, container_init_t, container_kvm_t or container_engine_t, or none."
        }
        psa::Check::SeccompProfileBaseline | psa::Check::SeccompProfileRestricted => {
            "Set `securityContext.seccompProfile.type: RuntimeDefault` (or Localhost) at the pod level and remove Unconfined profiles."
        }
        psa::Check::Sysctls => "Remove the sysctl; only namespaced, safe sysctls are allowed.",
        psa::Check::AppArmorProfile => {
            "Use the RuntimeDefault or a Localhost AppArmor profile, not Unconfined."
        }
        psa::Check::WindowsHostProcess => "Do not run Windows HostProcess containers.",
        psa::Check::AllowPrivilegeEscalation => {
            "Set `securityContext.allowPrivilegeEscalation: false` in every container."
        }
        psa::Check::RunAsNonRoot => {
            "Set `securityContext.runAsNonRoot: true` at the pod level and run the image as a non-root user."
        }
        psa::Check::RunAsUser => "Run as a non-zero UID (remove `runAsUser: 0`).",
    };
    format!(
        "{change} Otherwise enforce a less strict level than {} on the namespace.",
        policy.level
    )
}

#[cfg(test)]
mod tests {
    use crate::psa::Policy;
    use crate::source::{LoadOptions, load_str};
    use crate::{CheckOptions, MeshMode, check};

    fn run(yaml: &str, pod_security: Option<&str>) -> Vec<crate::Finding> {
        let loaded = load_str("test.yaml", yaml, &LoadOptions::default());
        let mut options = CheckOptions::default();
        options.settings.mesh = MeshMode::None;
        options.settings.admission.pod_security = pod_security.map(|p| Policy::parse(p).unwrap());
        check(&loaded, &options)
            .findings
            .into_iter()
            .filter(|f| f.code == "MR0012")
            .collect()
    }

    const PRIVILEGED_APP: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: baseline
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
      - name: app
        image: app
        securityContext:
          privileged: true
";

    #[test]
    fn reports_the_offending_field_under_the_namespace_level() {
        let f = run(PRIVILEGED_APP, None);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(
            f[0].message,
            r#"namespace "shop" enforces baseline:latest: privileged (container "app" must not set securityContext.privileged=true)"#
        );
        assert_eq!(
            f[0].path,
            "/spec/template/spec/containers/0/securityContext/privileged"
        );
        assert_eq!(f[0].location.as_ref().map(|l| l.line), Some(20));
    }

    #[test]
    fn the_flag_overrides_the_namespace_and_privileged_admits() {
        assert!(run(PRIVILEGED_APP, Some("privileged")).is_empty());
        let unlabelled = PRIVILEGED_APP.replace("pod-security.kubernetes.io/enforce", "team");
        assert!(run(&unlabelled, None).is_empty());
        assert_eq!(run(&unlabelled, Some("baseline:v1.0")).len(), 1);
    }
}
