//! Cheap splitting of a YAML stream or a JSON stream into documents, before any parsing, so that
//! one broken document never hides its neighbours and documents can be parsed in parallel.

/// One document's text within a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Byte range in the file's text.
    pub start: usize,
    /// End of the byte range (exclusive).
    pub end: usize,
    /// 1-based line on which the chunk starts.
    pub line: u32,
    /// The chart file named by a Helm `# Source:` comment at the top of the document.
    pub helm_source: Option<String>,
}

/// Splits a YAML stream at `---` and `...` markers in column 0 (YAML forbids them inside any
/// scalar there, so a line scan is exact). Comment-only and directive-only preambles stay with
/// the document they precede. Chunks that hold no content (only comments or blank lines) are
/// dropped.
#[must_use]
pub fn split_yaml(text: &str) -> Vec<Chunk> {
    let bytes = text.as_bytes();
    // Line starts that may hold a marker; inside a document's content every other line is
    // skipped without looking at it (memchr), which keeps the split far cheaper than parsing.
    let mut candidates: Vec<usize> = memchr::memmem::find_iter(bytes, b"\n---")
        .chain(memchr::memmem::find_iter(bytes, b"\n..."))
        .map(|i| i + 1)
        .collect();
    candidates.sort_unstable();
    let mut next_candidate = 0usize;
    let mut chunks = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut has_content = false;
    let mut has_marker = false;
    let mut helm_source: Option<String> = None;
    let mut offset = 0usize;
    let mut line_no = 1u32;
    while offset < text.len() {
        if has_content {
            while next_candidate < candidates.len() && candidates[next_candidate] < offset {
                next_candidate += 1;
            }
            let next = candidates
                .get(next_candidate)
                .copied()
                .unwrap_or(text.len());
            line_no += count_lines(&bytes[offset..next]);
            offset = next;
            if offset >= text.len() {
                break;
            }
        }
        let end = memchr::memchr(b'\n', &bytes[offset..]).map_or(text.len(), |i| offset + i + 1);
        let line = &text[offset..end];
        let trimmed = line.trim_end_matches(['\n', '\r']);
        let is_start = is_marker(trimmed, "---");
        let is_end = is_marker(trimmed, "...");
        if is_start && (has_content || has_marker) {
            push(
                &mut chunks,
                start,
                offset,
                start_line,
                has_content,
                helm_source.take(),
            );
            start = offset;
            start_line = line_no;
            has_content = false;
        }
        if is_start {
            has_marker = true;
            // `--- {a: 1}` or `--- |` carries content on the marker line itself.
            let rest = trimmed[3..].trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                has_content = true;
            }
        } else if is_end {
            push(
                &mut chunks,
                start,
                end,
                start_line,
                has_content,
                helm_source.take(),
            );
            start = end;
            start_line = line_no + 1;
            has_content = false;
            has_marker = false;
        } else if !has_content {
            let t = trimmed.trim_start();
            if let Some(source) = t.strip_prefix("# Source: ") {
                if helm_source.is_none() {
                    helm_source = Some(source.trim().to_string());
                }
            } else if !(t.is_empty() || t.starts_with('#') || trimmed.starts_with('%')) {
                has_content = true;
            }
        }
        offset = end;
        line_no += 1;
    }
    push(
        &mut chunks,
        start,
        text.len(),
        start_line,
        has_content,
        helm_source,
    );
    chunks
}

fn count_lines(bytes: &[u8]) -> u32 {
    u32::try_from(memchr::memchr_iter(b'\n', bytes).count()).unwrap_or(u32::MAX)
}

