//! Parses one YAML (or JSON) document into a [`Node`] tree with positions, within resource limits.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::node::{Entry, Node, Pos, Value};

/// Resource limits for one document.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Maximum nesting depth of mappings and sequences.
    pub max_depth: usize,
    /// Maximum number of nodes that aliases may copy into one document.
    pub max_alias_nodes: usize,
    /// Maximum size of one document in bytes.
    pub max_document_bytes: usize,
    /// Fields to skip while parsing, so they are never allocated (`None`: keep everything).
    /// The loader sets this from its [`super::Prune`] policy; the result is the same as pruning
    /// afterwards.
    pub skip_unread_fields: Option<SkipFields>,
}

/// Field names skipped while parsing: pod spec fields (under a `spec`) and container fields
/// (items of `containers`, `initContainers`, `ephemeralContainers`), plus
/// `metadata.managedFields`.
#[derive(Debug, Clone, Copy)]
pub struct SkipFields {
    /// Pod spec fields.
    pub pod: &'static [&'static str],
    /// Container fields.
    pub container: &'static [&'static str],
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 100,
            max_alias_nodes: 100_000,
            max_document_bytes: 64 << 20,
            skip_unread_fields: None,
        }
    }
}

/// Why a document could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Where, relative to the start of the text given to [`parse_document`].
    pub pos: Pos,
    /// What went wrong (a lowercase fragment).
    pub message: String,
}

/// Something the loader noticed that Kubernetes treats differently from a YAML 1.2 reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quirk {
    /// A key that appears twice in one mapping (the last value is kept, as Kubernetes does).
    DuplicateKey {
        /// The key.
        key: String,
        /// Where the earlier occurrence is.
        first: Pos,
        /// Where the later (kept) occurrence is.
        pos: Pos,
    },
    /// A line that YAML 1.2 parsers reject for its indentation but libyaml-based readers
    /// (kubectl, the API server) accept; it was read as if indented further.
    LenientIndentation {
        /// Where the parser stopped.
        pos: Pos,
        /// The parser's complaint.
        message: String,
    },
}

impl Quirk {
    /// Where the quirk is.
    #[must_use]
    pub fn pos(&self) -> Pos {
        match self {
            Self::DuplicateKey { pos, .. } | Self::LenientIndentation { pos, .. } => *pos,
        }
    }
}

/// Like [`parse_document`], but when the parser rejects a line for its indentation (a flow
/// collection's closing bracket or a quoted scalar's continuation line at or left of the block
/// indentation, which libyaml and so kubectl accept), retries with that line indented further.
/// Neither change alters the value: flow and quoted-scalar continuation lines are whitespace-
/// insensitive. Each such line is recorded as a [`Quirk::LenientIndentation`].
///
/// # Errors
/// The first error when the document cannot be read even so.
pub fn parse_document_lenient(
    text: &str,
    line_offset: u32,
    limits: Limits,
) -> Result<Parsed, ParseError> {
    let first = match parse_document(text, line_offset, limits) {
        Ok(parsed) => return Ok(parsed),
        Err(e) => e,
    };
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let mut quirks = Vec::new();
    let mut error = first.clone();
    for _ in 0..32 {
        if !error.message.contains("invalid indentation") {
            return Err(first);
        }
        let Some(index) = (error.pos.line + 1)
            .checked_sub(line_offset)
            .and_then(|l| l.checked_sub(1))
        else {
            return Err(first);
        };
        let index = index as usize;
        if index == 0 || index >= lines.len() {
            return Err(first);
        }
        let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
        // A quoted scalar is reported where it starts; the culprit is its first continuation
        // line indented no deeper than the line the scalar starts on.
        let index = if error.message.contains("quoted scalar") {
            let base = indent(&lines[index]);
            match lines
                .iter()
                .enumerate()
                .skip(index + 1)
                .find(|(_, l)| !l.trim().is_empty() && indent(l) <= base)
            {
                Some((i, _)) => i,
                None => return Err(first),
            }
        } else {
            index
        };
        let previous = lines[..index]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map_or(0, |l| indent(l));
        let add = (previous + 2).saturating_sub(indent(&lines[index])).max(1);
        let line = u32::try_from(index)
            .unwrap_or(u32::MAX)
            .saturating_add(line_offset);
        let col = u32::try_from(indent(&lines[index]) + 1).unwrap_or(1);
        lines[index].insert_str(0, &" ".repeat(add));
        quirks.push(Quirk::LenientIndentation {
            pos: Pos { line, col },
            message: error.message.clone(),
        });
        match parse_document(&lines.concat(), line_offset, limits) {
            Ok(mut parsed) => {
                parsed.quirks.extend(quirks);
                return Ok(parsed);
            }
            Err(e) => error = e,
        }
    }
    Err(first)
}

