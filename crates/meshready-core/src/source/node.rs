//! A compact YAML/JSON tree in which every key and value remembers its line and column.

use std::fmt;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// One node of a parsed document: a value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts.
    pub pos: Pos,
}

/// The value of a [`Node`].
///
/// Scalars are resolved with the YAML 1.2 core schema, as Rust parsers do, but a plain scalar
/// that YAML 1.1 (and therefore kubectl and the API server) reads as a boolean — `yes`, `no`,
/// `on`, `off`, `y`, `n` in their usual capitalisations — is kept as [`Value::Yaml11Bool`] so
/// that both readings stay available.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(Box<str>),
    /// A plain scalar that YAML 1.2 reads as a string but Kubernetes (YAML 1.1) as a boolean.
    Yaml11Bool(Box<str>, bool),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in source order. Duplicate keys are kept out: the last one wins, as in
    /// Kubernetes, and the loader reports the duplicate.
    Map(Vec<Entry>),
}

/// One `key: value` entry of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key, as a string (non-string keys are converted as Kubernetes' JSON conversion does).
    /// Keys repeat across every object, so the loader shares one allocation per distinct key.
    pub key: std::sync::Arc<str>,
    /// Where the key starts.
    pub key_pos: Pos,
    /// The value.
    pub value: Node,
}

/// A null node at an unknown position, returned by lookups that find nothing.
pub static NULL: Node = Node {
    value: Value::Null,
    pos: Pos { line: 0, col: 0 },
};

impl Node {
    /// Creates a node.
    #[must_use]
    pub fn new(value: Value, pos: Pos) -> Self {
        Self { value, pos }
    }

    /// The value under `key` if this is a mapping that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// The entry under `key` if this is a mapping that has it.
    #[must_use]
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| &*e.key == key),
            _ => None,
        }
    }

    /// Follows a chain of mapping keys.
    #[must_use]
    pub fn at(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |node, key| node.get(key))
    }

    /// Follows a JSON pointer (`/spec/workerGroupSpecs/0/template`): mapping keys, and list
    /// indices on lists. `""` is this node.
    #[must_use]
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        pointer.split('/').skip(1).try_fold(self, |node, token| {
            let token = unescape(token);
            match &node.value {
                Value::Map(entries) => entries.iter().find(|e| *e.key == *token).map(|e| &e.value),
                Value::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            }
        })
    }

    /// [`Node::pointer`], mutably.
    pub fn pointer_mut(&mut self, pointer: &str) -> Option<&mut Node> {
        pointer.split('/').skip(1).try_fold(self, |node, token| {
            let token = unescape(token);
            match &mut node.value {
                Value::Map(entries) => entries
                    .iter_mut()
                    .find(|e| *e.key == *token)
                    .map(|e| &mut e.value),
                Value::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get_mut(i)),
                _ => None,
            }
        })
    }

    /// The string value, if this is a string (not a YAML 1.1 boolean, not a number).
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar as Kubernetes would show it after its YAML-to-JSON conversion,
    /// for places where any scalar is acceptable (for example a label value in a selector that
    /// the loader already reported as mistyped).
    #[must_use]
    pub fn scalar_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.to_string()),
            Value::Yaml11Bool(_, b) | Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Null | Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// The boolean value as Kubernetes reads it (YAML 1.1 booleans included).
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Bool(b) | Value::Yaml11Bool(_, b) => Some(*b),
            _ => None,
        }
    }

    /// The integer value.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The items, if this is a sequence; an empty slice otherwise.
    #[must_use]
    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    /// The entries, if this is a mapping; an empty slice otherwise.
    #[must_use]
    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    /// Whether this node is null (or absent, for [`NULL`]).
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Whether this node is a mapping.
    #[must_use]
    pub fn is_map(&self) -> bool {
        matches!(self.value, Value::Map(_))
    }

    /// A short name of the node's type, for messages.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) | Value::Yaml11Bool(..) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }

    /// Resolves a JSON pointer (`/spec/template/spec/containers/0/ports/1`) to the position of
    /// the most specific field: the key for mapping entries, the item for sequence entries.
    /// When the path goes deeper than the document, the position of the deepest existing field
    /// is returned.
    #[must_use]
    pub fn locate(&self, pointer: &str) -> Pos {
        let mut node = self;
        let mut pos = self.pos;
        for token in pointer.split('/').skip(1) {
            let token = unescape(token);
            match &node.value {
                Value::Map(entries) => match entries.iter().find(|e| *e.key == *token) {
                    Some(e) => {
                        pos = e.key_pos;
                        node = &e.value;
                    }
                    None => break,
                },
                Value::Seq(items) => match token.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(item) => {
                        pos = item.pos;
                        node = item;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        pos
    }

    /// Converts the tree to a `serde_json::Value` (YAML 1.1 booleans become booleans, as
    /// Kubernetes reads them).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) | Value::Yaml11Bool(_, b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.to_string()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|e| (e.key.to_string(), e.value.to_json()))
                    .collect(),
            ),
        }
    }

    /// Builds a tree from a `serde_json::Value`, with every position set to `pos` (for objects
    /// that come from an API server or an admission review rather than a file).
    #[must_use]
    pub fn from_json(value: &serde_json::Value, pos: Pos) -> Node {
        use serde_json::Value as J;
        let v = match value {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Value::Str(s.as_str().into()),
            J::Array(items) => Value::Seq(items.iter().map(|i| Node::from_json(i, pos)).collect()),
            J::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| Entry {
                        key: k.as_str().into(),
                        key_pos: pos,
                        value: Node::from_json(v, pos),
                    })
                    .collect(),
            ),
        };
        Node::new(v, pos)
    }
}

