//! Where meshready meets its surroundings: `kubectl meshready` through the real kubectl, shell
//! completions, the man page, `--version`, `kubectl kustomize deploy/`, and the packaging files
//! (Dockerfile, action, pre-commit hook, krew manifest) naming what the repository builds.

#![expect(
    clippy::print_stderr,
    reason = "tests that need kubectl print SKIP when it is not on the PATH"
)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

fn stdout(args: &[&str]) -> String {
    let output = Command::cargo_bin("meshready")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn completions_are_generated_for_every_shell() {
    let bash = stdout(&["completions", "bash"]);
    assert!(bash.contains("_meshready()"), "{bash}");
    assert!(bash.contains("complete -F _meshready"));
    for word in ["check", "baseline", "--statistics", "--project-root"] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    assert!(stdout(&["completions", "zsh"]).starts_with("#compdef meshready"));
    assert!(stdout(&["completions", "fish"]).contains("complete -c meshready"));
    assert!(stdout(&["completions", "powershell"]).contains("Register-ArgumentCompleter"));
    let wrong = Command::cargo_bin("meshready")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2));
}

#[test]
fn the_man_page_is_generated() {
    let page = stdout(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq"),
        "{}",
        &page[..80.min(page.len())]
    );
    assert!(page.contains(".TH meshready 1"), "{page}");
    assert!(page.contains("Istio"));
    for command in ["check", "cluster", "baseline", "completions"] {
        assert!(page.contains(command), "the man page lacks {command}");
    }
}

#[test]
fn version_names_the_supported_istio_and_kubernetes_releases() {
    let long = stdout(&["--version"]);
    assert!(long.starts_with(&format!("meshready {}", env!("CARGO_PKG_VERSION"))));
    assert!(long.contains("Istio 1.20–1.31"), "{long}");
    assert!(long.contains("Kubernetes 1.20–1.37"), "{long}");
    let short = stdout(&["-V"]);
    assert!(
        short.contains("Istio 1.20–1.31") && short.contains("Kubernetes"),
        "{short}"
    );
}

/// A `kubectl-meshready` link on the PATH makes `kubectl meshready` run meshready, and its help
/// names the command as the user typed it.
#[cfg(unix)]
#[test]
fn kubectl_meshready_runs_the_plugin() {
    let Some(kubectl) = kubectl() else {
        eprintln!("SKIP kubectl_meshready_runs_the_plugin: kubectl is not on the PATH");
        return;
    };
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(cargo_bin("meshready"), bin.path().join("kubectl-meshready"))
        .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = Process::new(&kubectl)
            .args(args)
            .env("PATH", &path)
            .env("HOME", home.path())
            .env("KUBECONFIG", home.path().join("none"))
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, help, stderr) = run(&["meshready", "--help"]);
    assert_eq!(code, Some(0), "{help}{stderr}");
    assert!(
        help.contains("Usage: kubectl meshready <COMMAND>"),
        "{help}"
    );
    assert!(help.contains("meshready as a kubectl plugin"), "{help}");
    let (_, check_help, _) = run(&["meshready", "check", "--help"]);
    assert!(
        check_help.contains("Usage: kubectl meshready check"),
        "{check_help}"
    );
    // It really runs: a check through kubectl, with meshready's exit code.
    let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats/app.yaml");
    let (code, out, _) = run(&[
        "meshready",
        "check",
        "--no-config",
        "-o",
        "concise",
        app.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("error[MR0002]"), "{out}");
    // Run directly, it is plain meshready.
    assert!(stdout(&["--help"]).contains("Usage: meshready <COMMAND>"));
}

