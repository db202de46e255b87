//! The committed rule pages in docs/rules match what `meshready generate-docs` writes.

use std::path::Path;

use assert_cmd::Command;

#[test]
fn rule_docs_are_up_to_date() {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules"));
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(["generate-docs", "--check", "--dir"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "docs/rules is stale; run `cargo run -p meshready -- generate-docs`:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn check_names_stale_and_missing_pages() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |check: bool| {
        let mut cmd = Command::cargo_bin("meshready").unwrap();
        cmd.arg("generate-docs");
        if check {
            cmd.arg("--check");
        }
        cmd.arg("--dir").arg(dir.path()).output().unwrap()
    };
    let missing = generate(true);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("missing: "));
    assert!(generate(false).status.success());
    assert!(generate(true).status.success());
    let page = dir.path().join("IST0144.md");
    std::fs::write(&page, "edited by hand\n").unwrap();
    let stale = generate(true);
    assert_eq!(stale.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&stale.stderr);
    assert!(
        stderr.contains("stale: ") && stderr.contains("IST0144.md"),
        "{stderr}"
    );
    let index = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(index.contains("| [MR0030](MR0030.md) | `unused-suppression` | info |"));
}
