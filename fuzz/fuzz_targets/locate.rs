//! Arbitrary text through the positioned YAML parser, then `Node::locate` with every path in the
//! tree and with pointers made from the input: positions are never before the root and never
//! past the end of the text, and every path in the tree locates its own node.

#![no_main]

use libfuzzer_sys::fuzz_target;
use meshready_core::source::node::escape;
use meshready_core::source::yaml::{Limits, parse_document};
use meshready_core::source::{Node, Pos, Value};

/// A key used to go deeper than the tree.
const MISSING: &str = "no-such-field";

/// Every JSON pointer in the tree with the position `locate` must give for it, and whether
/// `/no-such-field` under it is missing from the tree.
fn walk(node: &Node, pointer: &mut String, out: &mut Vec<(String, Pos, bool)>) {
    let len = pointer.len();
    match &node.value {
        Value::Map(entries) => {
            for (i, e) in entries.iter().enumerate() {
                // `locate` finds the first entry with a key; a later duplicate is not reachable.
                if entries[..i].iter().any(|p| p.key == e.key) {
                    continue;
                }
                pointer.push('/');
                pointer.push_str(&escape(&e.key));
                out.push((pointer.clone(), e.key_pos, e.value.get(MISSING).is_none()));
                walk(&e.value, pointer, out);
                pointer.truncate(len);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                pointer.push('/');
                pointer.push_str(&i.to_string());
                out.push((pointer.clone(), item.pos, item.get(MISSING).is_none()));
                walk(item, pointer, out);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    // YAML line breaks: `\r\n`, `\n`, and a lone `\r`.
    let lines = u32::try_from(1 + text.replace("\r\n", "\n").matches(['\n', '\r']).count())
        .unwrap_or(u32::MAX);
    for limits in [
        Limits::default(),
        Limits {
            // The parser's skipping of unread fields (the rules' own field lists).
            skip_unread_fields: Some(meshready_core::source::yaml::SkipFields {
                pod: meshready_core::rules::PRUNE.unread_pod_fields,
                container: meshready_core::rules::PRUNE.unread_container_fields,
            }),
            ..Limits::default()
        },
    ] {
        let Ok(parsed) = parse_document(text, 1, limits) else {
            continue;
        };
        let Some(root) = parsed.root else { continue };
        let in_text = |pointer: &str, pos: Pos| {
            assert!(
                pos >= root.pos,
                "{pointer:?} at {pos} is before the root at {}",
                root.pos
            );
            assert!(pos.line >= 1 && pos.col >= 1, "{pointer:?} at {pos}");
            assert!(
                pos.line <= lines,
                "{pointer:?} at {pos} is past the last line {lines}"
            );
        };
        assert_eq!(root.locate(""), root.pos);
        in_text("", root.pos);
        let mut paths = Vec::new();
        walk(&root, &mut String::new(), &mut paths);
        for (pointer, pos, missing) in &paths {
            // Positions of copies made by aliases are those of the anchored node, which is in
            // the text too.
            in_text(pointer, *pos);
            assert_eq!(root.locate(pointer), *pos, "locate({pointer:?})");
            // Deeper than the tree: the deepest existing field.
            if *missing {
                assert_eq!(root.locate(&format!("{pointer}/{MISSING}/0")), *pos);
            }
        }
        // Pointers from the input itself: every line, and the whole text.
        for line in text.lines().take(64) {
            let pointer = format!("/{}", line.trim());
            in_text(&pointer, root.locate(&pointer));
            let pointer = line.trim().replace(": ", "/").replace(['-', ' '], "");
            in_text(&pointer, root.locate(&format!("/{pointer}")));
        }
        in_text(text, root.locate(text));
        for quirk in &parsed.quirks {
            let pos = quirk.pos();
            assert!(pos.line >= 1, "{quirk:?}");
            assert!(pos.line <= lines, "{quirk:?}");
        }
    }
});
