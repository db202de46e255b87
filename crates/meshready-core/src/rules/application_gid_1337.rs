//! MR0006: an application container runs with GID 1337, which the sidecar's iptables rules exempt.

use super::helpers::check_proxy_id;
use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// The effective `runAsGroup` of every application container (init, regular and ephemeral;
    /// the container's own `securityContext`, else the pod's) of every in-mesh workload.
    ///
    /// ## Why it matters in the mesh
    /// Istio's iptables rules exempt traffic from GID 1337 as well as UID 1337
    /// (`--gid-owner 1337`), so an application running with group 1337 bypasses the sidecar just
    /// as one running as user 1337 does. istioctl does not check groups.
    ///
    /// ## Example
    /// ```yaml
    /// spec:
    ///   securityContext:
    ///     runAsGroup: 1337
    /// ```
    ///
    /// ## Fix
    /// Run the application with any other primary group.
    ///
    /// ## References
    /// - https://istio.io/latest/docs/ops/deployment/application-requirements/#application-uids
    /// - istio/istio `tools/istio-iptables/pkg/capture/run.go` (`--gid-owner`)
    pub struct ApplicationGid1337 {
        code: "MR0006",
        name: "application-gid-1337",
        severity: Warning,
        summary: "an application container runs with GID 1337, which the sidecar's iptables rules exempt",
        istio_versions: "all Istio versions",
    }
}

impl Rule for ApplicationGid1337 {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        check_proxy_id(
            cx,
            out,
            &Self::META,
            "runAsGroup",
            "GID",
            "Run the application with a group other than 1337; traffic from GID 1337 bypasses the sidecar.",
        );
    }
}
