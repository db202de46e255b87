//! Arbitrary bytes as one input file: load, check, render text and JSON. Nothing may panic, and
//! the summary's counts must reconcile (see `meshready_core::Summary`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use meshready_core::output::{json, text};
use meshready_core::source::{Input, load};
use meshready_core::{CheckOptions, LoadOptions, Severity, check};

fuzz_target!(|data: &[u8]| {
    let path = "fuzz.yaml";
    let loaded = load(
        vec![Input {
            path: path.into(),
            bytes: data.to_vec(),
        }],
        &LoadOptions::default().with_prune(meshready_core::rules::PRUNE),
    );
    let report = check(&loaded, &CheckOptions::default());
    let s = &report.summary;

    // The only file-level error is invalid UTF-8 (after a leading BOM is dropped); it is in
    // `errors` but counts in no document figure.
    let body = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let file_errors = usize::from(std::str::from_utf8(body).is_err());

    // The file is read, or skipped as another tool's file (its documents then count nowhere).
    assert_eq!(s.files + s.skipped_files, 1, "{s:?}");
    assert_eq!(
        s.skipped_files_by_reason.values().sum::<usize>(),
        s.skipped_files,
        "{s:?}"
    );
    if s.skipped_files == 1 {
        assert!(s.documents == 0 && report.errors.is_empty(), "{s:?}");
    }
    assert_eq!(loaded.objects.len(), s.objects, "{s:?}");
    assert!(s.objects >= s.list_items, "{s:?}");
    assert_eq!(
        s.documents,
        s.objects - s.list_items + s.lists + s.invalid_documents,
        "documents = objects - list_items + lists + invalid_documents: {s:?}"
    );
    assert_eq!(s.objects, s.analysed + s.skipped, "{s:?}");
    assert_eq!(s.invalid, s.invalid_documents + s.invalid_items, "{s:?}");
    assert_eq!(report.errors.len(), loaded.errors.len());
    assert_eq!(
        s.invalid + file_errors,
        report.errors.len(),
        "invalid + file-level errors = errors: {s:?} {:?}",
        report.errors
    );
    if file_errors == 1 {
        assert!(loaded.objects.is_empty() && s.documents == 0, "{s:?}");
    }
    assert_eq!(s.skipped_kinds.values().sum::<usize>(), s.skipped, "{s:?}");
    assert!(s.in_mesh <= s.workloads, "{s:?}");

    // Every error points into the file.
    // YAML line breaks: `\r\n`, `\n`, and a lone `\r` (the parser counts all three).
    let lines = 1 + loaded.files[0]
        .text
        .replace("\r\n", "\n")
        .matches(['\n', '\r'])
        .count();
    for e in &report.errors {
        assert_eq!(e.file, path);
        assert!(
            e.line >= 1 && e.column >= 1,
            "error without a position: {e:?}"
        );
        let last_line = lines.max(1 + body.iter().filter(|&&b| b == b'\n').count());
        assert!(
            usize::try_from(e.line).unwrap() <= last_line,
            "error past the end of the file ({last_line} lines): {e:?}"
        );
        assert!(!e.message.is_empty(), "{e:?}");
    }

    // Every finding on a file object points into the file.
    for f in &report.findings {
        if let Some(l) = &f.location {
            assert_eq!(l.file, path);
            assert!(
                l.line >= 1 && l.column >= 1,
                "finding without a position: {f:?}"
            );
            assert!(
                usize::try_from(l.line).unwrap() <= lines,
                "finding past the end of the file ({lines} lines): {f:?}"
            );
        }
    }

    let rendered = text::render(&report, &loaded.files, Severity::Info);
    assert!(!rendered.is_empty() || (report.findings.is_empty() && report.errors.is_empty()));
    let rendered = json::render(&report, Severity::Info);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&rendered) {
        panic!("JSON output does not parse: {e}\n{rendered}");
    }
});
