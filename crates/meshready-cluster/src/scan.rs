//! A structural JSON scanner: one pass over the text, 64 bytes at a time, records where every
//! string starts and ends and where every object and array ends; the byte ranges of an object's
//! members and of an array's elements are then found without decoding or rescanning the values
//! in between, so that a page of Pods is parsed only where the rules look.
//!
//! Skipped values are checked for structure (closed strings, no escapes outside strings,
//! brackets that match), not for content: the values that are used are then parsed by
//! `serde_json`, which checks them fully. A scan may be told how deep its walks go
//! ([`Doc::limit_depth`]): the objects and arrays nested deeper are then only counted (the
//! brackets must balance, `{` need not be closed by `}` rather than `]`), a whole block at a time
//! where none of them ends, which is most of a Pod's `managedFields`.

use std::borrow::Cow;
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

impl ScanError {
    /// An error at `offset`.
    #[must_use]
    pub fn at(offset: usize, what: &'static str) -> Self {
        Self { offset, what }
    }
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
#[must_use]
pub fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// One block's bytes of interest, one bit per byte.
struct Classes {
    quotes: u64,
    backslashes: u64,
    /// `{`, `}`, `[` and `]`.
    brackets: u64,
}

/// Classifies a block with SSE2 (every `x86_64` processor has it): 16 bytes per compare.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn classify(block: &[u8; 64]) -> Classes {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };
    #[allow(clippy::cast_possible_wrap)]
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (quote, backslash, case) = (splat(b'"'), splat(b'\\'), splat(0x20));
    // `{` and `[` are 0x7B and 0x5B, `}` and `]` 0x7D and 0x5D: one bit apart.
    let (open, close) = (splat(b'{'), splat(b'}'));
    let bits = |m: m128i| u64::from(move_mask_i8_m128i(m).cast_unsigned() & 0xFFFF);
    let mut out = Classes {
        quotes: 0,
        backslashes: 0,
        brackets: 0,
    };
    let (lanes, _) = block.as_chunks::<16>();
    for (k, lane) in lanes.iter().enumerate() {
        let v = m128i::from(*lane);
        let folded = bitor_m128i(v, case);
        let shift = 16 * k;
        out.quotes |= bits(cmp_eq_mask_i8_m128i(v, quote)) << shift;
        out.backslashes |= bits(cmp_eq_mask_i8_m128i(v, backslash)) << shift;
        out.brackets |= bits(bitor_m128i(
            cmp_eq_mask_i8_m128i(folded, open),
            cmp_eq_mask_i8_m128i(folded, close),
        )) << shift;
    }
    out
}

/// Classifies a block one byte at a time (processors without SSE2).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn classify(block: &[u8; 64]) -> Classes {
    let mut out = Classes {
        quotes: 0,
        backslashes: 0,
        brackets: 0,
    };
    for (i, &b) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match b {
            b'"' => out.quotes |= bit,
            b'\\' => out.backslashes |= bit,
            b'{' | b'}' | b'[' | b']' => out.brackets |= bit,
            _ => {}
        }
    }
    out
}

/// The bytes of a block whose bit 1 is set: among brackets, `{` and `[` rather than `}` and
/// `]` (SSE2: the bit shifted to each byte's top, where a byte mask reads it).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn opening_brackets(block: &[u8; 64]) -> u64 {
    use safe_arch::{m128i, move_mask_i8_m128i, shl_imm_u16_m128i};
    let (lanes, _) = block.as_chunks::<16>();
    lanes.iter().enumerate().fold(0, |bits, (k, lane)| {
        let top = shl_imm_u16_m128i::<6>(m128i::from(*lane));
        bits | u64::from(move_mask_i8_m128i(top).cast_unsigned() & 0xFFFF) << (16 * k)
    })
}

/// The bytes of a block whose bit 1 is set (processors without SSE2).
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn opening_brackets(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |bits, (i, &b)| bits | u64::from((b >> 1) & 1) << i)
}

/// Bit `i` set when an odd number of bits at or below `i` are set in `bits` (for quotes: the
/// bytes inside a string, its opening quote included and its closing quote not).
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

