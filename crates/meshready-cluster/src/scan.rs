//! A structural JSON scanner: one pass over the text records where every object and array
//! ends; the byte ranges of an object's members and of an array's elements are then found
//! without decoding or rescanning the values in between, so that a page of Pods is parsed only
//! where the rules look.
//!
//! Skipped values are checked for structure (closed strings, brackets that match), not for
//! content: the values that are used are then parsed by `serde_json`, which checks them fully.

use std::fmt;
use std::ops::Range;

/// Where and why the bytes are not the JSON expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// Byte offset in the scanned text.
    pub offset: usize,
    /// What was expected or found.
    pub what: &'static str,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for ScanError {}

type Result<T> = std::result::Result<T, ScanError>;

fn error<T>(offset: usize, what: &'static str) -> Result<T> {
    Err(ScanError { offset, what })
}

/// The first index at or after `i` that is not JSON whitespace.
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// The index just after the string that opens at `i` (a `"`).
fn string_end(bytes: &[u8], i: usize) -> Result<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut j = i + 1;
    loop {
        // Eight bytes at a time: is one of them a quote or a backslash?
        if let Some(chunk) = bytes.get(j..j + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let word = u64::from_le_bytes(word);
            let quote = word ^ (ONES * u64::from(b'"'));
            let backslash = word ^ (ONES * u64::from(b'\\'));
            let found = (quote.wrapping_sub(ONES) & !quote & HIGHS)
                | (backslash.wrapping_sub(ONES) & !backslash & HIGHS);
            if found == 0 {
                j += 8;
                continue;
            }
            // The first flagged byte is exact (later flags may be false positives).
            j += (found.trailing_zeros() / 8) as usize;
        }
        match bytes.get(j) {
            Some(b'"') => return Ok(j + 1),
            // A backslash escapes the next byte, whatever it is.
            Some(b'\\') => j += 2,
            Some(_) => j += 1,
            None => return error(i, "unterminated string"),
        }
    }
}

/// A scanned JSON text: where each object or array ends, found in one pass, so that walking
/// its members never scans a value twice.
#[derive(Debug)]
pub struct Doc<'a> {
    bytes: &'a [u8],
    /// The offsets of the `{` and `[` outside strings, in order.
    opens: Vec<usize>,
    /// The index just after the matching `}` or `]` of each of `opens`.
    ends: Vec<usize>,
    /// For each of `opens`, the index in `opens` of the first bracket after its end (so that a
    /// walk over a container's children never searches).
    after: Vec<usize>,
    /// The range of the whole value.
    root: Range<usize>,
}

