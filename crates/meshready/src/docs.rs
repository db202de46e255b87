//! `meshready generate-docs`: writes (or, with `--check`, verifies) the rule pages in docs/rules.

use std::io::Write;

use anyhow::{Context, Result};
use meshready_core::output::markdown;

use crate::args::GenerateDocsArgs;

/// Writes every page, or with `--check` lists the stale ones and returns 1.
pub fn generate(args: &GenerateDocsArgs) -> Result<u8> {
    let pages = markdown::all_pages();
    let mut stale = Vec::new();
    for (name, contents) in &pages {
        let path = args.dir.join(name);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() != Some(contents.as_str()) {
            stale.push((path, current.is_none()));
        }
    }
    // Generated pages of rules that no longer exist (rules are never removed, but renamed files
    // would linger).
    if let Ok(entries) = std::fs::read_dir(&args.dir) {
        let mut extra: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "md")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| !pages.iter().any(|(name, _)| name == n))
                    && std::fs::read_to_string(p)
                        .is_ok_and(|t| t.starts_with(markdown::GENERATED_NOTICE))
            })
            .collect();
        extra.sort();
        stale.extend(extra.into_iter().map(|p| (p, false)));
    }
    let mut out = std::io::stdout().lock();
    if args.check {
        if stale.is_empty() {
            writeln!(out, "{} rule pages are up to date", pages.len())?;
            return Ok(0);
        }
        let mut err = std::io::stderr().lock();
        for (path, missing) in &stale {
            let what = if *missing { "missing" } else { "stale" };
            writeln!(err, "{what}: {}", path.display())?;
        }
        writeln!(
            err,
            "{} of the rule pages are out of date; run `meshready generate-docs --dir {}`",
            stale.len(),
            args.dir.display()
        )?;
        return Ok(1);
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for (name, contents) in &pages {
        let path = args.dir.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    for (path, _) in stale.iter().filter(|(p, _)| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| !pages.iter().any(|(name, _)| name == n))
    }) {
        std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    writeln!(out, "wrote {} pages to {}", pages.len(), args.dir.display())?;
    Ok(0)
}
