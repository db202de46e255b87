//! MR0013: no OpenShift SecurityContextConstraints usable by the pod admits Istio's `istio-init`.

use super::admission_policy::PolicyKind;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// When the input contains OpenShift SecurityContextConstraints and Istio runs without the
    /// CNI plugin: for every in-mesh workload, whether one SCC that the pod may use admits the
    /// containers Istio injects — `istio-init` (adds NET_ADMIN and NET_RAW, drops ALL, runs as
    /// UID 0) and `istio-proxy`. An SCC is usable when its `users` or `groups` name the pod's
    /// ServiceAccount (or the controller that creates the pod; for a bare Pod, the group
    /// `system:authenticated` of whoever creates it), or RBAC lets them `use` it
    /// (`securitycontextconstraints` in `security.openshift.io`) in the pod's namespace. The
    /// capability check is PodSecurityPolicy's (`allowedCapabilities` with `*`,
    /// `defaultAddCapabilities`, literal `requiredDropCapabilities`), plus
    /// `allowPrivilegedContainer`, `runAsUser` (`MustRunAsRange` and `MustRunAsNonRoot` reject
    /// UID 0) and `readOnlyRootFilesystem`.
    ///
    /// ## Why it matters in the mesh
    /// OpenShift's default SCCs `restricted-v2` and `anyuid` do not allow NET_ADMIN or NET_RAW,
    /// and `restricted-v2` rejects UID 0; only `privileged` (or a custom SCC) admits
    /// `istio-init`. Without it the pods of a Deployment are never created. Istio's supported
    /// OpenShift installation (`--set profile=openshift`) uses the CNI plugin for this reason.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: security.openshift.io/v1
    /// kind: SecurityContextConstraints
    /// metadata:
    ///   name: restricted-v2
    /// allowedCapabilities: [NET_BIND_SERVICE]
    /// requiredDropCapabilities: [ALL]
    /// runAsUser:
    ///   type: MustRunAsRange
    /// # the only SCC the application's ServiceAccount may use
    /// ```
    ///
    /// ## Fix
    /// Install Istio with the CNI plugin (`istioctl install --set profile=openshift`), or grant
    /// the ServiceAccount an SCC that allows NET_ADMIN and NET_RAW and UID 0
    /// (`oc adm policy add-scc-to-user privileged -z SA -n NS`).
    ///
    /// ## References
    /// - https://istio.io/latest/docs/setup/platform-setup/openshift/
    /// - https://docs.openshift.com/container-platform/latest/authentication/managing-security-context-constraints.html
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/
    pub struct CapabilitiesDeniedByScc {
        code: "MR0013",
        name: "capabilities-denied-by-scc",
        severity: Error,
        summary: "no OpenShift SecurityContextConstraints usable by the pod admits Istio's injected istio-init container",
        istio_versions: "all Istio versions on OpenShift without Istio CNI",
        version_dependence: "the injected pod follows the Istio version (native sidecars from 1.27); the proxy's UID/GID come from the namespace's OpenShift ranges",
    }
}

impl Rule for CapabilitiesDeniedByScc {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        PolicyKind::Scc.check(cx, out, &Self::META);
    }
}

#[cfg(test)]
mod tests {
    use crate::source::{LoadOptions, load_str};
    use crate::{CheckOptions, check};

    const SCCS: &str = "
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: privileged}
allowPrivilegedContainer: true
allowedCapabilities: ['*']
runAsUser: {type: RunAsAny}
groups: ['system:cluster-admins']
---
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: anyuid}
priority: 10
requiredDropCapabilities: [MKNOD]
runAsUser: {type: RunAsAny}
groups: ['system:cluster-admins']
---
apiVersion: security.openshift.io/v1
kind: SecurityContextConstraints
metadata: {name: restricted-v2}
allowPrivilegeEscalation: false
allowedCapabilities: [NET_BIND_SERVICE]
requiredDropCapabilities: [ALL]
runAsUser: {type: MustRunAsRange}
groups: ['system:authenticated']
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {labels: {app: web, version: v1}}
    spec:
      containers: [{name: web, image: web}]
";

    fn findings(extra: &str) -> Vec<crate::Finding> {
        let loaded = load_str("x.yaml", &format!("{SCCS}{extra}"), &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        let mut report = check(&loaded, &CheckOptions::default());
        report.findings.retain(|f| f.code == "MR0013");
        report.findings
    }

    #[test]
    fn restricted_v2_rejects_istio_init() {
        let f = findings("");
        assert_eq!(f.len(), 1);
        assert_eq!(
            f[0].message,
            "no SecurityContextConstraints usable by ServiceAccount `shop/default` or the requesting `system:serviceaccount:kube-system:replicaset-controller` admits the injected `istio-init`; `restricted-v2`: allowedCapabilities lacks NET_ADMIN, NET_RAW (added by `istio-init`), runAsUser MustRunAsRange (the namespace's UID range) excludes `istio-init`'s UID 0"
        );
        assert_eq!(f[0].path, "/spec/template/spec");
    }

    #[test]
    fn anyuid_rejects_and_privileged_admits() {
        let grant = |scc: &str| {
            format!(
                "---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: 'system:openshift:scc:{scc}'}}
rules: [{{apiGroups: [security.openshift.io], resources: [securitycontextconstraints], verbs: [use], resourceNames: [{scc}]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {scc}, namespace: shop}}
roleRef: {{kind: ClusterRole, name: 'system:openshift:scc:{scc}'}}
subjects: [{{kind: ServiceAccount, name: default}}]
"
            )
        };
        let f = findings(&grant("anyuid"));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains(
                "`anyuid`: requiredDropCapabilities needs `istio-init` to drop MKNOD literally"
            ),
            "{}",
            f[0].message
        );
        assert!(findings(&grant("privileged")).is_empty());
    }

    #[test]
    fn with_cni_only_a_tproxy_proxy_is_rejected() {
        let cni = "---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: istio-cni-node, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: install-cni, image: cni}]
";
        // istio-validation and the proxy run unprivileged: restricted-v2 admits them.
        assert!(findings(cni).is_empty());
        // TPROXY: the proxy runs as root with NET_ADMIN, even with CNI.
        let tproxy = format!("{cni}{}", SCCS_TPROXY);
        let f = findings(&tproxy);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].object.name, "tproxy");
        assert!(
            f[0].message
                .contains("admits the injected `istio-proxy`; `restricted-v2`: allowedCapabilities lacks NET_ADMIN (added by `istio-proxy`)"),
            "{}",
            f[0].message
        );
    }

    const SCCS_TPROXY: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tproxy, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: tproxy, version: v1}
      annotations: {sidecar.istio.io/interceptionMode: TPROXY}
    spec:
      containers: [{name: tproxy, image: tproxy}]
";
}
