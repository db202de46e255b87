//! A response body as the pieces it arrived in: read across them by offset, each value scanned
//! where it lies, and only the few values that span two pieces copied (joined) into an arena.
//!
//! The HTTP client hands a body over in pieces of up to ~400 KB. Copying them into one buffer
//! was the receiving thread's largest cost (a page of 500 Pods is ~4 MB); a Pod (~7 KB) spans
//! two pieces about once per piece, so joining those copies ~2% of the bytes instead.

use std::borrow::Cow;

use bumpalo::Bump;

use crate::scan::{self, Doc, ScanError};

/// The whole body in one slice: borrowed when it arrived in one piece, else copied.
#[must_use]
pub fn joined<C: AsRef<[u8]>>(pieces: &[C]) -> Cow<'_, [u8]> {
    match pieces {
        [] => Cow::Borrowed(&[]),
        [one] => Cow::Borrowed(one.as_ref()),
        many => {
            let mut out = Vec::with_capacity(many.iter().map(|p| p.as_ref().len()).sum());
            for piece in many {
                out.extend_from_slice(piece.as_ref());
            }
            Cow::Owned(out)
        }
    }
}

/// Reads a body given as pieces by offset in the whole body.
pub(crate) struct Cursor<'p, C> {
    pieces: &'p [C],
    /// Where each piece starts in the body.
    starts: Vec<usize>,
    len: usize,
    /// The values that span pieces, joined.
    arena: &'p Bump,
    /// The length of the last value scanned: values that follow each other (the items of a
    /// list) have similar lengths, so this is about how much to join at once.
    hint: usize,
}

impl<'p, C: AsRef<[u8]>> Cursor<'p, C> {
    pub(crate) fn new(pieces: &'p [C], arena: &'p Bump) -> Self {
        let mut starts = Vec::with_capacity(pieces.len());
        let mut len = 0;
        for piece in pieces {
            starts.push(len);
            len += piece.as_ref().len();
        }
        Self {
            pieces,
            starts,
            len,
            arena,
            hint: 0,
        }
    }

    /// The body's length.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The bytes from `at` to the end of the piece that holds `at` (empty at the end).
    fn rest_of_piece(&self, at: usize) -> &'p [u8] {
        if at >= self.len {
            return &[];
        }
        // The last piece that starts at or before `at`: an empty piece starts where the next
        // one does, so this is the one that holds `at`.
        let k = self.starts.partition_point(|&start| start <= at) - 1;
        &self.pieces[k].as_ref()[at - self.starts[k]..]
    }

    /// The byte at `at`.
    pub(crate) fn byte(&self, at: usize) -> Option<u8> {
        self.rest_of_piece(at).first().copied()
    }

    /// The first offset at or after `at` that is not JSON whitespace.
    pub(crate) fn skip_ws(&self, mut at: usize) -> usize {
        loop {
            let rest = self.rest_of_piece(at);
            let skipped = scan::skip_ws(rest, 0);
            at += skipped;
            if skipped < rest.len() || rest.is_empty() {
                return at;
            }
        }
    }

    /// The `len` bytes from `at` (fewer at the end of the body), copied into the arena.
    fn join(&self, at: usize, len: usize) -> &'p [u8] {
        let len = len.min(self.len.saturating_sub(at));
        let out = self.arena.alloc_slice_fill_copy(len, 0u8);
        let mut filled = 0;
        while filled < len {
            let piece = self.rest_of_piece(at + filled);
            let n = piece.len().min(len - filled);
            out[filled..filled + n].copy_from_slice(&piece[..n]);
            filled += n;
        }
        out
    }

    /// Scans the value that starts at `at` (no whitespace before it) into `doc`, whose bytes
    /// then start at `at`, and returns the offset just after it. The value is scanned in its
    /// piece when it ends there, else in a join of the pieces it spans.
    ///
    /// A value fits in the bytes scanned only when at least one byte follows it there (a
    /// number cut by the end of a piece would scan as a shorter one) or they reach the end of
    /// the body; in a list every value is followed by `,`, `]` or `}`.
    pub(crate) fn scan(&mut self, doc: &mut Doc<'p>, at: usize) -> Result<usize, ScanError> {
        let mut bytes = self.rest_of_piece(at);
        loop {
            let whole = at + bytes.len() >= self.len;
            match doc.rescan_prefix(bytes) {
                Ok(()) if doc.root().end < bytes.len() || whole => {
                    self.hint = doc.root().end;
                    return Ok(at + doc.root().end);
                }
                Err(e) if whole => return Err(ScanError::at(at + e.offset, e.what)),
                // Cut by the end of the bytes scanned: join more.
                _ => {}
            }
            let want = (bytes.len() * 2).max(self.hint + self.hint / 4).max(1024);
            bytes = self.join(at, want);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` cut into pieces at `cuts`.
    fn pieces<'t>(text: &'t [u8], cuts: &[usize]) -> Vec<&'t [u8]> {
        let mut out = Vec::new();
        let mut from = 0;
        for &cut in cuts {
            out.push(&text[from..cut]);
            from = cut;
        }
        out.push(&text[from..]);
        out
    }

    #[test]
    fn bytes_and_whitespace_are_read_across_pieces_empty_ones_included() {
        let text = b"{ \n  \"a\" :\t[1, 2] }";
        let arena = Bump::new();
        let split = pieces(text, &[0, 1, 1, 3, 9, 9, 14]);
        let cursor = Cursor::new(&split, &arena);
        assert_eq!(cursor.len(), text.len());
        for (at, &b) in text.iter().enumerate() {
            assert_eq!(cursor.byte(at), Some(b), "byte {at}");
            assert_eq!(cursor.skip_ws(at), scan::skip_ws(text, at), "from {at}");
        }
        assert_eq!(cursor.byte(text.len()), None);
        assert_eq!(cursor.skip_ws(text.len()), text.len());
    }

    #[test]
    fn values_that_span_pieces_are_joined_and_the_others_are_not() {
        let text = br#"[{"a":[1,2]},12345,"x\"y",{}]"#;
        let values = [(1, 12), (13, 18), (19, 25), (26, 28)];
        for cut in 0..=text.len() {
            let arena = Bump::new();
            let split = pieces(text, &[cut]);
            let mut cursor = Cursor::new(&split, &arena);
            let mut doc = Doc::new(b"null").unwrap();
            for (start, end) in values {
                assert_eq!(cursor.scan(&mut doc, start), Ok(end), "cut at {cut}");
                assert_eq!(&doc.bytes()[..end - start], &text[start..end]);
            }
            // Nothing was joined unless a value (with the byte after it) spans the cut.
            let spans = values.iter().any(|&(s, e)| s < cut && cut <= e);
            assert_eq!(arena.allocated_bytes() > 0, spans, "cut at {cut}");
        }
    }

    #[test]
    fn a_broken_value_is_an_error_at_its_offset_in_the_body() {
        let text = br#"[{"a":"b"],1]"#;
        let arena = Bump::new();
        let split = pieces(text, &[4]);
        let mut cursor = Cursor::new(&split, &arena);
        let mut doc = Doc::new(b"null").unwrap();
        let error = cursor.scan(&mut doc, 1).unwrap_err();
        assert_eq!(error.offset, 9);
    }

    #[test]
    fn one_piece_is_borrowed_and_several_are_joined() {
        assert!(matches!(joined(&[b"ab"]), Cow::Borrowed(b"ab")));
        assert_eq!(&*joined(&[&b"ab"[..], b"", b"c"]), b"abc");
        assert!(joined::<&[u8]>(&[]).is_empty());
    }
}