/// The result of parsing one document.
#[derive(Debug)]
pub struct Parsed {
    /// The root node, or `None` for an empty document.
    pub root: Option<Node>,
    /// Quirks found while parsing.
    pub quirks: Vec<Quirk>,
}

/// Parses `text`, which must hold at most one document, shifting every line by `line_offset`.
///
/// # Errors
/// Returns a [`ParseError`] for invalid YAML, more than one document, unsupported constructs
/// (complex keys) or exceeded [`Limits`].
pub fn parse_document(text: &str, line_offset: u32, limits: Limits) -> Result<Parsed, ParseError> {
    match parse_once(text, line_offset, limits) {
        Err(e) if e.message == SKIPPED_ANCHOR => parse_once(
            text,
            line_offset,
            Limits {
                skip_unread_fields: None,
                ..limits
            },
        ),
        result => result,
    }
}

fn parse_once(text: &str, line_offset: u32, limits: Limits) -> Result<Parsed, ParseError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        root: None,
        docs: 0,
        quirks: Vec::new(),
        line_offset,
        limits,
        skip_depth: 0,
        skipped_anchor: false,
        max_line: line_offset
            .saturating_add(u32::try_from(line_count(text).max(1) - 1).unwrap_or(u32::MAX)),
        items: Vec::new(),
        entries: Vec::new(),
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = item.map_err(|e| ParseError {
            pos: Pos {
                line: shift(e.marker().line(), line_offset),
                col: u32::try_from(e.marker().col() + 1).unwrap_or(u32::MAX),
            },
            message: e.info().to_string(),
        })?;
        builder.event(event, span)?;
    }
    Ok(Parsed {
        root: builder.root,
        quirks: builder.quirks,
    })
}

/// `text.lines().count()`, counted with SIMD (`str::lines` walks the text character by
/// character, a visible share of the load time).
fn line_count(text: &str) -> usize {
    let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
    newlines + usize::from(!text.is_empty() && !text.ends_with('\n'))
}

fn shift(line: usize, offset: u32) -> u32 {
    u32::try_from(line)
        .unwrap_or(u32::MAX)
        .saturating_add(offset)
        .saturating_sub(1)
        .max(1)
}

