//! `meshready webhook` start-up errors (the server itself is tested in meshready-webhook).

use assert_cmd::Command;
use predicates::str::contains;

#[test]
fn missing_certificate_files_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context.yaml");
    std::fs::write(
        &context,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    )
    .unwrap();
    Command::cargo_bin("meshready")
        .unwrap()
        .args(["webhook", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(dir.path().join("missing.crt"))
        .arg("--tls-key")
        .arg(dir.path().join("missing.key"))
        .arg("--offline-context")
        .arg(&context)
        .assert()
        .code(2)
        .stderr(contains("cannot load the TLS certificate"));
}

#[test]
fn an_unreadable_offline_context_is_reported_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let context = dir.path().join("context.yaml");
    std::fs::write(&context, "kind: [unclosed\n").unwrap();
    Command::cargo_bin("meshready")
        .unwrap()
        .args([
            "webhook",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
            "--offline-context",
        ])
        .arg(&context)
        .assert()
        .code(2)
        .stderr(contains("the offline context has unreadable documents"))
        // The line of the unclosed sequence (the parser itself points past the end).
        .stderr(contains("context.yaml:1:1: "));
}
