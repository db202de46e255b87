//! The GitHub Actions format: one workflow command per finding, which GitHub shows as an
//! annotation on the file and line.
//!
//! ```text
//! ::error file=deploy/web.yaml,line=12,col=9,title=MR0002 reserved-sidecar-port::container `app` listens on 15090. Move the application to a port outside Istio's list.
//! ```
//!
//! `::error`, `::warning` and `::notice` follow the finding's severity. Inputs that could not be
//! read are `::error` commands titled `meshready`. Findings without a file location (live
//! cluster objects, unused `--suppress` patterns) and findings read from stdin carry no
//! `file`/`line`/`col`, so GitHub shows them on the run rather than on a wrong file. Values are
//! escaped as GitHub's toolkit does: `%`, `\r`, `\n` in the message, and also `:` and `,` in
//! properties.

use std::fmt::Write;

use super::visible;
use crate::Report;
use crate::finding::Severity;

/// Escapes a command's message.
#[must_use]
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command's property value.
#[must_use]
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

fn properties(location: Option<(&str, u32, u32)>, title: &str) -> String {
    let mut out = String::new();
    if let Some((file, line, column)) = location.filter(|(file, ..)| *file != "-") {
        let file = file.replace('\\', "/");
        let file = file.trim_start_matches("./");
        let _ = write!(
            out,
            "file={},line={line},col={column},",
            escape_property(file)
        );
    }
    let _ = write!(out, "title={}", escape_property(title));
    out
}

/// Renders input errors and the findings at or above `threshold`, one command per line.
#[must_use]
pub fn render(report: &Report, threshold: Severity) -> String {
    let mut out = String::new();
    for e in &report.errors {
        let _ = writeln!(
            out,
            "::error {}::{}",
            properties(Some((&e.file, e.line, e.column)), "meshready"),
            escape_data(&e.message)
        );
    }
    for f in visible(&report.findings, threshold) {
        let location = f
            .location
            .as_ref()
            .map(|l| (l.file.as_str(), l.line, l.column));
        let _ = writeln!(
            out,
            "::{} {}::{}",
            command(f.severity),
            properties(location, &format!("{} {}", f.code, f.name)),
            escape_data(&format!("{}. {}", f.text(), f.fix))
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("50%\r\nnext: a,b"), "50%25%0D%0Anext: a,b");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
