//! IST0144: an application container runs as UID 1337, the sidecar proxy's UID.

use super::helpers::check_proxy_id;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// The effective `runAsUser` of every application container — init, regular and ephemeral
    /// containers; the container's own `securityContext`, else the pod's — of every in-mesh
    /// workload. Istio's own containers (`istio-proxy`, `istio-init`, `istio-validation`) are
    /// skipped.
    ///
    /// ## Why it matters in the mesh
    /// UID 1337 is the sidecar proxy's. The iptables rules that redirect traffic through the
    /// sidecar exempt packets from UID 1337, so an application running as 1337 bypasses the proxy:
    /// no mTLS, no policy, no telemetry. istioctl checks only the pod level and `containers`;
    /// meshready also checks init and ephemeral containers and reports the field that sets the
    /// UID (the pod level is reported once, when a container inherits it).
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   containers:
    ///   - name: app
    ///     securityContext:
    ///       runAsUser: 1337
    /// ```
    ///
    /// ## Fix
    /// Run the application as any other UID.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#application-uids
    /// - https://istio.io/latest/docs/reference/config/analysis/ist0144/
    pub struct ApplicationUid1337 {
        code: "IST0144",
        name: "application-uid-1337",
        severity: Warning,
        summary: "an application container runs as UID 1337, the sidecar proxy's UID",
        istio_versions: "all Istio versions",
    }
}

impl Rule for ApplicationUid1337 {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        check_proxy_id(
            cx,
            out,
            &Self::META,
            "runAsUser",
            "UID",
            "Run the application as a UID other than 1337; traffic from UID 1337 bypasses the sidecar.",
        );
    }
}
