//! MR0010: no PodSecurityPolicy usable by the pod admits Istio's injected `istio-init` container.

use super::admission_policy::PolicyKind;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// When the input contains PodSecurityPolicies and Istio runs without the CNI plugin: for
    /// every in-mesh workload, whether one PSP that the pod may `use` admits the containers Istio
    /// injects — `istio-init` (adds NET_ADMIN and NET_RAW, drops ALL, runs as UID 0) and
    /// `istio-proxy`. A PSP is usable when RBAC lets the pod's ServiceAccount, or the controller
    /// that creates the pod (`replicaset-controller` for Deployments, `job-controller` for Jobs
    /// and CronJobs, ...; for a bare Pod, whoever creates it is at least in
    /// `system:authenticated`), `use` it in the pod's namespace, in API group `policy` or
    /// `extensions`: ClusterRoleBindings plus RoleBindings of that namespace, `*` and
    /// `resourceNames`, aggregated ClusterRoles. A PSP admits the containers when each added
    /// capability is in `allowedCapabilities` (or `*`) or `defaultAddCapabilities`, every
    /// `requiredDropCapabilities` entry is dropped literally (`ALL` does not count), no default
    /// capability would have to be added, and `runAsUser`, `runAsGroup`,
    /// `readOnlyRootFilesystem`, `privileged` and `allowPrivilegeEscalation` accept them.
    ///
    /// ## Why it matters in the mesh
    /// PodSecurityPolicy admission validates the pod after Istio's webhook injected it, and it
    /// may no longer change the pod then. If no usable PSP admits `istio-init`, the controller's
    /// pod creations fail (`FailedCreate` events on the ReplicaSet) while `kubectl apply` of
    /// the Deployment succeeds. The Istio docs' check (`kubectl auth can-i use psp/...` over
    /// `allowedCapabilities`) looks at the wrong namespace, one API group, ignores
    /// `defaultAddCapabilities`, required drops and `runAsUser`, and never sees the controller's
    /// grants; `meshready caps` prints that table offline.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: policy/v1beta1
    /// kind: PodSecurityPolicy
    /// metadata:
    ///   name: restricted
    /// spec:
    ///   requiredDropCapabilities: [ALL]
    ///   runAsUser:
    ///     rule: MustRunAsNonRoot
    /// # bound to system:serviceaccounts: every pod may use only this PSP
    /// ```
    ///
    /// ## Fix
    /// Grant the ServiceAccount `use` of a PSP that allows NET_ADMIN and NET_RAW and UID 0 for
    /// `istio-init` (Istio's `samples/security/psp/sidecar-psp.yaml`), or install Istio with
    /// the CNI plugin, whose `istio-validation` init container needs no capabilities.
    ///
    /// ## References
    /// - https://istio.io/v1.9/docs/ops/deployment/requirements/ (NET_ADMIN and NET_RAW capabilities)
    /// - https://kubernetes.io/docs/concepts/security/pod-security-policy/
    /// - https://istio.io/latest/docs/setup/additional-setup/cni/
    pub struct CapabilitiesDeniedByPsp {
        code: "MR0010",
        name: "capabilities-denied-by-psp",
        severity: Error,
        summary: "no PodSecurityPolicy usable by the pod admits Istio's injected istio-init container",
        istio_versions: "Istio before 1.16 on Kubernetes up to 1.24 (PodSecurityPolicy was removed in Kubernetes 1.25), without Istio CNI",
        version_dependence: "runs only for Kubernetes 1.24 and older (--kubernetes-version); above, the PodSecurityPolicies of the input are reported once as ignored",
    }
}

impl Rule for CapabilitiesDeniedByPsp {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        let kubernetes = cx.model.inject.kubernetes_version;
        if kubernetes <= LAST_PSP_KUBERNETES {
            PolicyKind::Psp.check(cx, out, &Self::META);
            return;
        }
        // PodSecurityPolicy is gone: say once that the input's PSPs are ignored.
        let psps: Vec<&crate::source::Object> = cx
            .model
            .objects
            .iter()
            .filter(|o| crate::admission::psp::is_psp(o))
            .collect();
        // The first by name, so that the input's order does not matter.
        if let Some(first) = psps.iter().min_by(|a, b| a.name.cmp(&b.name)) {
            let mut finding = cx.finding(
                &Self::META,
                first,
                "/kind",
                format!(
                    "PodSecurityPolicy was removed in Kubernetes 1.25, so the {} PodSecurityPolicies of the input are ignored for Kubernetes 1.{kubernetes} ({})",
                    psps.len(),
                    cx.model.inject.kubernetes_version_source
                ),
                "Pass `--kubernetes-version 1.24` (or older) to check them against a cluster that still enforces PodSecurityPolicy; otherwise migrate them to Pod Security Admission labels.".into(),
            );
            finding.severity = crate::finding::Severity::Info;
            out.push(finding);
        }
    }
}

