//! `meshready caps`: the exact kubectl-style table, the verdict lines, JSON and exit codes.

use std::path::Path;

use assert_cmd::Command;

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/caps"))
}

/// Runs `meshready caps ARGS...` in the fixture directory, for Kubernetes 1.24 (the last with
/// PodSecurityPolicy).
fn caps(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--kubernetes-version", "1.24"];
    all.extend_from_slice(args);
    caps_on(&all)
}

/// Runs `meshready caps ARGS...` in the fixture directory.
fn caps_on(args: &[&str]) -> (i32, String, String) {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .arg("caps")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn istio_sample_psp_covers_every_service_account() {
    // samples/security/psp/sidecar-psp.yaml grants `use` in API group `extensions` to the
    // group system:serviceaccounts; admission accepts either group.
    let (code, out, err) = caps(&[
        "--namespace",
        "shop",
        "--service-account",
        "web",
        "istio-sidecar-psp.yaml",
    ]);
    assert_eq!(
        out,
        "istio-sidecar   [NET_ADMIN NET_RAW]\n\
         verdict: NET_ADMIN and NET_RAW are allowed for system:serviceaccount:shop:web by istio-sidecar\n"
    );
    assert_eq!((code, err.as_str()), (0, ""));
}

#[test]
fn only_the_psps_usable_in_the_namespace_are_listed() {
    // `anything` is granted to shop/web by a RoleBinding in namespace tools: not for shop pods.
    let (code, out, _) = caps(&["-n", "shop", "-s", "web", "cluster.yaml"]);
    assert_eq!(
        out,
        "net-admin-only   [NET_ADMIN]\n\
         restricted       <none>\n\
         verdict: NET_ADMIN and NET_RAW are not allowed: no PodSecurityPolicy usable by system:serviceaccount:shop:web allows both (net-admin-only lacks NET_RAW; restricted lacks NET_ADMIN and NET_RAW)\n"
    );
    assert_eq!(code, 1);

    let (code, out, _) = caps(&["-n", "tools", "-s", "web", "cluster.yaml"]);
    assert_eq!(
        out,
        "restricted   <none>\n\
         verdict: NET_ADMIN and NET_RAW are not allowed: no PodSecurityPolicy usable by system:serviceaccount:tools:web allows both (restricted lacks NET_ADMIN and NET_RAW)\n"
    );
    assert_eq!(code, 1);
}

#[test]
fn default_add_capabilities_count_but_would_mutate_the_injected_pod() {
    // `default-add` reaches payments' ServiceAccounts through an aggregated ClusterRole.
    let (code, out, _) = caps(&["-n", "payments", "-s", "api", "cluster.yaml"]);
    assert_eq!(
        out,
        "default-add   [NET_ADMIN]\n\
         restricted    <none>\n\
         verdict: NET_ADMIN and NET_RAW are allowed for system:serviceaccount:payments:api by default-add (NET_RAW via defaultAddCapabilities)\n\
         note: the injected pod is still rejected: default-add: defaultAddCapabilities would add NET_RAW to `istio-proxy` after injection, which admission's validating pass does not allow\n"
    );
    assert_eq!(code, 1);
}

#[test]
fn no_usable_psp_at_all() {
    let psp = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: lonely}\nspec: {allowedCapabilities: ['*']}\n";
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args([
            "caps",
            "--kubernetes-version",
            "1.24",
            "-n",
            "shop",
            "-s",
            "web",
            "-",
        ])
        .write_stdin(psp)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "verdict: NET_ADMIN and NET_RAW are not allowed: system:serviceaccount:shop:web may use none of the PodSecurityPolicies in namespace shop (lonely)\n"
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn several_files_and_the_default_namespace() {
    let (code, out, _) = caps(&[
        "-n",
        "shop",
        "-s",
        "web",
        "--default-namespace",
        "shop",
        "istio-sidecar-psp.yaml",
        "cluster.yaml",
    ]);
    // With both files, istio-sidecar comes first by name and covers.
    assert!(out.starts_with("istio-sidecar    [NET_ADMIN NET_RAW]\nnet-admin-only   [NET_ADMIN]\nrestricted       <none>\n"), "{out}");
    assert_eq!(code, 0);

    let (code, out, _) = caps(&[
        "-n",
        "shop",
        "-s",
        "web",
        "--default-namespace",
        "elsewhere",
        "cluster.yaml",
    ]);
    // The RoleBinding and Role of shop name their namespace, so the default does not matter.
    assert!(out.starts_with("net-admin-only   [NET_ADMIN]\n"), "{out}");
    assert_eq!(code, 1);
}

#[test]
fn security_context_constraints() {
    let (code, out, _) = caps(&["-n", "shop", "-s", "web", "openshift.yaml"]);
    assert_eq!(
        out,
        "verdict: the input has no PodSecurityPolicy, so none restricts NET_ADMIN and NET_RAW\n\
         scc: istio-init is not admitted: no SecurityContextConstraints usable by system:serviceaccount:shop:web admits it (restricted-v2: allowedCapabilities lacks NET_ADMIN, NET_RAW (added by `istio-init`), runAsUser MustRunAsRange (the namespace's UID range) excludes `istio-init`'s UID 0)\n"
    );
    assert_eq!(code, 1);

    let (code, out, _) = caps(&["-n", "legacy", "-s", "mesh", "openshift.yaml"]);
    assert!(
        out.ends_with(
            "scc: istio-init is admitted for system:serviceaccount:legacy:mesh by SecurityContextConstraints privileged\n"
        ),
        "{out}"
    );
    assert_eq!(code, 0);
}

#[test]
fn json_output() {
    let (code, out, _) = caps(&[
        "-n",
        "shop",
        "-s",
        "web",
        "-o",
        "json",
        "istio-sidecar-psp.yaml",
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["user"], "system:serviceaccount:shop:web");
    assert_eq!(v["psps"][0]["name"], "istio-sidecar");
    assert_eq!(
        v["psps"][0]["allowed_capabilities"],
        serde_json::json!(["NET_ADMIN", "NET_RAW"])
    );
    assert_eq!(
        v["psps"][0]["default_add_capabilities"],
        serde_json::json!([])
    );
    assert_eq!(
        v["psps"][0]["usable_via"],
        "ClusterRoleBinding istio-sidecar-psp -> ClusterRole istio-sidecar-psp (Group system:serviceaccounts), in API group extensions"
    );
    assert_eq!(v["verdict"]["covered"], true);
    assert_eq!(
        v["verdict"]["covered_by"],
        serde_json::json!(["istio-sidecar"])
    );
    assert_eq!(v["verdict"]["admitted_by"], "istio-sidecar");
    assert!(v["sccs"].is_null());

    let (code, out, _) = caps(&[
        "-n",
        "payments",
        "-s",
        "api",
        "--output",
        "json",
        "cluster.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["psps"][0]["default_add_capabilities"],
        serde_json::json!(["NET_RAW"])
    );
    assert_eq!(v["verdict"]["covered"], true);
    assert_eq!(v["verdict"]["admitted"], false);
}

#[test]
fn bad_input_exits_2() {
    let (code, _, err) = caps(&["-n", "shop", "-s", "web", "missing.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.yaml: no such file or directory"),
        "{err}"
    );

    let (code, out, err) = caps(&[
        "-n",
        "shop",
        "-s",
        "web",
        "broken.yaml",
        "istio-sidecar-psp.yaml",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("meshready: error: broken.yaml:3:1: "),
        "{err}"
    );
    // What could be read is still reported.
    assert!(
        out.starts_with("istio-sidecar   [NET_ADMIN NET_RAW]\n"),
        "{out}"
    );

    // Missing required flags are usage errors.
    let (code, _, _) = caps(&["-n", "shop", "istio-sidecar-psp.yaml"]);
    assert_eq!(code, 2);
}

#[test]
fn above_kubernetes_1_24_the_psp_table_is_printed_but_does_not_apply() {
    let (code, out, _) = caps_on(&["-n", "shop", "-s", "web", "cluster.yaml"]);
    assert!(
        out.ends_with(
            "note: PodSecurityPolicy was removed in Kubernetes 1.25, so for Kubernetes 1.37 none of this applies (--kubernetes-version 1.24 checks it)\n"
        ),
        "{out}"
    );
    assert!(out.starts_with("net-admin-only   [NET_ADMIN]\n"), "{out}");
    assert_eq!(code, 0);
}

/// Runs `meshready check --no-config FILE` in the fixture directory; the exit code.
fn check_code(file: &str) -> i32 {
    Command::cargo_bin("meshready")
        .unwrap()
        .current_dir(fixtures())
        .args(["check", "--no-config", file])
        .output()
        .unwrap()
        .status
        .code()
        .unwrap_or(-1)
}

#[test]
fn pod_security_verdicts_agree_with_check() {
    // baseline without CNI: istio-init's NET_ADMIN and NET_RAW are refused, as MR0011 says.
    let (code, out, _) = caps_on(&["-n", "shop", "-s", "web", "pod-security.yaml"]);
    assert_eq!(
        out,
        "verdict: the input has no PodSecurityPolicy, so none restricts NET_ADMIN and NET_RAW\n\
         psa: namespace \"shop\" enforces baseline:latest, which rejects the injected pod: `istio-init` adds NET_ADMIN, NET_RAW (Istio CNI is off)\n"
    );
    assert_eq!(code, 1);
    assert_eq!(check_code("pod-security.yaml"), 1);

    // The same namespace with Istio CNI in the input: admitted, by both.
    let (code, out, _) = caps_on(&["-n", "shop", "-s", "web", "pod-security-cni.yaml"]);
    assert!(
        out.contains(
            "psa: namespace \"shop\" enforces baseline:latest, which admits the injected pod\n"
        ),
        "{out}"
    );
    assert_eq!(code, 0);
    assert_eq!(check_code("pod-security-cni.yaml"), 0);

    // TPROXY: even with CNI, the proxy adds NET_ADMIN.
    let (code, out, _) = caps_on(&[
        "-n",
        "shop",
        "-s",
        "web",
        "--interception-mode",
        "tproxy",
        "-o",
        "json",
        "pod-security-cni.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["pod_security"]["admitted"], false);
    assert_eq!(
        v["pod_security"]["rejections"],
        serde_json::json!(["`istio-proxy` adds NET_ADMIN"])
    );
    assert_eq!(v["admitted"], false);
}
