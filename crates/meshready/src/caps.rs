//! `meshready caps`: the Istio docs' "required pod capabilities" kubectl loop, offline, with the PSP, Pod Security and SCC verdicts for the injected pod (the logic is in `meshready_core::caps`).

use std::io::Write;

use anyhow::Result;
use meshready_core::Model;
use meshready_core::admission::psp::Psp;
use meshready_core::caps::{answer, render_text, to_json};
use meshready_core::source::LoadOptions;

use crate::args::{CapsArgs, CapsFormat};
use crate::options::{Anchor, resolve};

pub fn run(args: &CapsArgs) -> Result<u8> {
    // The same options as `check` (flags, then .meshready.yaml, then defaults), so that caps
    // and check judge the injected pod alike.
    let resolved = resolve(&args.rules, None, Anchor::Paths(&args.paths), false)?;
    let inputs = crate::discover::read_inputs(&args.paths)?;
    let options = LoadOptions {
        // RoleBindings and Roles that name no namespace belong to the pods' namespace.
        default_namespace: args
            .rules
            .default_namespace
            .clone()
            .or_else(|| resolved.config.default_namespace.clone())
            .unwrap_or_else(|| args.namespace.clone()),
        ..LoadOptions::default()
    };
    let loaded = meshready_core::source::load(inputs, &options);
    let model = Model::new(&loaded.objects, resolved.check.settings.clone());
    let psps = Psp::all(&loaded.objects);
    let answer = answer(&model, &psps, &args.namespace, &args.service_account);
    let rendered = match args.output {
        CapsFormat::Json => {
            let mut text = serde_json::to_string_pretty(&to_json(&answer))?;
            text.push('\n');
            text
        }
        CapsFormat::Text => render_text(&answer),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(rendered.as_bytes())?;
    stdout.flush()?;
    if !loaded.errors.is_empty() {
        let mut stderr = std::io::stderr().lock();
        for e in &loaded.errors {
            writeln!(
                stderr,
                "meshready: error: {}:{}:{}: {}",
                e.file, e.line, e.column, e.message
            )?;
        }
        return Ok(2);
    }
    Ok(if answer.pod_admitted() { 0 } else { 1 })
}