/// The last Kubernetes minor version with PodSecurityPolicy.
const LAST_PSP_KUBERNETES: u32 = 24;

#[cfg(test)]
mod tests {
    use crate::source::{LoadOptions, load_str};
    use crate::{CheckOptions, check};

    fn findings(yaml: &str, code: &str) -> Vec<crate::Finding> {
        findings_on(yaml, code, Some(24))
    }

    fn findings_on(yaml: &str, code: &str, kubernetes: Option<u32>) -> Vec<crate::Finding> {
        let loaded = load_str("x.yaml", yaml, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let mut options = CheckOptions::default();
        options.settings.inject.kubernetes_version = kubernetes;
        let mut report = check(&loaded, &options);
        report.findings.retain(|f| f.code == code);
        report.findings
    }

    const DEPLOYMENT: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      serviceAccountName: web
      containers: [{name: web, image: web}]
";

    const ISTIO_SAMPLE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../meshready/tests/fixtures/caps/istio-sidecar-psp.yaml"
    ));

    #[test]
    fn above_kubernetes_1_24_psps_are_reported_once_as_ignored() {
        let two = format!(
            "{ISTIO_SAMPLE}---\napiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {{name: other}}\nspec: {{}}\n---{DEPLOYMENT}"
        );
        for kubernetes in [None, Some(25)] {
            let f = findings_on(&two, "MR0010", kubernetes);
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].severity, crate::Severity::Info);
            assert!(
                f[0].message.starts_with(
                    "PodSecurityPolicy was removed in Kubernetes 1.25, so the 2 PodSecurityPolicies of the input are ignored"
                ),
                "{}",
                f[0].message
            );
            assert!(
                f[0].fix.contains("--kubernetes-version 1.24"),
                "{}",
                f[0].fix
            );
        }
        assert!(findings_on(DEPLOYMENT, "MR0010", None).is_empty());
    }

    #[test]
    fn istio_sample_psp_admits_every_service_account() {
        assert!(findings(&format!("{ISTIO_SAMPLE}---{DEPLOYMENT}"), "MR0010").is_empty());
    }

    #[test]
    fn no_usable_psp_names_the_service_account() {
        let psp_only = "
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: sidecar}
spec: {allowedCapabilities: [NET_ADMIN, NET_RAW]}
---";
        let f = findings(&format!("{psp_only}{DEPLOYMENT}"), "MR0010");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "none of the PodSecurityPolicies (`sidecar`) is usable by ServiceAccount `shop/web` or the requesting `system:serviceaccount:kube-system:replicaset-controller`, so the pod is rejected once Istio injects `istio-init`"
        );
        assert_eq!(f[0].path, "/spec/template/spec/serviceAccountName");
        assert_eq!(f[0].location.as_ref().map(|l| l.line), Some(14));
    }

    #[test]
    fn required_drop_of_net_raw_rejects() {
        let yaml = "
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: drops}
spec:
  allowedCapabilities: [NET_ADMIN, NET_RAW]
  requiredDropCapabilities: [NET_RAW]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: use-drops}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use], resourceNames: [drops]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: shop, namespace: shop}
roleRef: {kind: ClusterRole, name: use-drops}
subjects: [{kind: Group, name: 'system:serviceaccounts:shop'}]
---";
        let f = findings(&format!("{yaml}{DEPLOYMENT}"), "MR0010");
        assert_eq!(f.len(), 1, "{f:?}");
        assert!(
            f[0].message
                .starts_with("no PodSecurityPolicy usable by ServiceAccount `shop/web`"),
            "{}",
            f[0].message
        );
        assert!(
            f[0].message.contains(
                "`drops`: requiredDropCapabilities needs `istio-init` to drop NET_RAW literally"
            ),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn star_admits_and_cni_or_no_psp_silences() {
        let star = "
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: anything}
spec: {allowedCapabilities: ['*']}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: use-all}
rules: [{apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: all}
roleRef: {kind: ClusterRole, name: use-all}
subjects: [{kind: Group, name: 'system:serviceaccounts'}]
---";
        assert!(findings(&format!("{star}{DEPLOYMENT}"), "MR0010").is_empty());
        assert!(findings(DEPLOYMENT, "MR0010").is_empty());
        let cni = "
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: install-cni, image: cni}]
---
apiVersion: policy/v1beta1
kind: PodSecurityPolicy
metadata: {name: nothing}
spec: {}
---";
        assert!(findings(&format!("{cni}{DEPLOYMENT}"), "MR0010").is_empty());
    }
}