fn push(
    chunks: &mut Vec<Chunk>,
    start: usize,
    end: usize,
    line: u32,
    content: bool,
    helm: Option<String>,
) {
    if content && end > start {
        chunks.push(Chunk {
            start,
            end,
            line,
            helm_source: helm,
        });
    }
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.starts_with(marker)
        && line[marker.len()..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t')
}

/// Whether a file's text is a JSON stream rather than YAML (its first significant character
/// opens a JSON object or array).
#[must_use]
pub fn looks_like_json(text: &str) -> bool {
    text.trim_start().starts_with(['{', '['])
}

/// Splits a stream of concatenated JSON values (`{...}{...}`, or one per line) into one chunk
/// each, by bracket depth outside strings. A value left open at the end of the text becomes the
/// last chunk, so that the parser reports it.
#[must_use]
pub fn split_json(text: &str) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let bytes = text.as_bytes();
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    let mut start: Option<(usize, u32)> = None;
    let mut line = 1u32;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            line += 1;
        }
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                // A string outside any value is stray text too (found by the `split` fuzz
                // target): it must reach the parser, not vanish between chunks.
                if depth == 0 && start.is_none() {
                    start = Some((i, line));
                }
                in_str = true;
            }
            b'{' | b'[' => {
                if depth == 0 {
                    // Stray text before this value is a chunk of its own (the parser reports
                    // it), so it cannot swallow the value that follows.
                    if let Some((s, l)) = start.take() {
                        chunks.push(Chunk {
                            start: s,
                            end: i,
                            line: l,
                            helm_source: None,
                        });
                    }
                    start = Some((i, line));
                }
                depth += 1;
            }
            // A closing bracket outside any value: stray text for the parser to report (found
            // by the `split` fuzz target); inside stray text already, it just continues it.
            b'}' | b']' if depth == 0 && start.is_none() => start = Some((i, line)),
            b'}' | b']' if depth == 0 => {}
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && let Some((s, l)) = start.take()
                {
                    chunks.push(Chunk {
                        start: s,
                        end: i + 1,
                        line: l,
                        helm_source: None,
                    });
                }
            }
            b if b.is_ascii_whitespace() || b == b',' => {}
            _ if depth == 0 && start.is_none() => {
                // Stray text between values: let the parser report it.
                start = Some((i, line));
            }
            _ => {}
        }
    }
    if let Some((s, l)) = start {
        chunks.push(Chunk {
            start: s,
            end: text.len(),
            line: l,
            helm_source: None,
        });
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_between_values_is_stray_text() {
        let text = "{\"a\": 1}\n\"x\ny\"\n{\"b\": 2}\n";
        let chunks = split_json(text);
        let parts: Vec<&str> = chunks.iter().map(|c| &text[c.start..c.end]).collect();
        assert_eq!(parts, ["{\"a\": 1}", "\"x\ny\"\n", "{\"b\": 2}"]);
        assert_eq!(chunks[1].line, 2);
    }

    fn texts<'a>(text: &'a str, chunks: &[Chunk]) -> Vec<(&'a str, u32)> {
        chunks
            .iter()
            .map(|c| (&text[c.start..c.end], c.line))
            .collect()
    }

    #[test]
    fn splits_at_markers_and_keeps_line_numbers() {
        let text =
            "a: 1\n---\nb: 2\n--- # c\n\n---\n# Source: chart/templates/x.yaml\nc: 3\n...\nd: 4\n";
        let chunks = split_yaml(text);
        assert_eq!(
            texts(text, &chunks),
            vec![
                ("a: 1\n", 1),
                ("---\nb: 2\n", 2),
                ("---\n# Source: chart/templates/x.yaml\nc: 3\n...\n", 6),
                ("d: 4\n", 10)
            ]
        );
        assert_eq!(
            chunks[2].helm_source.as_deref(),
            Some("chart/templates/x.yaml")
        );
    }

    #[test]
    fn markers_need_a_separator_and_column_zero() {
        let text = "a: |\n  ---\n----\nb: 1\n";
        assert_eq!(split_yaml(text).len(), 1);
    }

    #[test]
    fn content_on_the_marker_line_counts() {
        let text = "--- {a: 1}\n--- |\n  x\n";
        assert_eq!(split_yaml(text).len(), 2);
    }

    #[test]
    fn stray_text_between_json_values_does_not_swallow_the_next_value() {
        // Found by the `split` fuzz target (fuzz/artifacts-found/split/).
        let text = "{\"a\": 1}\ngarbage\n{\"b\": 2}\n";
        let chunks = split_json(text);
        assert_eq!(
            texts(text, &chunks),
            vec![("{\"a\": 1}", 1), ("garbage\n", 2), ("{\"b\": 2}", 3)]
        );
    }

    #[test]
    fn a_stray_closing_bracket_is_not_dropped() {
        // Found by the `split` fuzz target (fuzz/artifacts-found/split/).
        let text = "{\"a\": 1}}\n";
        let chunks = split_json(text);
        assert_eq!(texts(text, &chunks), vec![("{\"a\": 1}", 1), ("}\n", 1)]);
    }

    #[test]
    fn json_streams_split_by_depth() {
        let text = "{\"a\": \"}{\"}\n{\"b\": [1, {\"c\": 2}]}\n{\"open\": ";
        let chunks = split_json(text);
        assert_eq!(
            texts(text, &chunks),
            vec![
                ("{\"a\": \"}{\"}", 1),
                ("{\"b\": [1, {\"c\": 2}]}", 2),
                ("{\"open\": ", 3)
            ]
        );
    }
}