impl<'a> Doc<'a> {
    /// Scans the text as one value: whitespace around it allowed, nothing after it, strings
    /// closed, brackets matched.
    ///
    /// # Errors
    /// When the text is not one JSON value (structurally).
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let start = skip_ws(bytes, 0);
        let mut doc = Self {
            bytes,
            opens: Vec::new(),
            ends: Vec::new(),
            after: Vec::new(),
            root: start..start,
        };
        let end = match bytes.get(start) {
            Some(b'{' | b'[') => doc.index(start)?,
            _ => doc.scalar_or_string_end(start)?,
        };
        if skip_ws(bytes, end) != bytes.len() {
            return error(end, "trailing characters");
        }
        doc.root = start..end;
        Ok(doc)
    }

    /// The bytes.
    #[must_use]
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The range of the whole value.
    #[must_use]
    pub fn root(&self) -> Range<usize> {
        self.root.clone()
    }

    /// Records every bracket of the container that opens at `i`; returns its end.
    fn index(&mut self, i: usize) -> Result<usize> {
        let bytes = self.bytes;
        // (expected closing bracket, slot in `ends`)
        let mut open: Vec<(u8, usize)> = Vec::with_capacity(32);
        let mut j = i;
        while let Some(&b) = bytes.get(j) {
            match b {
                b'"' => {
                    j = string_end(bytes, j)?;
                    continue;
                }
                b'{' | b'[' => {
                    open.push((if b == b'{' { b'}' } else { b']' }, self.opens.len()));
                    self.opens.push(j);
                    self.ends.push(0);
                    self.after.push(0);
                }
                b'}' | b']' => match open.pop() {
                    Some((close, slot)) if close == b => {
                        self.ends[slot] = j + 1;
                        self.after[slot] = self.opens.len();
                        if open.is_empty() {
                            return Ok(j + 1);
                        }
                    }
                    _ => return error(j, "unbalanced brackets"),
                },
                _ => {}
            }
            j += 1;
        }
        error(i, "unterminated object or array")
    }

    fn scalar_or_string_end(&self, i: usize) -> Result<usize> {
        let bytes = self.bytes;
        match bytes.get(i) {
            None => error(i, "expected a value"),
            Some(b'"') => string_end(bytes, i),
            Some(_) => {
                // A number, `true`, `false` or `null`: up to the next delimiter.
                let end = bytes[i..]
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r'))
                    .map_or(bytes.len(), |k| i + k);
                let scalar = &bytes[i..end];
                let valid = matches!(scalar, b"true" | b"false" | b"null")
                    || scalar.iter().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                    });
                if end == i || !valid {
                    return error(i, "expected a value");
                }
                Ok(end)
            }
        }
    }

    /// The index in `opens` of the container that opens at `i`.
    fn container(&self, i: usize) -> Result<usize> {
        self.opens
            .binary_search(&i)
            .or_else(|_| error(i, "a bracket inside a string"))
    }

    /// The index just after the value that starts at `i` (no whitespace before it), given
    /// `next`, the index in `opens` of the first container at or after `i`; `next` moves past
    /// the value.
    fn value_end(&self, i: usize, next: &mut usize) -> Result<usize> {
        match self.bytes.get(i) {
            Some(b'{' | b'[') => {
                let k = match self.opens.get(*next) {
                    Some(&open) if open == i => *next,
                    _ => self.container(i)?,
                };
                *next = self.after[k];
                Ok(self.ends[k])
            }
            _ => self.scalar_or_string_end(i),
        }
    }

    /// The members of the object in `range`: each key's raw bytes (between its quotes, escapes
    /// not decoded) and its value's range. `None` when the value is not an object (`null`,
    /// another type).
    ///
    /// # Errors
    /// When the object is malformed.
    #[allow(clippy::type_complexity)]
    pub fn members(&self, range: Range<usize>) -> Result<Option<Vec<(&'a [u8], Range<usize>)>>> {
        match self.iter_members(range) {
            Some(members) => members.collect::<Result<Vec<_>>>().map(Some),
            None => Ok(None),
        }
    }

    /// The values of the members named `keys` (the last of duplicate keys, as JSON parsers
    /// keep), found in one pass over the object in `range`; `None` when it is not an object.
    ///
    /// # Errors
    /// When the object is malformed.
    pub fn pick<const N: usize>(
        &self,
        range: Range<usize>,
        keys: [&str; N],
    ) -> Result<Option<[Option<Range<usize>>; N]>> {
        let Some(members) = self.iter_members(range) else {
            return Ok(None);
        };
        let mut out: [Option<Range<usize>>; N] = std::array::from_fn(|_| None);
        for member in members {
            let (key, value) = member?;
            if let Some(k) = find_key(key, &keys) {
                out[k] = Some(value);
            }
        }
        Ok(Some(out))
    }

    /// The members of the object in `range`, one at a time; `None` when it is not an object.
    pub fn iter_members(&self, range: Range<usize>) -> Option<Members<'_, 'a>> {
        if self.bytes.get(range.start) != Some(&b'{') {
            return None;
        }
        let i = skip_ws(self.bytes, range.start + 1);
        let done = self.bytes.get(i) == Some(&b'}');
        let next = self.container(range.start).map_or(usize::MAX, |k| k + 1);
        Some(Members {
            doc: self,
            i,
            next,
            end: range.end,
            done,
        })
    }

    /// The ranges of the elements of the array in `range`; `None` when the value is not an
    /// array.
    ///
    /// # Errors
    /// When the array is malformed.
    pub fn elements(&self, range: Range<usize>) -> Result<Option<Vec<Range<usize>>>> {
        let bytes = self.bytes;
        let mut i = range.start;
        if bytes.get(i) != Some(&b'[') {
            return Ok(None);
        }
        let mut next = self.container(i)? + 1;
        let mut out = Vec::new();
        i = skip_ws(bytes, i + 1);
        if bytes.get(i) == Some(&b']') {
            return Ok(Some(out));
        }
        loop {
            let end = self.value_end(i, &mut next)?;
            out.push(i..end);
            i = skip_ws(bytes, end);
            match bytes.get(i) {
                Some(b',') => i = skip_ws(bytes, i + 1),
                Some(b']') if i < range.end => return Ok(Some(out)),
                _ => return error(i, "expected `,` or `]`"),
            }
        }
    }
}

/// The members of an object, one at a time ([`Doc::iter_members`]): each key's raw bytes and
/// its value's range, or the error that ends them.
#[derive(Debug)]
pub struct Members<'d, 'a> {
    doc: &'d Doc<'a>,
    /// Where the next key starts.
    i: usize,
    /// The index in `opens` of the next container.
    next: usize,
    /// The object's end.
    end: usize,
    done: bool,
}

impl<'a> Iterator for Members<'_, 'a> {
    type Item = Result<(&'a [u8], Range<usize>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.step();
        // After an error or the last member, nothing more.
        self.done = self.done || result.is_err();
        Some(result)
    }
}