/// An open collection. Its children live on the builder's scratch stacks from `start` on, so
/// that each finished collection is allocated once, at its exact size.
enum Frame {
    Seq {
        start: usize,
        pos: Pos,
        anchor: usize,
    },
    Map {
        start: usize,
        key: Option<(std::sync::Arc<str>, Pos)>,
        merges: Vec<Node>,
        pos: Pos,
        anchor: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    alias_nodes: usize,
    root: Option<Node>,
    docs: usize,
    quirks: Vec<Quirk>,
    line_offset: u32,
    limits: Limits,
    /// Depth inside a subtree being skipped (0: not skipping).
    skip_depth: usize,
    /// Whether a skipped subtree defined an anchor (an alias to it forces a full re-parse).
    skipped_anchor: bool,
    /// The document's last line: the parser's end-of-stream marker may lie past it.
    max_line: u32,
    /// Items of the open sequences.
    items: Vec<Node>,
    /// Entries of the open mappings.
    entries: Vec<Entry>,
}

/// The message of the internal error that makes [`parse_document`] retry without skipping.
const SKIPPED_ANCHOR: &str = "alias to an anchor inside a skipped field";

impl Builder {
    fn pos(&self, span: Span) -> Pos {
        let line = shift(span.start.line(), self.line_offset);
        if line > self.max_line {
            // An empty node at the very end (`?` then a final comment): keep it in the text
            // (found by the `locate` fuzz target).
            return Pos {
                line: self.max_line,
                col: 1,
            };
        }
        Pos {
            line,
            col: u32::try_from(span.start.col() + 1).unwrap_or(u32::MAX),
        }
    }

    /// Whether the value about to start belongs to a field that no rule reads.
    fn value_is_unread(&self, skip: SkipFields) -> bool {
        let n = self.stack.len();
        let key_at = |i: usize| match self.stack.get(i) {
            Some(Frame::Map {
                key: Some((k, _)), ..
            }) => Some(&**k),
            _ => None,
        };
        let Some(key) = n.checked_sub(1).and_then(key_at) else {
            return false;
        };
        (skip.container.contains(&key)
            && n >= 3
            && matches!(self.stack[n - 2], Frame::Seq { .. })
            && matches!(
                key_at(n - 3),
                Some("containers" | "initContainers" | "ephemeralContainers")
            ))
            || (skip.pod.contains(&key) && n >= 2 && key_at(n - 2) == Some("spec"))
            || (key == "managedFields" && n >= 2 && key_at(n - 2) == Some("metadata"))
    }

    /// Forgets the pending key whose value was skipped.
    fn drop_pending_key(&mut self) {
        if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
            *key = None;
        }
    }

