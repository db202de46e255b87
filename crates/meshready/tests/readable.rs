//! Output at scale: colour only on a terminal (or when asked, never with `NO_COLOR` unless
//! asked), `--quiet`, `--statistics`, and the summary's most frequent rules.

#![expect(
    clippy::print_stderr,
    reason = "the terminal test prints SKIP when util-linux `script` is missing"
)]

use std::path::Path;

use assert_cmd::Command;
use assert_cmd::cargo::cargo_bin;

fn fixtures() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats"
    ))
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = Command::cargo_bin("meshready").unwrap();
    command.current_dir(fixtures()).env_remove("NO_COLOR");
    for (k, v) in env {
        command.env(k, v);
    }
    let output = command
        .args(["check", "--no-config"])
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const ESC: char = '\u{1b}';

#[test]
fn colour_follows_the_flag_and_no_color() {
    // Not a terminal: plain by default.
    let (_, plain, stderr) = run(&["app.yaml"], &[]);
    assert!(!plain.contains(ESC) && !stderr.contains(ESC));
    let (_, always, stderr) = run(&["--color", "always", "app.yaml"], &[]);
    assert!(
        always.contains("\u{1b}[1;31merror[MR0002]\u{1b}[0m"),
        "{always}"
    );
    assert!(
        stderr.contains(ESC),
        "the summary is coloured too: {stderr}"
    );
    // `always` wins over NO_COLOR, as no-color.org asks of explicit flags.
    let (_, forced, _) = run(&["--color=always", "app.yaml"], &[("NO_COLOR", "1")]);
    assert_eq!(forced, always);
    let (_, never, _) = run(&["--color=never", "-o", "concise", "app.yaml"], &[]);
    assert!(!never.contains(ESC));
    let (_, concise, _) = run(&["--color=always", "-o", "concise", "app.yaml"], &[]);
    assert!(concise.contains(ESC));
    // The escapes are the only difference.
    let stripped = concise
        .split(ESC)
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('m').map_or(part, |(_, rest)| rest)
            }
        })
        .collect::<String>();
    assert_eq!(stripped, never);
}

/// On a terminal (`script` gives the command a pseudo-terminal), `auto` colours unless
/// NO_COLOR is set.
#[test]
fn auto_colours_a_terminal() {
    if !Path::new("/usr/bin/script").exists() {
        eprintln!("SKIP auto_colours_a_terminal: util-linux `script` is not installed");
        return;
    }
    let bin = cargo_bin("meshready");
    let line = format!("{} check --no-config -o concise app.yaml", bin.display());
    let through_tty = |no_color: Option<&str>| {
        let mut command = std::process::Command::new("/usr/bin/script");
        command
            .args(["-qec", &line, "/dev/null"])
            .current_dir(fixtures())
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            command.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let tty = through_tty(None);
    assert!(tty.contains("\u{1b}[1;31merror[MR0002]"), "{tty:?}");
    assert!(!through_tty(Some("1")).contains(ESC));
    // An empty NO_COLOR does not count (no-color.org).
    assert!(through_tty(Some("")).contains(ESC));
}

#[test]
fn quiet_prints_only_errors_and_keeps_the_exit_code() {
    let (code, stdout, stderr) = run(&["-q", "-o", "concise", "app.yaml"], &[]);
    assert_eq!(code, 1);
    assert_eq!(stderr, "", "no summary");
    assert!(!stdout.is_empty());
    assert!(stdout.lines().all(|l| l.contains(": error[")), "{stdout}");
    let (code, stdout, stderr) = run(&["--quiet", "clean.yaml"], &[]);
    assert_eq!((code, stdout.as_str(), stderr.as_str()), (0, "", ""));
    // Input errors are errors: shown, exit 2.
    let (code, stdout, _) = run(&["-q", "-o", "concise", "broken.yaml"], &[]);
    assert_eq!(code, 2);
    assert!(stdout.starts_with("broken.yaml:7:1: error: "), "{stdout}");
}

#[test]
fn statistics_count_findings_per_rule() {
    let (code, table, _) = run(&["--statistics", "app.yaml"], &[]);
    assert_eq!(code, 1, "the exit code does not change");
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        rows[0],
        ["2", "MR0002", "error", "reserved-sidecar-port"],
        "{table}"
    );
    assert!(rows.iter().all(|r| r.len() == 4), "{table}");
    let total: usize = rows
        .iter()
        .map(|r| r[0].trim().parse::<usize>().unwrap())
        .sum();
    let (_, concise, _) = run(&["-o", "concise", "app.yaml"], &[]);
    assert_eq!(total, concise.lines().count());
    // As JSON with -o json; the output threshold applies.
    let (_, json, _) = run(
        &[
            "--statistics",
            "-o",
            "json",
            "--output-threshold",
            "warning",
            "app.yaml",
        ],
        &[],
    );
    let counts: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(counts[0]["code"], "MR0002");
    assert_eq!(counts[0]["count"], 2);
    assert!(counts.iter().all(|c| c["severity"] != "info"), "{json}");
}

#[test]
fn the_summary_ends_with_the_most_frequent_rules() {
    let (_, _, stderr) = run(&["app.yaml"], &[]);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("checked 1 file"), "{stderr}");
    assert_eq!(lines[1], "most frequent rules:");
    assert_eq!(lines[2], "  2  MR0002   reserved-sidecar-port");
    assert_eq!(lines.len(), 7, "{stderr}");
    assert!(lines[5].contains("meshready explain MR0002"), "{stderr}");
    assert!(
        lines[6].contains("`rules: {MR0002: {severity: off}}`"),
        "{stderr}"
    );
    // Nothing fired: no list.
    let (_, _, stderr) = run(&["clean.yaml"], &[]);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