impl<'a> Members<'_, 'a> {
    fn step(&mut self) -> Result<(&'a [u8], Range<usize>)> {
        let bytes = self.doc.bytes;
        let mut i = self.i;
        if bytes.get(i) != Some(&b'"') {
            return error(i, "expected a key");
        }
        let key_end = string_end(bytes, i)?;
        let key = &bytes[i + 1..key_end - 1];
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return error(i, "expected `:`");
        }
        let start = skip_ws(bytes, i + 1);
        let end = self.doc.value_end(start, &mut self.next)?;
        i = skip_ws(bytes, end);
        match bytes.get(i) {
            Some(b',') => self.i = skip_ws(bytes, i + 1),
            Some(b'}') if i < self.end => self.done = true,
            _ => return error(i, "expected `,` or `}`"),
        }
        Ok((key, start..end))
    }
}

impl Doc<'_> {
    /// The string at `range` (a JSON string, quotes included), decoded; `None` for `null`.
    ///
    /// # Errors
    /// When the value is neither a string nor `null`, or not valid JSON.
    pub fn string(
        &self,
        range: Range<usize>,
    ) -> std::result::Result<Option<String>, serde_json::Error> {
        let raw = &self.bytes[range];
        if let [b'"', inner @ .., b'"'] = raw
            && !inner.contains(&b'\\')
            && let Ok(text) = std::str::from_utf8(inner)
            && !text.chars().any(char::is_control)
        {
            return Ok(Some(text.to_string()));
        }
        serde_json::from_slice(raw)
    }
}

/// Which of `keys` a raw key (escapes not decoded) is, if any.
#[must_use]
pub fn find_key(raw: &[u8], keys: &[&str]) -> Option<usize> {
    if raw.contains(&b'\\') {
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        let decoded = serde_json::from_slice::<String>(&quoted).ok()?;
        keys.iter().position(|k| *k == decoded)
    } else {
        keys.iter().position(|k| k.as_bytes() == raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text<'a>(bytes: &'a [u8], r: &Range<usize>) -> &'a str {
        std::str::from_utf8(&bytes[r.clone()]).unwrap()
    }

    #[test]
    fn members_and_elements_are_found_without_decoding() {
        let json = br#" {"a": {"x": [1, "]}\"", {"y": null}]}, "b" :[ true ,false, -1.5e3 ], "c\u0064": "s\\"} "#;
        let doc = Doc::new(json).unwrap();
        let members = doc.members(doc.root()).unwrap().unwrap();
        let keys: Vec<&[u8]> = members.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, [&b"a"[..], b"b", br"c\u0064"]);
        assert_eq!(
            text(json, &members[0].1),
            r#"{"x": [1, "]}\"", {"y": null}]}"#
        );
        let [a, b, cd] = doc.pick(doc.root(), ["a", "b", "cd"]).unwrap().unwrap();
        assert_eq!(text(json, &cd.unwrap()), r#""s\\""#);
        let items = doc.elements(b.unwrap()).unwrap().unwrap();
        let items: Vec<&str> = items.iter().map(|r| text(json, r)).collect();
        assert_eq!(items, ["true", "false", "-1.5e3"]);
        assert_eq!(doc.elements(a.unwrap()).unwrap(), None);
        assert_eq!(members_of(b"null"), None);
        assert_eq!(members_of(b"{}"), Some(0));
        let empty = Doc::new(b"[ ]").unwrap();
        assert_eq!(empty.elements(empty.root()).unwrap(), Some(vec![]));
    }

    fn members_of(json: &[u8]) -> Option<usize> {
        let doc = Doc::new(json).unwrap();
        doc.members(doc.root()).unwrap().map(|m| m.len())
    }

    #[test]
    fn the_last_of_duplicate_keys_wins() {
        let json = br#"{"k": 1, "k": 2}"#;
        let doc = Doc::new(json).unwrap();
        let [k] = doc.pick(doc.root(), ["k"]).unwrap().unwrap();
        assert_eq!(text(json, &k.unwrap()), "2");
    }

    #[test]
    fn malformed_json_is_an_error_never_a_panic() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\"}",
            b"{\"a\": }",
            b"{\"a\": 1,}",
            b"{\"a\": \"x}",
            b"{\"a\": \"x\\",
            b"[1, 2",
            b"[1 2]",
            b"{\"a\": [}",
            b"{\"a\": {]}",
            b"{\"a\": tru}",
            b"{} x",
            b"{\"a\": 1}}",
        ] {
            let result = Doc::new(bad).and_then(|doc| {
                doc.members(doc.root())?;
                doc.elements(doc.root())?;
                Ok(())
            });
            assert!(result.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn agrees_with_serde_json_on_what_it_accepts() {
        // Every prefix of a valid document: either both accept it or the scanner rejects it.
        let json = br#"{"items": [{"metadata": {"name": "a\"b", "labels": {"x": "y"}}, "n": [1, 2.5, -3e2, true, null]}], "k": {}}"#;
        for end in 0..=json.len() {
            let prefix = &json[..end];
            let scanned = Doc::new(prefix).is_ok();
            let parsed = serde_json::from_slice::<serde_json::Value>(prefix).is_ok();
            assert!(!scanned || parsed, "{}", String::from_utf8_lossy(prefix));
            assert_eq!(scanned, parsed, "{}", String::from_utf8_lossy(prefix));
        }
    }
}
