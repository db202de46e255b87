//! Findings as admission warnings, within the API server's limits: each warning at most 256
//! characters, all of them together at most 4 KiB.

use meshready_core::Finding;

/// Longest warning, in characters.
pub const MAX_WARNING_CHARS: usize = 256;
/// Longest total of all warnings, in bytes.
pub const MAX_TOTAL_BYTES: usize = 4096;

/// One finding as a warning line: `IST0144: container `app` runs ...`.
#[must_use]
pub fn warning(finding: &Finding) -> String {
    truncate(
        &format!("{}: {}", finding.code, finding.text()),
        MAX_WARNING_CHARS,
    )
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut. Control characters
/// (newlines would break the `Warning` header the API server turns these into) become spaces.
#[must_use]
pub fn truncate(text: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    if text.chars().count() <= max {
        return text.chars().map(clean).collect();
    }
    let mut out: String = text
        .chars()
        .take(max.saturating_sub(1))
        .map(clean)
        .collect();
    out.push('…');
    out
}

/// Turns lines into a warning list that fits the limits: lines are truncated, and when the total
/// would pass [`MAX_TOTAL_BYTES`] the list ends with `… N more findings`.
#[must_use]
pub fn fit(lines: impl IntoIterator<Item = String>) -> Vec<String> {
    let lines: Vec<String> = lines
        .into_iter()
        .map(|l| truncate(&l, MAX_WARNING_CHARS))
        .collect();
    let total = lines.len();
    let mut out = Vec::new();
    let mut used = 0;
    for (i, line) in lines.into_iter().enumerate() {
        let rest = total - i - 1;
        // Room for this line, plus (unless it is the last) the closing "… N more findings".
        let reserve = if rest == 0 { 0 } else { more(rest).len() };
        if used + line.len() + reserve > MAX_TOTAL_BYTES {
            out.push(more(total - i));
            return out;
        }
        used += line.len();
        out.push(line);
    }
    out
}

fn more(n: usize) -> String {
    if n == 1 {
        "… 1 more finding".into()
    } else {
        format!("… {n} more findings")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_lines_are_kept_as_they_are() {
        assert_eq!(truncate("IST0144: x", 256), "IST0144: x");
        assert_eq!(fit(["a".to_string(), "b".to_string()]), ["a", "b"]);
    }

    #[test]
    fn long_lines_end_with_an_ellipsis_at_256_characters() {
        let line = truncate(&"é".repeat(300), MAX_WARNING_CHARS);
        assert_eq!(line.chars().count(), 256);
        assert!(line.ends_with('…'));
    }

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(truncate("a\nb\tc", 10), "a b c");
    }

    #[test]
    fn the_total_stays_under_4_kib_and_says_how_many_were_cut() {
        let lines: Vec<String> = (0..100)
            .map(|i| format!("{i:03}{}", "x".repeat(200)))
            .collect();
        let out = fit(lines);
        let total: usize = out.iter().map(String::len).sum();
        assert!(total <= MAX_TOTAL_BYTES, "{total}");
        let last = out.last().unwrap();
        let kept = out.len() - 1;
        assert_eq!(*last, format!("… {} more findings", 100 - kept));
        assert!(out[..kept].iter().all(|l| l.len() == 203));
    }

    #[test]
    fn a_list_that_just_fits_is_not_cut() {
        let lines: Vec<String> = (0..16).map(|_| "y".repeat(256)).collect();
        assert_eq!(fit(lines).len(), 16);
    }
}