/// The escaping backslashes of a block and the bytes they escape, given `backslashes` and
/// whether the block's first byte is escaped by the previous block's last backslash
/// (`carry`, updated for the next block).
fn escapes(backslashes: u64, carry: &mut bool) -> (u64, u64) {
    let mut escaped = 0u64;
    let mut escapers = 0u64;
    let mut rest = backslashes;
    if std::mem::take(carry) {
        escaped |= 1;
        rest &= !1;
    }
    while rest != 0 {
        let i = rest.trailing_zeros();
        escapers |= 1 << i;
        if i == 63 {
            *carry = true;
        } else {
            // The escaped byte, a backslash or not, escapes nothing itself.
            escaped |= 1 << (i + 1);
            rest &= !(1 << (i + 1));
        }
        rest &= rest - 1;
    }
    (escapers, escaped)
}

/// An object or array of a scanned text.
#[derive(Debug, Clone, Copy)]
struct Container {
    /// The offset of its `{` or `[`.
    open: usize,
    /// The index just after its `}` or `]`.
    end: usize,
    /// The index in [`Doc::containers`] of the first container after it (so that a walk over a
    /// container's children never searches).
    after: usize,
}

/// A scanned JSON text: where each object or array ends, found in one pass, so that walking
/// its members never scans a value twice.
#[derive(Debug)]
pub struct Doc<'a> {
    bytes: &'a [u8],
    /// Every object and array, in the order they open.
    containers: Vec<Container>,
    /// Bit `i % 64` of word `i / 64` is set where byte `i` opens or closes a string.
    quotes: Vec<u64>,
    /// The stack of containers still open while scanning (kept for its memory).
    open: Vec<(bool, usize)>,
    /// The range of the whole value.
    root: Range<usize>,
    /// The depth of the deepest containers recorded (the root's is 1).
    limit: usize,
}

impl<'a> Doc<'a> {
    /// Scans the text as one value: whitespace around it allowed, nothing after it, strings
    /// closed, brackets matched.
    ///
    /// # Errors
    /// When the text is not one JSON value (structurally).
    pub fn new(bytes: &'a [u8]) -> Result<Self> {
        let mut doc = Self {
            bytes,
            containers: Vec::new(),
            quotes: Vec::new(),
            open: Vec::new(),
            root: 0..0,
            limit: usize::MAX,
        };
        doc.scan(bytes, false)?;
        Ok(doc)
    }

    /// Records, in the scans that follow, only the objects and arrays at most `depth` deep (the
    /// root is 1 deep): those nested deeper cannot be walked into, nor skipped over by a walk of
    /// their parent, which must be recorded. They are counted rather than matched, a whole
    /// 64-byte block at once where the count says none of the recorded ones closes in it (a
    /// Pod's `managedFields` and `env` entries): no stack, no record. At least the root is
    /// recorded.
    pub fn limit_depth(&mut self, depth: usize) {
        self.limit = depth.max(1);
    }

    /// Scans the value at the start of `bytes` (after whitespace) up to its end, reusing this
    /// one's memory; what follows it is not looked at (its end is [`Doc::root`]'s). A list
    /// page's items are scanned one at a time this way, each walked while it is still in the
    /// processor's cache.
    ///
    /// # Errors
    /// When the text does not start with a JSON value (structurally).
    pub fn rescan_prefix(&mut self, bytes: &'a [u8]) -> Result<()> {
        self.scan(bytes, true)
    }

