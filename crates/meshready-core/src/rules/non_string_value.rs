//! MR0020: a name, label, annotation or selector value that Kubernetes does not read as a string.

use crate::finding::Finding;
use crate::rule::{Ctx, Rule, RuleMeta, declare_rule};
use crate::source::kinds::is_known_object;
use crate::source::node::escape;
use crate::source::{LineIndex, Node, Object, Value};

declare_rule! {
    /// ## What it checks
    /// Names, namespaces, label values, annotation values and Service selector values (on the
    /// object and on its pod template) that are not strings as Kubernetes reads YAML: unquoted
    /// `yes`, `no`, `on`, `off`, `y`, `n` (YAML 1.1 booleans), `true`/`false`, numbers such as
    /// `1.10`, and null. Objects read from the API server (`meshready cluster`, the webhook's
    /// reviews) are not checked: the API server stored them with string values.
    ///
    /// ## Why it matters in the mesh
    /// kubectl and the API server read YAML with YAML 1.1 rules, so `sidecar.istio.io/inject: yes`
    /// is the boolean `true`, and the object is rejected (`cannot unmarshal bool into Go struct
    /// field ... of type string`). YAML 1.2 tools, including most Rust and Python linters, read it
    /// as the string "yes" and pass it. `version: 1.10` silently becomes `1.1` where it is accepted
    /// at all.
    ///
    /// ## Example
    /// ```yaml
    /// metadata:
    ///   labels:
    ///     sidecar.istio.io/inject: yes
    /// ```
    ///
    /// ## Fix
    /// Quote the value: `sidecar.istio.io/inject: "true"`.
    ///
    /// ## References
    /// - https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#syntax-and-character-set
    /// - https://yaml.org/type/bool.html
    pub struct NonStringValue {
        code: "MR0020",
        name: "non-string-value",
        severity: Error,
        summary: "a name, label, annotation or selector value is not a string as Kubernetes reads YAML",
        istio_versions: "all (a Kubernetes API rule)",
    }
}

impl Rule for NonStringValue {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &Ctx<'_, '_>, out: &mut Vec<Finding>) {
        // Each file's lines, indexed when a value of it is first quoted.
        let mut lines: Vec<Option<LineIndex<'_>>> = vec![None; cx.files.len()];
        for object in cx.model.objects {
            // The API server decoded it into the API's types: nothing to find.
            if !is_known_object(object) || object.decoded_by_api_server() {
                continue;
            }
            let mut places: Vec<(String, &Node, String)> = Vec::new();
            collect_metadata(&object.root, "", &mut places);
            for template in object.templates.as_deref().unwrap_or_default() {
                if !template.is_empty()
                    && let Some(meta) = object.root.pointer(&format!("{template}/metadata"))
                {
                    collect_metadata(meta, template, &mut places);
                }
            }
            if object.kind == "Service"
                && let Some(selector) = object.root.at(&["spec", "selector"])
            {
                for e in selector
                    .entries()
                    .iter()
                    .filter(|e| !matches!(e.value.value, Value::Str(_)))
                {
                    places.push((
                        format!("/spec/selector/{}", escape(&e.key)),
                        &e.value,
                        format!("selector `{}`", e.key),
                    ));
                }
            }
            for (pointer, node, what) in places {
                if matches!(node.value, Value::Str(_)) {
                    continue;
                }
                let raw = raw_text(cx, &mut lines, object, node);
                let key = pointer
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
                    .replace("~1", "/")
                    .replace("~0", "~");
                let (problem, mut fix) = describe(node, &raw);
                // Istio's webhook selectors match the exact strings "true" and "false".
                if let (Value::Yaml11Bool(_, b), "sidecar.istio.io/inject") =
                    (&node.value, key.as_str())
                {
                    fix = b.to_string();
                }
                let mut finding = cx.finding(
                    &Self::META,
                    object,
                    &pointer,
                    format!(
                        "{what} is {problem}; Kubernetes rejects it where a string is required"
                    ),
                    format!("Quote the value: `{key}: \"{fix}\"`."),
                );
                // Point at the value itself, not the key.
                if let Some(location) = finding.location.as_mut()
                    && node.pos.line > 0
                {
                    location.line = node.pos.line;
                    location.column = node.pos.col;
                }
                out.push(finding);
            }
        }
    }
}

/// `name`, `namespace`, labels and annotations of a metadata node under `prefix`.
fn collect_metadata<'a>(
    root: &'a Node,
    prefix: &str,
    places: &mut Vec<(String, &'a Node, String)>,
) {
    let (meta, meta_pointer) = if prefix.is_empty() {
        (
            root.get("metadata"),
            std::borrow::Cow::Borrowed("/metadata"),
        )
    } else {
        (
            Some(root),
            std::borrow::Cow::Owned(format!("{prefix}/metadata")),
        )
    };
    let Some(meta) = meta else { return };
    for field in ["name", "namespace", "generateName"] {
        if let Some(node) = meta
            .get(field)
            .filter(|n| !matches!(n.value, Value::Str(_)))
        {
            places.push((
                format!("{meta_pointer}/{field}"),
                node,
                format!("`metadata.{field}`"),
            ));
        }
    }
    for (field, what) in [("labels", "label"), ("annotations", "annotation")] {
        let entries = meta.get(field).map(Node::entries).unwrap_or_default();
        // Almost every value is a string: build pointers only for the others.
        for e in entries
            .iter()
            .filter(|e| !matches!(e.value.value, Value::Str(_)))
        {
            places.push((
                format!("{meta_pointer}/{field}/{}", escape(&e.key)),
                &e.value,
                format!("{what} `{}`", e.key),
            ));
        }
    }
}

fn raw_text<'f>(
    cx: &Ctx<'f, '_>,
    lines: &mut [Option<LineIndex<'f>>],
    object: &Object,
    node: &Node,
) -> String {
    let file = object.origin.file;
    let line = match (cx.files.get(file), lines.get_mut(file)) {
        (Some(f), Some(index)) => index
            .get_or_insert_with(|| LineIndex::new(&f.text))
            .line(node.pos.line)
            .unwrap_or(""),
        _ => "",
    };
    let start = usize::try_from(node.pos.col.saturating_sub(1)).unwrap_or(0);
    // A plain scalar ends at a flow indicator or a comment (JSON puts more on the same line).
    let rest: String = line
        .chars()
        .skip(start)
        .take_while(|c| !matches!(c, ',' | '}' | ']' | '#'))
        .collect();
    rest.trim().to_string()
}

fn describe(node: &Node, raw: &str) -> (String, String) {
    let shown = if raw.is_empty() {
        node.scalar_text().unwrap_or_default()
    } else {
        raw.to_string()
    };
    match &node.value {
        Value::Yaml11Bool(text, b) => (
            format!("`{text}`, a YAML 1.1 boolean ({b}) for kubectl"),
            text.to_string(),
        ),
        Value::Bool(b) => (
            format!("the boolean `{shown}`"),
            if shown.is_empty() {
                b.to_string()
            } else {
                shown
            },
        ),
        Value::Int(_) | Value::Float(_) => (format!("the number `{shown}`"), shown),
        Value::Null => ("null".into(), String::new()),
        Value::Seq(_) | Value::Map(_) | Value::Str(_) => {
            (format!("a {}", node.type_name()), String::new())
        }
    }
}
