//! `meshready rules` and `meshready explain`, from the rules' own doc comments.

use std::io::Write;

use anyhow::{Result, bail};
use meshready_core::rules::{RULES, find};

use crate::args::{ExplainArgs, RulesArgs, RulesFormat};

pub fn list(args: &RulesArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    match args.output {
        RulesFormat::Json => {
            let rules: Vec<_> = RULES
                .iter()
                .map(|r| {
                    let m = r.meta();
                    serde_json::json!({
                        "code": m.code, "name": m.name, "severity": m.severity, "summary": m.summary,
                        "istio_versions": m.istio_versions,
                        "version_dependence": m.version_dependence,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::to_string_pretty(&rules)?)?;
        }
        RulesFormat::Text => {
            for r in RULES {
                let m = r.meta();
                writeln!(
                    out,
                    "{:<8} {:<8} {:<40} {}",
                    m.code, m.severity, m.name, m.summary
                )?;
            }
        }
    }
    Ok(0)
}

pub fn explain(args: &ExplainArgs) -> Result<u8> {
    let Some(m) = find(&args.rule) else {
        bail!("unknown rule {:?}; `meshready rules` lists them", args.rule);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "# {} ({})\n", m.name, m.code)?;
    writeln!(
        out,
        "Default severity: {}. Istio versions: {}.\n",
        m.severity, m.istio_versions
    )?;
    if let Some(depends) = m.version_dependence {
        writeln!(out, "Depends on the version: {depends}\n")?;
    }
    writeln!(out, "{}", m.explanation())?;
    Ok(0)
}