    /// Consumes events of skipped fields; returns whether the event was consumed.
    fn skip(&mut self, event: &Event<'_>) -> bool {
        let anchor = match event {
            Event::SequenceStart(a, _) | Event::MappingStart(a, _) | Event::Scalar(_, _, a, _) => {
                *a
            }
            _ => 0,
        };
        if self.skip_depth > 0 {
            self.skipped_anchor |= anchor != 0;
            match event {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skip_depth += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    self.skip_depth -= 1;
                    if self.skip_depth == 0 {
                        self.drop_pending_key();
                    }
                }
                _ => {}
            }
            return true;
        }
        if !self
            .limits
            .skip_unread_fields
            .is_some_and(|skip| self.value_is_unread(skip))
        {
            return false;
        }
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.skipped_anchor |= anchor != 0;
                self.skip_depth = 1;
                true
            }
            Event::Scalar(..) | Event::Alias(_) => {
                self.skipped_anchor |= anchor != 0;
                self.drop_pending_key();
                true
            }
            _ => false,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        if self.skip(&event) {
            return Ok(());
        }
        let pos = self.pos(span);
        match event {
            Event::DocumentStart(_) => {
                self.docs += 1;
                if self.docs > 1 {
                    return Err(ParseError {
                        pos,
                        message: "more than one document where one was expected".into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                // Fast path for the most common event: a plain word or a quoted string as a key.
                if anchor == 0
                    && tag.is_none()
                    && is_string_key(&text, style)
                    && let Some(Frame::Map {
                        key: key @ None, ..
                    }) = self.stack.last_mut()
                {
                    *key = Some((intern(&text), pos));
                    return Ok(());
                }
                let node = Node::new(resolve(&text, style, tag.as_deref()), pos);
                self.complete(node, anchor)?;
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(pos)?;
                self.stack.push(Frame::Seq {
                    start: self.items.len(),
                    pos,
                    anchor,
                });
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(pos)?;
                self.stack.push(Frame::Map {
                    start: self.entries.len(),
                    key: None,
                    merges: Vec::new(),
                    pos,
                    anchor,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { start, pos, anchor }) = self.stack.pop() {
                    let items: Vec<Node> = self.items.drain(start..).collect();
                    self.complete(Node::new(Value::Seq(items), pos), anchor)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    start,
                    merges,
                    pos,
                    anchor,
                    ..
                }) = self.stack.pop()
                {
                    let mut entries: Vec<Entry> = self.entries.drain(start..).collect();
                    if !merges.is_empty() {
                        apply_merges(&mut entries, merges);
                    }
                    self.complete(Node::new(Value::Map(entries), pos), anchor)?;
                }
            }
            Event::Alias(id) => {
                if !self.anchors.contains_key(&id) && self.skipped_anchor {
                    return Err(ParseError {
                        pos,
                        message: SKIPPED_ANCHOR.into(),
                    });
                }
                let Some((node, size)) = self.anchors.get(&id) else {
                    return Err(ParseError {
                        pos,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                self.alias_nodes += size;
                if self.alias_nodes > self.limits.max_alias_nodes {
                    return Err(ParseError {
                        pos,
                        message: format!(
                            "aliases expand to more than {} nodes (limit --max-alias-nodes; a \"billion laughs\" document?)",
                            self.limits.max_alias_nodes
                        ),
                    });
                }
                let mut node = node.clone();
                node.pos = pos;
                self.complete(node, 0)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn check_depth(&self, pos: Pos) -> Result<(), ParseError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(ParseError {
                pos,
                message: format!("nesting deeper than {} levels", self.limits.max_depth),
            });
        }
        Ok(())
    }

    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            let size = count_nodes(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { .. }) => self.items.push(node),
            Some(Frame::Map {
                start, key, merges, ..
            }) => match key.take() {
                None => {
                    let Some(text) = key_text(&node) else {
                        return Err(ParseError {
                            pos: node.pos,
                            message: format!("a {} cannot be a mapping key", node.type_name()),
                        });
                    };
                    *key = Some((intern(&text), node.pos));
                }
                Some((k, _)) if &*k == "<<" && is_plain_merge(&node) => merges.push(node),
                Some((k, key_pos)) => {
                    if let Some(existing) = find_entry(&mut self.entries[*start..], &k) {
                        self.quirks.push(Quirk::DuplicateKey {
                            key: k.to_string(),
                            first: existing.key_pos,
                            pos: key_pos,
                        });
                        existing.key_pos = key_pos;
                        existing.value = node;
                    } else {
                        self.entries.push(Entry {
                            key: k,
                            key_pos,
                            value: node,
                        });
                    }
                }
            },
        }
        Ok(())
    }
}

/// Shares one allocation per distinct mapping key within a thread (keys repeat in every object).
/// The table is bounded so that inputs with endless distinct keys cannot grow it without limit.
fn intern(key: &str) -> std::sync::Arc<str> {
    use std::cell::RefCell;
    use std::sync::Arc;
    thread_local! {
        // Fx hashing: the keys are short and not attacker-controlled in a way that matters
        // (the table is bounded), and SipHash was a visible share of the load time.
        static KEYS: RefCell<rustc_hash::FxHashSet<Arc<str>>> = RefCell::new(rustc_hash::FxHashSet::default());
    }
    KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        if let Some(k) = keys.get(key) {
            return Arc::clone(k);
        }
        let k: Arc<str> = Arc::from(key);
        if keys.len() < 65_536 {
            keys.insert(Arc::clone(&k));
        }
        k
    })
}

/// Whether a key scalar is certainly a string whose text is the key (no resolution needed).
fn is_string_key(text: &str, style: ScalarStyle) -> bool {
    if style != ScalarStyle::Plain {
        return true;
    }
    let Some(first) = text.as_bytes().first() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && !matches!(
            text,
            "null"
                | "Null"
                | "NULL"
                | "true"
                | "True"
                | "TRUE"
                | "false"
                | "False"
                | "FALSE"
                | "y"
                | "Y"
                | "yes"
                | "Yes"
                | "YES"
                | "n"
                | "N"
                | "no"
                | "No"
                | "NO"
                | "on"
                | "On"
                | "ON"
                | "off"
                | "Off"
                | "OFF"
        )
}

fn find_entry<'a>(entries: &'a mut [Entry], key: &str) -> Option<&'a mut Entry> {
    entries.iter_mut().find(|e| &*e.key == key)
}

