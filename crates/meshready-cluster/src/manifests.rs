//! `--as-manifests`: everything that was read, as one multi-document YAML stream. Each document
//! is an object in JSON (a subset of YAML, so every string stays quoted and no YAML 1.1 scalar
//! can change meaning), so `meshready check --live FILE` reads back exactly what was analysed.

use std::io::{self, Write};

use meshready_core::source::Object;
use serde_json::Value;

/// Writes `objects` (as analysed: reduced to what the rules read; an object that stands for
/// copies once per name) as `---`-separated documents after a comment header.
///
/// # Errors
/// When writing fails.
pub fn write(out: &mut dyn Write, objects: &[Object], header: &str) -> io::Result<()> {
    for line in header.lines() {
        writeln!(out, "# {line}")?;
    }
    for object in objects {
        let mut value = object.root.to_json();
        if let Value::Object(map) = &mut value {
            // Owned pods keep their kind, apiVersion, name and namespace only as the object's
            // fields.
            map.entry("apiVersion")
                .or_insert_with(|| Value::String(object.api_version.clone()));
            map.entry("kind")
                .or_insert_with(|| Value::String(object.kind.clone()));
            if let Value::Object(meta) = map
                .entry("metadata")
                .or_insert_with(|| Value::Object(serde_json::Map::new()))
            {
                meta.entry("name")
                    .or_insert_with(|| Value::String(object.name.clone()));
                if !object.namespace.is_empty() {
                    meta.entry("namespace")
                        .or_insert_with(|| Value::String(object.namespace.clone()));
                }
            }
        }
        writeln!(out, "---")?;
        serde_json::to_writer_pretty(&mut *out, &value)?;
        writeln!(out)?;
        // The objects it stands for, each under its own name.
        for name in &object.copies {
            if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("name".into(), Value::String(name.clone()));
            }
            writeln!(out, "---")?;
            serde_json::to_writer_pretty(&mut *out, &value)?;
            writeln!(out)?;
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use meshready_core::source::{LoadOptions, load_str, object_from_json};
    use serde_json::json;

    use super::*;

    #[test]
    fn documents_load_back_unchanged() {
        let objects = vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "on", "labels": {"istio-injection": "enabled"}}}),
            // The injector ConfigMap: the loader keeps its data (other ConfigMaps' data no rule reads).
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio-sidecar-injector", "namespace": "off"}, "data": {"values": "{\"a\": \"b\\nc\"}", "yes": "no"}}),
        ];
        let parsed: Vec<Object> = objects
            .iter()
            .map(|o| object_from_json(o, &LoadOptions::default()).unwrap())
            .collect();
        let mut out = Vec::new();
        write(&mut out, &parsed, "meshready cluster\nsecond line").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("# meshready cluster\n# second line\n---\n"));
        let loaded = load_str("dump.yaml", &text, &LoadOptions::default());
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
        assert_eq!(loaded.objects.len(), 2);
        for (object, value) in loaded.objects.iter().zip(&objects) {
            assert_eq!(&object.root.to_json(), value);
        }
        assert_eq!(loaded.objects[0].name, "on");
        assert_eq!(loaded.objects[1].namespace, "off");
    }
}