/// `kubectl kustomize deploy/` renders the webhook, and its image is the one the Dockerfile
/// documents building.
#[test]
fn deploy_renders_with_kubectl_kustomize() {
    let Some(kubectl) = kubectl() else {
        eprintln!("SKIP deploy_renders_with_kubectl_kustomize: kubectl is not on the PATH");
        return;
    };
    let output = Process::new(kubectl)
        .args(["kustomize"])
        .arg(repo().join("deploy"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let rendered = String::from_utf8(output.stdout).unwrap();
    for kind in [
        "kind: Namespace",
        "kind: Deployment",
        "kind: Service",
        "kind: ValidatingWebhookConfiguration",
    ] {
        assert!(rendered.contains(kind), "{kind} missing:\n{rendered}");
    }
    let image = image_of_deploy();
    assert!(rendered.contains(&format!("image: {image}")), "{rendered}");
    // The rendered manifests are themselves mesh-ready enough to check without errors.
    let check = Command::cargo_bin("meshready")
        .unwrap()
        .args(["check", "--no-config", "-o", "concise", "-"])
        .write_stdin(rendered)
        .output()
        .unwrap();
    assert_ne!(check.status.code(), Some(2), "{check:?}");
}

fn image_of_deploy() -> String {
    let deployment = std::fs::read_to_string(repo().join("deploy/deployment.yaml")).unwrap();
    deployment
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .unwrap()
        .to_string()
}

/// The packaging files agree with each other and with the workspace: the Dockerfile builds the
/// image deploy/ names with `--locked` as a non-root user, and the hooks run real commands.
#[test]
fn packaging_files_name_what_the_repository_builds() {
    let read =
        |p: &str| std::fs::read_to_string(repo().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let dockerfile = read("Dockerfile");
    let image = image_of_deploy();
    let (name, tag) = image.rsplit_once(':').unwrap();
    assert!(
        dockerfile.contains(&format!("docker build -t {name}:{tag} .")),
        "{image}"
    );
    assert_eq!(tag, env!("CARGO_PKG_VERSION"));
    assert!(dockerfile.contains("--locked"));
    assert!(dockerfile.contains("--profile dist"));
    assert!(
        dockerfile
            .lines()
            .filter(|l| l.starts_with("FROM "))
            .count()
            >= 2
    );
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the final stage sets a USER");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    let workspace = read("Cargo.toml");
    assert!(workspace.contains("[profile.dist]"));

    // Each is valid YAML (read with meshready's own parser).
    let yaml = |p: &str| {
        let parsed = meshready_core::source::yaml::parse_document(
            &read(p),
            0,
            meshready_core::source::yaml::Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{p}: {e:?}"));
        parsed.root.unwrap().to_json()
    };
    let action_yaml = yaml("action.yml");
    assert_eq!(action_yaml["runs"]["using"], "composite");
    let steps = action_yaml["runs"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| {
        s["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
    }));
    for input in action_yaml["inputs"].as_object().unwrap().values() {
        assert!(input["description"].is_string(), "{input}");
    }
    let hooks_yaml = yaml(".pre-commit-hooks.yaml");
    for hook in hooks_yaml.as_array().unwrap() {
        for key in ["id", "name", "entry", "language"] {
            assert!(hook[key].is_string(), "{key} in {hook}");
        }
    }
    let krew_yaml = yaml("deploy/krew/meshready.yaml");
    for platform in krew_yaml["spec"]["platforms"].as_array().unwrap() {
        assert_eq!(platform["bin"], "kubectl-meshready");
        assert_eq!(platform["sha256"].as_str().unwrap().len(), 64);
    }

    let hooks = read(".pre-commit-hooks.yaml");
    assert!(hooks.contains("id: meshready"));
    assert!(hooks.contains("entry: meshready check"));
    let action = read("action.yml");
    for needle in [
        "using: composite",
        "cargo install --locked --path",
        "-o sarif",
        "github/codeql-action/upload-sarif",
    ] {
        assert!(action.contains(needle), "action.yml lacks {needle}");
    }
    assert!(
        !action.contains("|| true"),
        "the action must not hide exit code 2"
    );
    let krew = read("deploy/krew/meshready.yaml");
    assert!(krew.contains("kind: Plugin"));
    assert!(krew.contains(&format!("version: v{}", env!("CARGO_PKG_VERSION"))));
    assert!(krew.contains("bin: kubectl-meshready"));
}