    fn scan(&mut self, bytes: &'a [u8], prefix: bool) -> Result<()> {
        self.bytes = bytes;
        self.containers.clear();
        self.quotes.clear();
        let start = skip_ws(bytes, 0);
        if prefix && !matches!(bytes.get(start), Some(b'{' | b'[' | b'"')) {
            self.root = start..self.scalar_or_string_end(start)?;
            return Ok(());
        }
        if !prefix {
            // About one bracket in 50 bytes in API objects (managedFields are dense). A prefix
            // may be far shorter than the text: its memory grows as needed, and is reused.
            self.containers.reserve(bytes.len() / 32);
            self.quotes.reserve(bytes.len().div_ceil(64));
        }
        if let Some(end) = self.index(prefix)? {
            self.root = start..end;
            return Ok(());
        }
        let end = match (bytes.get(start), self.containers.first()) {
            (Some(b'{' | b'['), Some(root)) => root.end,
            _ => self.scalar_or_string_end(start)?,
        };
        if skip_ws(bytes, end) != bytes.len() {
            return error(end, "trailing characters");
        }
        self.root = start..end;
        Ok(())
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

    /// Records every string's quotes and every bracket outside strings, and checks that
    /// strings are closed and brackets matched. With `stop`, it stops at the end of the first
    /// value (a string or container) and returns that end.
    fn index(&mut self, stop: bool) -> Result<Option<usize>> {
        // The memory of the last scan's stack, reused.
        let mut open = std::mem::take(&mut self.open);
        open.clear();
        let result = self.index_with(&mut open, stop);
        self.open = open;
        result
    }

    /// [`Doc::index`], with `open` the stack of containers still open: (whether it is an
    /// object, slot in `containers`).
    fn index_with(&mut self, open: &mut Vec<(bool, usize)>, stop: bool) -> Result<Option<usize>> {
        let bytes = self.bytes;
        let limit = self.limit;
        // How many containers deeper than `limit` are open (counted, not recorded).
        let mut deep = 0usize;
        let string_root = stop && bytes.get(skip_ws(bytes, 0)) == Some(&b'"');
        let mut in_string = false;
        let mut escape_carry = false;
        let mut string_start = 0;
        let (blocks, rest) = bytes.as_chunks::<64>();
        let mut last = [b' '; 64];
        last[..rest.len()].copy_from_slice(rest);
        let padded = (!rest.is_empty()).then_some(&last);
        for (n, block) in blocks.iter().chain(padded).enumerate() {
            let base = n * 64;
            let Classes {
                quotes,
                backslashes,
                brackets,
            } = classify(block);
            let (escapers, escaped) = if backslashes == 0 && !escape_carry {
                (0, 0)
            } else {
                escapes(backslashes, &mut escape_carry)
            };
            let quotes = quotes & !escaped;
            let mut inside = prefix_xor(quotes);
            if in_string {
                inside = !inside;
            }
            // With `stop`: where the first value ends, when it ends in this block.
            let mut done = None;
            if string_root && quotes & !inside != 0 {
                done = Some(base + (quotes & !inside).trailing_zeros() as usize + 1);
            }
            let mut brackets = brackets & !inside;
            if done.is_some() {
                brackets = 0;
            }
            if deep > 0 && brackets != 0 {
                // While containers below the limit are open, the stack is at the limit: when no
                // more close in this block than are open below it, none of those recorded
                // closes, and every container that opens is below the limit too. Count them.
                let closes = (brackets & !opening_brackets(block)).count_ones() as usize;
                if deep >= closes {
                    deep = deep + (brackets.count_ones() as usize - closes) - closes;
                    brackets = 0;
                }
            }
            while brackets != 0 {
                let k = brackets.trailing_zeros() as usize & 63;
                brackets &= brackets - 1;
                let j = base + k;
                // Bit 5 tells `{}` (0x7B, 0x7D) from `[]` (0x5B, 0x5D), bit 1 opening from
                // closing.
                let b = block[k];
                let object = b & 0x20 != 0;
                if b & 0x02 != 0 {
                    if deep > 0 || open.len() >= limit {
                        deep += 1;
                        continue;
                    }
                    open.push((object, self.containers.len()));
                    self.containers.push(Container {
                        open: j,
                        end: 0,
                        after: 0,
                    });
                    continue;
                }
                if deep > 0 {
                    deep -= 1;
                    continue;
                }
                match open.pop() {
                    Some((was_object, slot)) if was_object == object => {
                        let after = self.containers.len();
                        let container = &mut self.containers[slot];
                        container.end = j + 1;
                        container.after = after;
                        if stop && open.is_empty() {
                            done = Some(j + 1);
                            break;
                        }
                    }
                    _ => return error(j, "unbalanced brackets"),
                }
            }
            // Only the bytes before the end count.
            let counted = done.map_or(u64::MAX, |end| match end - base {
                64.. => u64::MAX,
                k => (1u64 << k) - 1,
            });
            let stray = escapers & !inside & counted;
            if stray != 0 {
                return error(
                    base + stray.trailing_zeros() as usize,
                    "a backslash outside a string",
                );
            }
            let opening = quotes & inside;
            if opening != 0 {
                string_start = base + (63 - opening.leading_zeros() as usize);
            }
            in_string = inside >> 63 == 1;
            self.quotes.push(quotes);
            if done.is_some() {
                return Ok(done);
            }
        }
        if in_string {
            return error(string_start, "unterminated string");
        }
        match open.last() {
            Some(&(_, slot)) => error(self.containers[slot].open, "unterminated object or array"),
            None => Ok(None),
        }
    }

    /// The index just after the string that opens at `i` (a `"` outside strings).
    #[inline]
    fn string_end(&self, i: usize) -> Result<usize> {
        let mut word = (i + 1) / 64;
        // The quotes after `i` in its word.
        let mut bits = self
            .quotes
            .get(word)
            .map_or(0, |&w| w & (u64::MAX << ((i + 1) % 64)));
        while bits == 0 {
            word += 1;
            match self.quotes.get(word) {
                Some(&w) => bits = w,
                None => return error(i, "unterminated string"),
            }
        }
        Ok(word * 64 + bits.trailing_zeros() as usize + 1)
    }

    fn scalar_or_string_end(&self, i: usize) -> Result<usize> {
        let bytes = self.bytes;
        match bytes.get(i) {
            None => error(i, "expected a value"),
            Some(b'"') => self.string_end(i),
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

    /// The index in `containers` of the container that opens at `i`: none when the bracket is
    /// inside a string, or nested deeper than the scan records ([`Doc::limit_depth`]).
    fn container(&self, i: usize) -> Result<usize> {
        self.containers
            .binary_search_by_key(&i, |c| c.open)
            .or_else(|_| error(i, "a bracket inside a string or below the depth walked"))
    }

    /// The index just after the value that starts at `i` (no whitespace before it), given
    /// `next`, the index in `containers` of the first container at or after `i`; `next` moves past
    /// the value.
    #[inline]
    fn value_end(&self, i: usize, next: &mut usize) -> Result<usize> {
        match self.bytes.get(i) {
            Some(b'{' | b'[') => {
                let k = match self.containers.get(*next) {
                    Some(c) if c.open == i => *next,
                    _ => self.container(i)?,
                };
                let container = &self.containers[k];
                *next = container.after;
                Ok(container.end)
            }
            Some(b'"') => self.string_end(i),
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
        let keys = Keys::new(&keys);
        for member in members {
            let (key, value) = member?;
            if let Some(k) = keys.find(key) {
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
        let mut out = Vec::new();
        Ok(self.elements_into(range, &mut out)?.then_some(out))
    }

    /// [`Doc::elements`] into `out` (emptied first); `false` when the value is not an array.
    ///
    /// # Errors
    /// When the array is malformed.
    pub fn elements_into(&self, range: Range<usize>, out: &mut Vec<Range<usize>>) -> Result<bool> {
        let bytes = self.bytes;
        out.clear();
        let mut i = range.start;
        if bytes.get(i) != Some(&b'[') {
            return Ok(false);
        }
        let mut next = self.container(i)? + 1;
        i = skip_ws(bytes, i + 1);
        if bytes.get(i) == Some(&b']') {
            return Ok(true);
        }
        loop {
            let end = self.value_end(i, &mut next)?;
            out.push(i..end);
            i = skip_ws(bytes, end);
            match bytes.get(i) {
                Some(b',') => i = skip_ws(bytes, i + 1),
                Some(b']') if i < range.end => return Ok(true),
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
    /// The index in `containers` of the next container.
    next: usize,
    /// The object's end.
    end: usize,
    done: bool,
}

impl<'a> Iterator for Members<'_, 'a> {
    type Item = Result<(&'a [u8], Range<usize>)>;

    #[inline]
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
    #[inline]
    fn step(&mut self) -> Result<(&'a [u8], Range<usize>)> {
        let bytes = self.doc.bytes;
        let mut i = self.i;
        if bytes.get(i) != Some(&b'"') {
            return error(i, "expected a key");
        }
        let key_end = self.doc.string_end(i)?;
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

impl<'a> Doc<'a> {
    /// The string at `range` (a JSON string, quotes included), decoded, borrowed from the text
    /// when it has no escapes; `None` for `null`.
    ///
    /// # Errors
    /// When the value is neither a string nor `null`, or not valid JSON.
    pub fn str(
        &self,
        range: Range<usize>,
    ) -> std::result::Result<Option<Cow<'a, str>>, serde_json::Error> {
        let raw = &self.bytes[range];
        if let [b'"', inner @ .., b'"'] = raw
            && !has_backslash(inner)
            && let Ok(text) = std::str::from_utf8(inner)
            && !text.bytes().any(|b| b < 0x20)
        {
            return Ok(Some(Cow::Borrowed(text)));
        }
        Ok(serde_json::from_slice::<Option<String>>(raw)?.map(Cow::Owned))
    }
}

/// Which of `keys` a raw key (escapes not decoded) is, if any.
#[must_use]
pub fn find_key(raw: &[u8], keys: &[&str]) -> Option<usize> {
    Keys::new(keys).find(raw)
}

/// A set of keys to look for among an object's members, with the lengths they have: most keys
/// of an object are told apart from all of them by their length alone.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'k> {
    keys: &'k [&'k str],
    /// Bit `n` set when a key is `n` bytes long (bit 63: 63 or more).
    lengths: u64,
    /// The length of the shortest key.
    shortest: usize,
}

impl<'k> Keys<'k> {
    /// The set of `keys`.
    #[must_use]
    pub fn new(keys: &'k [&'k str]) -> Self {
        Self {
            keys,
            lengths: keys.iter().fold(0, |bits, k| bits | length_bit(k.len())),
            shortest: keys.iter().map(|k| k.len()).min().unwrap_or(0),
        }
    }

    /// Which of the keys a raw key (escapes not decoded) is, if any.
    #[must_use]
    #[inline]
    pub fn find(&self, raw: &[u8]) -> Option<usize> {
        if self.lengths & length_bit(raw.len()) != 0
            && let Some(k) = self
                .keys
                .iter()
                .position(|k| k.len() == raw.len() && same(k.as_bytes(), raw))
        {
            return Some(k);
        }
        // A key spelt with escapes (`na\u006de`) is the same key; an escape is longer than
        // the character it spells.
        if raw.len() <= self.shortest || !has_backslash(raw) {
            return None;
        }
        self.find_escaped(raw)
    }

    /// [`Keys::find`] for a raw key with escapes (rare).
    #[cold]
    #[inline(never)]
    fn find_escaped(&self, raw: &[u8]) -> Option<usize> {
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        let decoded = serde_json::from_slice::<String>(&quoted).ok()?;
        self.keys.iter().position(|k| *k == decoded)
    }
}

/// The bit of [`Keys::lengths`] for a key `n` bytes long.
fn length_bit(n: usize) -> u64 {
    1 << n.min(63)
}

/// The 8 bytes of `s` at `i` as a word.
fn word(s: &[u8], i: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&s[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Whether two slices of the same length are equal: keys are short, and comparing them a
/// word at a time beats calling `memcmp`.
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    let half = |s: &[u8], i: usize| u32::from_le_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Whether `raw` holds a backslash, a word at a time (keys are short).
fn has_backslash(raw: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let (words, rest) = raw.as_chunks::<8>();
    words.iter().any(|w| {
        let x = u64::from_le_bytes(*w) ^ (ONES * u64::from(b'\\'));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    }) || rest.contains(&b'\\')
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
    fn escapes_and_brackets_in_strings_across_block_boundaries() {
        // Every shift puts the backslashes, escaped quotes and brackets in strings at another
        // place of the 64-byte blocks, the last byte of a block included.
        let body = br#"{"k\\": "a\\\\\"]}[{", "l": ["\\", "\"", {"m": "}}]]\\"}], "n": "x\u0022"}"#;
        for shift in 0..=130 {
            let mut json = vec![b' '; shift];
            json.extend_from_slice(body);
            let doc = Doc::new(&json).unwrap();
            let members = doc.members(doc.root()).unwrap().unwrap();
            let found: Vec<(String, String)> = members
                .iter()
                .map(|(k, r)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        text(&json, r).to_string(),
                    )
                })
                .collect();
            let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(
                found.len(),
                value.as_object().unwrap().len(),
                "shift {shift}"
            );
            for (key, raw) in &found {
                let key: String = serde_json::from_str(&format!("\"{key}\"")).unwrap();
                let parsed: serde_json::Value = serde_json::from_str(raw).unwrap();
                assert_eq!(parsed, value[&key], "shift {shift}, key {key}");
            }
        }
        // A backslash outside a string, or a string left open by an escaped quote.
        for bad in [&br#"{"a": \"b"}"#[..], br#"{"a": "b\"}"#, br#"["\\\"]"#] {
            assert!(Doc::new(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn keys_are_told_apart_by_length_first_and_escaped_spellings_still_match() {
        let long = "x".repeat(70);
        let longer = "x".repeat(71);
        let keys = ["name", "namespace", long.as_str()];
        let set = Keys::new(&keys);
        assert_eq!(set.find(b"name"), Some(0));
        assert_eq!(set.find(b"namespace"), Some(1));
        assert_eq!(set.find(long.as_bytes()), Some(2));
        // Lengths of 63 bytes and more share a bit: compared, not matched.
        assert_eq!(set.find(longer.as_bytes()), None);
        assert_eq!(set.find(b"nam"), None);
        assert_eq!(set.find(b"names"), None);
        assert_eq!(set.find(br"na\u006de"), Some(0));
        assert_eq!(set.find(br"\u006eamespace"), Some(1));
        // Escaped, but shorter than any key once decoded.
        assert_eq!(set.find(br"\u006e"), None);
        assert_eq!(Keys::new(&[]).find(b""), None);
        assert_eq!(find_key(b"items", &["items"]), Some(0));
    }

    #[test]
    fn below_the_depth_limit_brackets_are_counted_not_matched_nor_walkable() {
        // The text scanned as one value, its containers recorded `depth` deep.
        fn limited(json: &[u8], depth: usize) -> Option<Doc<'_>> {
            let mut doc = Doc::new(b"null").unwrap();
            doc.limit_depth(depth);
            doc.rescan_prefix(json).ok()?;
            (doc.root() == (0..json.len())).then_some(doc)
        }
        // Three deep, whole blocks of brackets below the limit, then the walk goes on.
        let json = format!(
            r#"{{"a": {{"b": {}{}, "c": [1]}}, "d": "e"}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let json = json.as_bytes();
        let doc = limited(json, 2).unwrap();
        let [a, d] = doc.pick(doc.root(), ["a", "d"]).unwrap().unwrap();
        assert_eq!(text(json, &d.unwrap()), r#""e""#);
        // `a` is 2 deep: recorded, so skipped over; its members are 3 deep: not walkable.
        assert!(doc.members(a.unwrap()).is_err());
        let doc = limited(json, 3).unwrap();
        let [a] = doc.pick(doc.root(), ["a"]).unwrap().unwrap();
        let [_, c] = doc.pick(a.unwrap(), ["b", "c"]).unwrap().unwrap();
        assert_eq!(text(json, &c.unwrap()), "[1]");
        // Below the limit, `[` may be closed by `}` (a leniency: the content there is skipped
        // unread, as numbers are); the count must balance, at any limit.
        assert!(limited(br#"{"a": {"b": [}}}"#, 2).is_some());
        assert!(limited(br#"{"a": {"b": [}}}"#, 3).is_none());
        for depth in 1..5 {
            assert!(limited(br#"{"a": {"b": [[]}}"#, depth).is_none(), "{depth}");
            assert!(limited(br#"{"a": {"b": []]}}"#, depth).is_none(), "{depth}");
        }
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