/// Undoes JSON-pointer escaping (`~1` is `/`, `~0` is `~`).
fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

/// Escapes a key for use in a JSON pointer.
#[must_use]
pub fn escape(key: &str) -> std::borrow::Cow<'_, str> {
    if key.contains(['~', '/']) {
        key.replace('~', "~0").replace('/', "~1").into()
    } else {
        key.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: u32, col: u32) -> Pos {
        Pos { line, col }
    }

    #[test]
    fn locate_prefers_keys_and_stops_at_the_deepest_existing_field() {
        let leaf = Node::new(Value::Int(1337), p(3, 16));
        let sc = Node::new(
            Value::Map(vec![Entry {
                key: "runAsUser".into(),
                key_pos: p(3, 5),
                value: leaf,
            }]),
            p(3, 5),
        );
        let item = Node::new(
            Value::Map(vec![Entry {
                key: "securityContext".into(),
                key_pos: p(2, 5),
                value: sc,
            }]),
            p(2, 3),
        );
        let root = Node::new(
            Value::Map(vec![Entry {
                key: "containers".into(),
                key_pos: p(1, 1),
                value: Node::new(Value::Seq(vec![item]), p(2, 1)),
            }]),
            p(1, 1),
        );
        assert_eq!(
            root.locate("/containers/0/securityContext/runAsUser"),
            p(3, 5)
        );
        assert_eq!(root.locate("/containers/0"), p(2, 3));
        assert_eq!(
            root.locate("/containers/0/securityContext/runAsGroup"),
            p(2, 5)
        );
        assert_eq!(root.locate("/containers/7"), p(1, 1));
        assert_eq!(root.locate(""), p(1, 1));
    }

    #[test]
    fn pointer_escaping_round_trips() {
        assert_eq!(
            escape("sidecar.istio.io/inject"),
            "sidecar.istio.io~1inject"
        );
        assert_eq!(
            unescape("sidecar.istio.io~1inject"),
            "sidecar.istio.io/inject"
        );
        assert_eq!(unescape(&escape("a~/b")), "a~/b");
    }
}
