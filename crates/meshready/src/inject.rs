//! `meshready inject`: prints the input with Istio's sidecar injection applied to every workload it would inject (the model every rule judges).

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use meshready_core::Model;
use meshready_core::admission::inject::inject_objects;
use meshready_core::source::{LoadOptions, Object};
use serde_json::Value;

use crate::options::{Anchor, resolve};

/// Output formats of `meshready inject`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InjectFormat {
    /// Multi-document YAML.
    Yaml,
    /// One JSON document per input document.
    Json,
}

#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Files or directories (searched recursively for .yaml, .yml and .json); `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = InjectFormat::Yaml)]
    pub output: InjectFormat,
    #[command(flatten)]
    pub rules: crate::args::RuleArgs,
}

pub fn run(args: &InjectArgs) -> Result<u8> {
    // The same options as `check`, resolved in one place.
    let resolved = resolve(&args.rules, None, Anchor::Paths(&args.paths), false)?;
    let inputs = crate::discover::read_inputs(&args.paths)?;
    // No prune policy: the output keeps every field of the input.
    let options = LoadOptions {
        default_namespace: resolved.default_namespace.clone(),
        ..LoadOptions::default()
    };
    let loaded = meshready_core::source::load(inputs, &options);
    let model = Model::new(&loaded.objects, resolved.check.settings.clone());
    let out = inject_objects(&model);
    let documents = documents(&loaded.objects, out.objects);
    let mut text = String::new();
    for doc in &documents {
        match args.output {
            InjectFormat::Yaml => {
                text.push_str("---\n");
                yaml(&mut text, doc, 0);
            }
            InjectFormat::Json => {
                text.push_str(&serde_json::to_string_pretty(doc)?);
                text.push('\n');
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    let mut stderr = std::io::stderr().lock();
    for (i, invalid) in &out.refused {
        let object = &loaded.objects[*i];
        for v in invalid {
            writeln!(
                stderr,
                "meshready: warning: {}: the injector refuses {} {:?} ({}); printed unchanged",
                object.display_name(),
                v.annotation,
                v.value,
                v.reason
            )?;
        }
    }
    for e in &loaded.errors {
        writeln!(
            stderr,
            "meshready: error: {}:{}:{}: {}",
            e.file, e.line, e.column, e.message
        )?;
    }
    writeln!(
        stderr,
        "injected {} of {} workloads (Istio 1.{}: {}; native sidecars {}: {}; {}; Istio CNI {})",
        out.injected.len(),
        model.workloads.len(),
        model.inject.istio_version,
        model.inject.istio_version_source,
        if model.inject.native_sidecars {
            "on"
        } else {
            "off"
        },
        model.inject.native_sidecars_source,
        if model.inject.openshift {
            "OpenShift"
        } else {
            "Kubernetes"
        },
        if model.inject.cni { "on" } else { "off" },
    )?;
    Ok(if !loaded.errors.is_empty() {
        2
    } else if out.refused.is_empty() {
        0
    } else {
        1
    })
}

/// Regroups objects into the input's documents: `List` items back into their `List`.
fn documents(objects: &[Object], values: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut last_list: Option<(usize, usize)> = None;
    for (object, value) in objects.iter().zip(values) {
        let key = (object.origin.file, object.origin.document);
        if object.origin.item.is_some() {
            if last_list == Some(key)
                && let Some(items) = out
                    .last_mut()
                    .and_then(|l| l.get_mut("items"))
                    .and_then(Value::as_array_mut)
            {
                items.push(value);
                continue;
            }
            out.push(serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [value]}));
            last_list = Some(key);
        } else {
            last_list = None;
            out.push(value);
        }
    }
    out
}

/// Writes `value` as block YAML at `indent` (a mapping's or sequence's entries start at the
/// current line).
fn yaml(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str(&scalar_string(k));
                out.push(':');
                child(out, v, indent);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&" ".repeat(indent));
                }
                out.push_str("- ");
                match v {
                    Value::Object(m) if !m.is_empty() => yaml(out, v, indent + 2),
                    Value::Array(a) if !a.is_empty() => yaml(out, v, indent + 2),
                    _ => {
                        out.push_str(&inline(v));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

/// A mapping value: inline scalars and empty collections, else a nested block.
fn child(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            yaml(out, v, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            yaml(out, v, indent);
        }
        _ => {
            out.push(' ');
            out.push_str(&inline(v));
            out.push('\n');
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar_string(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// A string as a YAML scalar: plain when no YAML reader (1.1 or 1.2) could read it as
/// anything else, else double-quoted with JSON escapes.
fn scalar_string(s: &str) -> String {
    let reserved = matches!(
        s.to_ascii_lowercase().as_str(),
        "" | "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    );
    let numeric = s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.'));
    let plain = !reserved
        && !numeric
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        && !s.starts_with(['-', '.', '/']);
    if plain {
        s.to_string()
    } else {
        let mut q = String::new();
        let _ = write!(q, "{}", Value::String(s.to_string()));
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_round_trips_through_the_loader() {
        let value = json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", "annotations": {"a": "on", "b": "1.20", "c": "x: y", "d": ""}},
            "spec": {"containers": [{"name": "app", "args": ["-p", "15001"], "securityContext": {}}, {"name": "b", "ports": []}],
                     "nested": [[1, 2], {"k": null}], "flag": true}
        });
        let mut text = String::from("---\n");
        yaml(&mut text, &value, 0);
        let loaded = meshready_core::source::load_str("x.yaml", &text, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{text}\n{:?}", loaded.errors);
        assert_eq!(loaded.objects[0].root.to_json(), value, "{text}");
    }
}
