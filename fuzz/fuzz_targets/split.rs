//! Arbitrary text through the document splitters: chunks are in order, do not overlap, lie
//! within the text on character boundaries, and start on the line they say they start on.

#![no_main]

use libfuzzer_sys::fuzz_target;
use meshready_core::source::split::{Chunk, looks_like_json, split_json, split_yaml};

fn check_chunks(kind: &str, text: &str, chunks: &[Chunk]) {
    let mut previous_end = 0usize;
    for (i, c) in chunks.iter().enumerate() {
        assert!(
            c.start < c.end,
            "{kind} chunk {i} is empty or reversed: {c:?}"
        );
        assert!(
            c.end <= text.len(),
            "{kind} chunk {i} past the end ({}): {c:?}",
            text.len()
        );
        assert!(
            c.start >= previous_end,
            "{kind} chunk {i} overlaps or is out of order: {chunks:?}"
        );
        assert!(
            text.is_char_boundary(c.start),
            "{kind} chunk {i} start not on a char boundary: {c:?}"
        );
        assert!(
            text.is_char_boundary(c.end),
            "{kind} chunk {i} end not on a char boundary: {c:?}"
        );
        let line = 1 + text.as_bytes()[..c.start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        assert_eq!(
            usize::try_from(c.line).unwrap(),
            line,
            "{kind} chunk {i} says it starts on line {} but starts on line {line}: {c:?}",
            c.line
        );
        previous_end = c.end;
    }
}

/// Whether a line that no YAML chunk covers holds nothing a parser would read.
fn is_droppable_yaml_line(line: &str) -> bool {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    let t = trimmed.trim_start();
    t.is_empty()
        || t.starts_with('#')
        || trimmed.starts_with('%')
        // `...` ends a document; YAML allows only a comment after it.
        || trimmed.starts_with("...")
        || (trimmed.starts_with("---") && {
            let rest = trimmed[3..].trim();
            rest.is_empty() || rest.starts_with('#')
        })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    let chunks = split_yaml(text);
    check_chunks("yaml", text, &chunks);
    // No content is lost between chunks: every line outside them is blank, a comment, a
    // directive or a marker.
    let mut offset = 0usize;
    for line in text.split_inclusive('\n') {
        let end = offset + line.len();
        let covered = chunks.iter().any(|c| c.start <= offset && end <= c.end);
        if !covered {
            assert!(
                is_droppable_yaml_line(line),
                "yaml line at byte {offset} dropped: {line:?}; chunks {chunks:?}"
            );
        }
        offset = end;
    }

    let chunks = split_json(text);
    check_chunks("json", text, &chunks);
    // Everything outside JSON chunks is whitespace or commas (the loader splits as JSON only
    // text that looks like JSON; stray text must become a chunk so that the parser reports it).
    if !looks_like_json(text) {
        return;
    }
    let mut offset = 0usize;
    for c in &chunks {
        assert!(
            text[offset..c.start]
                .bytes()
                .all(|b| b.is_ascii_whitespace() || b == b','),
            "json text dropped before {c:?}: {:?}",
            &text[offset..c.start]
        );
        offset = c.end;
    }
    assert!(
        text[offset..]
            .bytes()
            .all(|b| b.is_ascii_whitespace() || b == b','),
        "json text dropped at the end: {:?}",
        &text[offset..]
    );
});
