//! A content hash of an object that ignores positions, `status` and server-set metadata, so that
//! the same object written twice (in two files, with other comments or key order of flow style
//! kept) hashes the same, and any difference in what is applied does not.

use std::hash::{Hash, Hasher};

use super::node::{Entry, Node, Value};

/// Metadata fields the API server sets; they do not make two definitions different.
const SERVER_METADATA: [&str; 6] = [
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
];

/// The hash of an object's root node.
#[must_use]
pub(crate) fn content(root: &Node) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    match &root.value {
        Value::Map(entries) => {
            let parts = entry_sum(entries.iter().filter(|e| &*e.key != "status"), |e, eh| {
                if &*e.key == "metadata" {
                    metadata(&e.value, eh);
                } else {
                    node(&e.value, eh);
                }
            });
            parts.hash(&mut h);
        }
        _ => node(root, &mut h),
    }
    h.finish()
}

fn metadata(meta: &Node, h: &mut rustc_hash::FxHasher) {
    match &meta.value {
        Value::Map(entries) => {
            let kept = entries
                .iter()
                .filter(|e| !SERVER_METADATA.contains(&&*e.key));
            entry_sum(kept, |e, eh| node(&e.value, eh)).hash(h);
        }
        _ => node(meta, h),
    }
}

/// Mapping order does not change what is applied: each entry (its key and `value`'s hash of
/// it) is hashed alone and the entries combine by addition.
fn entry_sum<'a>(
    entries: impl Iterator<Item = &'a Entry>,
    value: impl Fn(&Entry, &mut rustc_hash::FxHasher),
) -> u64 {
    entries
        .map(|e| {
            let mut eh = rustc_hash::FxHasher::default();
            e.key.hash(&mut eh);
            value(e, &mut eh);
            eh.finish()
        })
        .fold(0u64, u64::wrapping_add)
}

fn node(n: &Node, h: &mut rustc_hash::FxHasher) {
    match &n.value {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Int(i) => (2u8, i).hash(h),
        Value::Float(f) => (3u8, f.to_bits()).hash(h),
        Value::Str(s) => (4u8, s).hash(h),
        Value::Yaml11Bool(s, _) => (5u8, s).hash(h),
        Value::Seq(items) => {
            (6u8, items.len()).hash(h);
            for item in items {
                node(item, h);
            }
        }
        Value::Map(entries) => {
            let parts = entry_sum(entries.iter(), |e, eh| node(&e.value, eh));
            (7u8, entries.len(), parts).hash(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::source::{LoadOptions, load_str};

    fn digests(text: &str) -> Vec<u64> {
        load_str("x.yaml", text, &LoadOptions::default())
            .objects
            .iter()
            .map(|o| o.digest)
            .collect()
    }

    #[test]
    fn positions_order_and_status_do_not_count_but_values_do() {
        let d = digests(
            "kind: Service\napiVersion: v1\nmetadata: {name: a, uid: x}\nspec: {ports: [{port: 80}]}\n---\n\n# moved\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\nspec:\n  ports:\n  - port: 80\nstatus: {loadBalancer: {}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 81}]}\n",
        );
        assert_eq!(d[0], d[1]);
        assert_ne!(d[0], d[2]);
    }
}