/// `<<: *base` or `<<: [*a, *b]` (YAML 1.1 merge keys, which Kubernetes' YAML reader honours).
fn is_plain_merge(node: &Node) -> bool {
    match &node.value {
        Value::Map(_) => true,
        Value::Seq(items) => items.iter().all(Node::is_map),
        _ => false,
    }
}

fn apply_merges(entries: &mut Vec<Entry>, merges: Vec<Node>) {
    for merge in merges {
        let sources = match merge.value {
            Value::Map(_) => vec![merge],
            Value::Seq(items) => items,
            _ => continue,
        };
        for source in sources {
            if let Value::Map(source_entries) = source.value {
                for e in source_entries {
                    if !entries.iter().any(|x| x.key == e.key) {
                        entries.push(e);
                    }
                }
            }
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count_nodes).sum(),
        Value::Map(entries) => entries.iter().map(|e| 1 + count_nodes(&e.value)).sum(),
        _ => 0,
    }
}

/// Mapping keys as Kubernetes' YAML-to-JSON conversion writes them.
fn key_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Null => Some("null".into()),
        Value::Yaml11Bool(s, _) => Some(s.to_string()),
        _ => node.scalar_text(),
    }
}

/// Resolves a scalar: quoted and block scalars are strings; plain scalars follow the YAML 1.2
/// core schema, with YAML 1.1 booleans kept as [`Value::Yaml11Bool`].
fn resolve(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag
        && tag.handle == "tag:yaml.org,2002:"
    {
        match tag.suffix.as_str() {
            "str" => return Value::Str(text.into()),
            "null" => return Value::Null,
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.into());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Value::Yaml11Bool(text.into(), true);
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Value::Yaml11Bool(text.into(), false);
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let first = text.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::Str(text.into());
    }
    if let Some(i) = parse_int(text) {
        return Value::Int(i);
    }
    if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.into())
}

fn parse_int(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i64::from_str_radix(oct, 8).ok()?
    } else if digits.len() > 1
        && digits.starts_with('0')
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        // YAML 1.1 octal (`0644`), as Kubernetes reads it.
        i64::from_str_radix(digits, 8).ok()?
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -value } else { value })
}

fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mut parts = mantissa.splitn(2, '.');
    let int_part = parts.next().unwrap_or("");
    let frac_part = parts.next();
    let digits_ok = int_part.bytes().all(|b| b.is_ascii_digit())
        && frac_part.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
        && (!int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty()));
    let exp_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits_ok && exp_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        parse_document(text, 1, Limits::default())
            .unwrap()
            .root
            .unwrap()
    }

    #[test]
    fn line_count_counts_as_str_lines_does() {
        for text in [
            "",
            "a",
            "a\n",
            "\n",
            "a\nb",
            "a\n\n",
            "a\r\nb\r\n",
            "\n\nx",
            "é\nü",
        ] {
            assert_eq!(line_count(text), text.lines().count(), "{text:?}");
        }
    }

    #[test]
    fn positions_are_one_based_and_shifted() {
        let root = parse_document("a:\n  b: 1\n", 10, Limits::default())
            .unwrap()
            .root
            .unwrap();
        assert_eq!(root.locate("/a/b"), Pos { line: 11, col: 3 });
        assert_eq!(root.at(&["a", "b"]).unwrap().pos, Pos { line: 11, col: 6 });
    }

    #[test]
    fn scalars_resolve_like_kubernetes_reads_them() {
        let root = parse(
            "a: yes\nb: 'yes'\nc: 0644\nd: 1.5\ne: 80\nf: ~\ng: true\nh: 1e3\ni: 0x1F\nj: -.inf\nk: 1.2.3\nl: \"8080\"\n",
        );
        assert_eq!(
            root.get("a").unwrap().value,
            Value::Yaml11Bool("yes".into(), true)
        );
        assert_eq!(root.get("b").unwrap().as_str(), Some("yes"));
        assert_eq!(root.get("c").unwrap().as_i64(), Some(420));
        assert_eq!(root.get("d").unwrap().value, Value::Float(1.5));
        assert_eq!(root.get("e").unwrap().as_i64(), Some(80));
        assert!(root.get("f").unwrap().is_null());
        assert_eq!(root.get("g").unwrap().as_bool(), Some(true));
        assert_eq!(root.get("h").unwrap().value, Value::Float(1000.0));
        assert_eq!(root.get("i").unwrap().as_i64(), Some(31));
        assert_eq!(
            root.get("j").unwrap().value,
            Value::Float(f64::NEG_INFINITY)
        );
        assert_eq!(root.get("k").unwrap().as_str(), Some("1.2.3"));
        assert_eq!(root.get("l").unwrap().as_str(), Some("8080"));
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_and_are_reported() {
        let parsed = parse_document("a: 1\nb: 2\na: 3\n", 1, Limits::default()).unwrap();
        let root = parsed.root.unwrap();
        assert_eq!(root.get("a").unwrap().as_i64(), Some(3));
        assert_eq!(root.entries().len(), 2);
        assert_eq!(
            parsed.quirks,
            vec![Quirk::DuplicateKey {
                key: "a".into(),
                first: Pos { line: 1, col: 1 },
                pos: Pos { line: 3, col: 1 }
            }]
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let root = parse("base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n");
        assert_eq!(root.at(&["use", "x"]).unwrap().as_i64(), Some(1));
        assert_eq!(root.at(&["use", "y"]).unwrap().as_i64(), Some(3));
        assert_eq!(
            root.get("list").unwrap().items()[0]
                .get("y")
                .unwrap()
                .as_i64(),
            Some(2)
        );
    }

    #[test]
    fn billion_laughs_is_rejected_within_the_limit() {
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse_document(&doc, 1, Limits::default()).unwrap_err();
        assert!(
            err.message.contains("aliases expand to more than"),
            "{}",
            err.message
        );
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let doc = "[".repeat(500);
        let err = parse_document(&doc, 1, Limits::default()).unwrap_err();
        // saphyr's own recursion guard or ours, whichever comes first.
        assert!(
            err.message.contains("nesting deeper than") || err.message.contains("recursion limit"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_errors_carry_shifted_positions() {
        let err = parse_document("a: 1\nb: [1, 2\n", 5, Limits::default()).unwrap_err();
        assert!(err.pos.line >= 6, "{err:?}");
    }

    #[test]
    fn positions_stay_inside_the_text() {
        // Found by the `locate` fuzz target (fuzz/artifacts-found/locate/pos-past-eof.yaml).
        let root = parse_document("?\n#", 1, Limits::default())
            .unwrap()
            .root
            .unwrap();
        assert!(
            root.entries()
                .iter()
                .all(|e| e.key_pos.line <= 2 && e.value.pos.line <= 2),
            "{root:?}"
        );
    }

    #[test]
    fn json_documents_parse_with_positions() {
        let root = parse("{\n  \"kind\": \"Pod\",\n  \"spec\": {\"hostNetwork\": true}\n}\n");
        assert_eq!(root.get("kind").unwrap().as_str(), Some("Pod"));
        assert_eq!(root.locate("/spec/hostNetwork"), Pos { line: 3, col: 12 });
    }
}
