//! MR0044: a Job or CronJob whose pods get a sidecar that is not native never completes.

use crate::admission::inject;
use crate::finding::Finding;
use crate::model::Membership;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it checks
    /// Every Job and CronJob (and bare Pod with `restartPolicy: Never` or `OnFailure`) that
    /// Istio injects, as the injector builds its pod: whether `istio-proxy` is a native
    /// sidecar (an init container with `restartPolicy: Always`) or a regular container. Native
    /// sidecars are Istio's default from 1.27 when every node runs kubelet 1.33 or newer
    /// (`--native-sidecars auto`, `--istio-version`, `--kubernetes-version`, Nodes in the
    /// input); the pod annotation `sidecar.istio.io/nativeSidecar` overrides it. Templates
    /// that already carry `istio-proxy` are judged as they are.
    ///
    /// ## Why it matters in the mesh
    /// A Job completes when all of its pod's containers have exited. A classic sidecar keeps
    /// running after the application's container finished, so the pod never completes, the
    /// Job never succeeds and CronJob runs pile up. A native sidecar is stopped by the kubelet
    /// once the regular containers are done.
    ///
    /// ## Example
    /// ```yaml
    /// apiVersion: batch/v1
    /// kind: Job
    /// metadata:
    ///   name: migrate
    /// spec:
    ///   template:
    ///     metadata:
    ///       annotations:
    ///         sidecar.istio.io/nativeSidecar: "false"
    ///     spec:
    ///       restartPolicy: Never
    ///       containers:
    ///       - name: migrate
    ///         image: migrate
    /// ```
    ///
    /// ## Fix
    /// Use native sidecars: annotate the pod template `sidecar.istio.io/nativeSidecar: "true"`
    /// (Kubernetes 1.29 or newer), or turn them on mesh-wide (`ENABLE_NATIVE_SIDECARS=true` on
    /// istiod). Otherwise the application must stop the proxy when it is done
    /// (`curl -X POST localhost:15020/quitquitquit`), or opt the Job out of the mesh with the
    /// label `sidecar.istio.io/inject: "false"`.
    ///
    /// ## References
    /// - https://istio.io/latest/blog/2023/native-sidecars/
    /// - https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
    /// - https://istio.io/latest/docs/reference/config/annotations/#SidecarNativeSidecar
    pub struct JobSidecarNeverExits {
        code: "MR0044",
        name: "job-sidecar-never-exits",
        severity: Warning,
        summary: "a Job or CronJob whose pods get a sidecar that is not native never completes",
        istio_versions: "depends on the version: native sidecars are the default from Istio 1.27 on Kubernetes 1.33+ nodes",
        version_dependence: "native sidecars are the default from Istio 1.27 when every node runs kubelet 1.33+ (--istio-version, --kubernetes-version, --native-sidecars, Nodes in the input)",
    }
}

impl Rule for JobSidecarNeverExits {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        for (i, w) in cx.model.workloads.iter().enumerate() {
            let runs_to_completion = match w.object.kind.as_str() {
                "Job" | "CronJob" => true,
                "Pod" => matches!(
                    w.spec
                        .get("restartPolicy")
                        .and_then(crate::source::Node::as_str),
                    Some("Never" | "OnFailure")
                ),
                _ => false,
            };
            if !runs_to_completion || cx.model.is_control_plane(w) {
                continue;
            }
            let (native, why) = match &cx.model.membership[i] {
                Membership::Injected(_) => {
                    let Some(injected) = inject::injection(cx.model, w) else {
                        continue;
                    };
                    let why = if injected.options.native_source.starts_with("the pod") {
                        "the pod annotation sidecar.istio.io/nativeSidecar turns native sidecars off".to_string()
                    } else {
                        format!(
                            "native sidecars are off: {}",
                            cx.model.inject.native_sidecars_source
                        )
                    };
                    (injected.proxy_is_native(), why)
                }
                Membership::AlreadyInjected => (
                    w.containers().any(|c| {
                        c.name == crate::istio::ISTIO_PROXY
                            && c.list == crate::model::ContainerList::Init
                    }),
                    "the template carries istio-proxy as a regular container".to_string(),
                ),
                _ => continue,
            };
            if native {
                continue;
            }
            out.push(cx.finding(
                &Self::META,
                w.object,
                &w.pointer("/spec/containers"),
                format!(
                    "the injected istio-proxy is not a native sidecar, so {} ({why})",
                    match w.object.kind.as_str() {
                        "CronJob" => "the CronJob's Jobs never complete",
                        "Pod" => "the pod never completes",
                        _ => "the Job never completes",
                    },
                ),
                "Annotate the pod template `sidecar.istio.io/nativeSidecar: \"true\"` (Kubernetes 1.29 or newer) or enable native sidecars mesh-wide, so that the kubelet stops the proxy when the application's containers exit.".to_string(),
            ));
        }
    }
}
