//! Bad input: every kind of breakage is reported with file:line:column and a reason, and the
//! neighbouring documents are still analysed.

use meshready_core::source::{Input, LoadOptions, load, load_str};
use meshready_core::{CheckOptions, check};

const GOOD_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: neighbour, namespace: shop}\nspec:\n  containers:\n  - name: app\n    image: app:1\n    securityContext: {runAsUser: 1337}\n";

fn codes_on_neighbour(text: &str) -> Vec<String> {
    let loaded = load_str("x.yaml", text, &LoadOptions::default());
    let report = check(&loaded, &CheckOptions::default());
    report
        .findings
        .iter()
        .filter(|f| f.object.name == "neighbour")
        .map(|f| f.code.to_string())
        .collect()
}

#[test]
fn syntax_error_mid_stream() {
    let text = format!("{GOOD_POD}---\nkind: Pod\nmetadata: {{name: [broken\n---\n{GOOD_POD}");
    let loaded = load_str("x.yaml", &text, &LoadOptions::default());
    assert_eq!(loaded.errors.len(), 1, "{:?}", loaded.errors);
    let e = &loaded.errors[0];
    // The flow sequence opened on line 11 is still open where the document ends; the error
    // stays inside the broken document (the parser itself points one line past it).
    assert_eq!((e.file.as_str(), e.line), ("x.yaml", 11), "{e:?}");
    assert!(e.column > 0);
    assert_eq!(loaded.objects.len(), 2);
    assert!(codes_on_neighbour(&text).contains(&"IST0144".to_string()));
    let report = check(&loaded, &CheckOptions::default());
    assert_eq!(report.exit_status(None), meshready_core::ExitStatus::Error);
}

#[test]
fn wrong_types_are_findings_with_lines_and_the_object_is_still_analysed() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: neighbour, namespace: shop}\nspec:\n  containers:\n  - name: app\n    image: app:1\n    ports: [{containerPort: abc}]\n    securityContext: {runAsUser: 1337}\n";
    let loaded = load_str("x.yaml", text, &LoadOptions::default());
    assert!(loaded.errors.is_empty());
    let report = check(&loaded, &CheckOptions::default());
    let mr0023 = report
        .findings
        .iter()
        .find(|f| f.code == "MR0023")
        .expect("MR0023");
    let loc = mr0023.location.as_ref().unwrap();
    assert_eq!((loc.line, loc.column), (8, 14));
    assert!(report.findings.iter().any(|f| f.code == "IST0144"));
}

#[test]
fn non_mapping_documents() {
    for (doc, what) in [
        ("- a\n- b\n", "list"),
        ("just text\n", "string"),
        ("42\n", "integer"),
    ] {
        let text = format!("{GOOD_POD}---\n{doc}---\n{GOOD_POD}");
        let loaded = load_str("x.yaml", &text, &LoadOptions::default());
        assert_eq!(loaded.errors.len(), 1, "{doc:?}");
        assert_eq!(loaded.errors[0].line, 10, "{doc:?}");
        assert!(
            loaded.errors[0].message.contains(what),
            "{}",
            loaded.errors[0].message
        );
        assert_eq!(loaded.objects.len(), 2);
    }
}

#[test]
fn empty_files_and_empty_documents_are_not_objects_and_not_errors() {
    let inputs = vec![
        Input {
            path: "empty.yaml".into(),
            bytes: Vec::new(),
        },
        Input {
            path: "comments.yaml".into(),
            bytes: b"# nothing here\n---\n---\n".to_vec(),
        },
        Input {
            path: "pod.yaml".into(),
            bytes: GOOD_POD.as_bytes().to_vec(),
        },
    ];
    let loaded = load(inputs, &LoadOptions::default());
    assert!(loaded.errors.is_empty());
    assert_eq!(loaded.stats.files, 3);
    assert_eq!(loaded.stats.documents, 1);
    assert_eq!(loaded.objects.len(), 1);
}

#[test]
fn invalid_utf8_tabs_and_missing_kind() {
    let inputs = vec![
        Input {
            path: "bin.yaml".into(),
            bytes: b"kind: Pod\nname: \xc3\x28\n".to_vec(),
        },
        Input {
            path: "tabs.yaml".into(),
            bytes: b"kind: Pod\nmetadata:\n\tname: x\n".to_vec(),
        },
        Input {
            path: "nokind.yaml".into(),
            bytes: b"apiVersion: v1\nmetadata: {name: x}\n".to_vec(),
        },
        Input {
            path: "pod.yaml".into(),
            bytes: GOOD_POD.as_bytes().to_vec(),
        },
    ];
    let loaded = load(inputs, &LoadOptions::default());
    let where_: Vec<(&str, u32)> = loaded
        .errors
        .iter()
        .map(|e| (e.file.as_str(), e.line))
        .collect();
    assert_eq!(
        where_,
        [("bin.yaml", 2), ("tabs.yaml", 3), ("nokind.yaml", 1)],
        "{:?}",
        loaded.errors
    );
    assert_eq!(loaded.objects.len(), 1);
}

#[test]
fn summary_counts_reconcile() {
    let text = format!(
        "{GOOD_POD}---\n- not an object\n---\napiVersion: v1\nkind: List\nitems:\n- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c}}}}\n- 7\n- {{apiVersion: example.com/v1, kind: Widget, metadata: {{name: w}}}}\n"
    );
    let loaded = load_str("x.yaml", &text, &LoadOptions::default());
    let s = check(&loaded, &CheckOptions::default()).summary;
    assert_eq!(
        s.documents,
        s.objects - s.list_items + s.lists + s.invalid_documents,
        "{s:?}"
    );
    assert_eq!(s.objects, s.analysed + s.skipped);
    assert_eq!(s.invalid, loaded.errors.len());
    assert_eq!(
        (
            s.documents,
            s.objects,
            s.lists,
            s.invalid_documents,
            s.invalid_items
        ),
        (3, 3, 1, 1, 1)
    );
    assert_eq!(s.skipped_kinds.get("Widget"), Some(&1));
}

#[test]
fn skipped_files_reconcile_and_their_documents_count_nowhere() {
    let input = |path: &str, text: &str| Input {
        path: path.into(),
        bytes: text.as_bytes().to_vec(),
    };
    let loaded = load(
        vec![
            input("app/pod.yaml", GOOD_POD),
            input("chart/values.yaml", "replicas: 2\n---\nkind: Deployment\n"),
            input("web/tsconfig.json", "{\"compilerOptions\": {}}\n"),
            input("other.yaml", "name: x\n---\n- a\n"),
            input("raw.yaml", "kind: Pod\nmetadata: {name: {{ .Values.n }}}\n"),
        ],
        &LoadOptions::default(),
    );
    let s = check(&loaded, &CheckOptions::default()).summary;
    assert_eq!((s.files, s.skipped_files), (1, 4), "{s:?}");
    assert_eq!(
        s.skipped_files_by_reason.values().sum::<usize>(),
        s.skipped_files
    );
    assert_eq!(
        s.skipped_files_by_reason.keys().collect::<Vec<_>>(),
        [
            "helm-template",
            "helm-values",
            "not-kubernetes",
            "tool-config"
        ]
    );
    assert_eq!((s.documents, s.objects, s.invalid), (1, 1, 0), "{s:?}");
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
}

#[test]
fn resource_limits_are_reported_with_their_place_and_the_rest_is_analysed() {
    let big = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata: {{blob: \"{}\"}}\n",
        "x".repeat(5000)
    );
    let text = format!("{GOOD_POD}---\n{big}---\n{GOOD_POD}");
    let mut options = LoadOptions::default();
    options.limits.max_document_bytes = 4096;
    let loaded = load_str("x.yaml", &text, &options);
    assert_eq!(loaded.errors.len(), 1);
    assert_eq!(loaded.errors[0].line, 9);
    assert!(
        loaded.errors[0].message.contains("--max-document-size"),
        "{}",
        loaded.errors[0].message
    );
    assert_eq!(loaded.objects.len(), 2);

    let options = LoadOptions {
        max_documents: 1,
        ..LoadOptions::default()
    };
    let loaded = load_str(
        "x.yaml",
        &format!("{GOOD_POD}---\n{GOOD_POD}---\n{GOOD_POD}"),
        &options,
    );
    assert_eq!(loaded.objects.len(), 1);
    assert_eq!(loaded.errors[0].line, 9);
    assert!(
        loaded.errors[0]
            .message
            .contains("this and 1 later documents"),
        "{}",
        loaded.errors[0].message
    );

    let options = LoadOptions {
        max_input_bytes: GOOD_POD.len() + 10,
        ..LoadOptions::default()
    };
    let inputs = vec![
        Input {
            path: "a.yaml".into(),
            bytes: GOOD_POD.as_bytes().to_vec(),
        },
        Input {
            path: "b.yaml".into(),
            bytes: GOOD_POD.as_bytes().to_vec(),
        },
    ];
    let loaded = load(inputs, &options);
    assert_eq!(loaded.objects.len(), 1);
    assert_eq!(loaded.errors[0].file, "b.yaml");
    assert!(loaded.errors[0].message.contains("--max-input-size"));
}

#[test]
fn helm_source_comments_map_findings_to_the_chart_file_and_keep_the_rendered_place() {
    let text = format!("---\n# Source: shop/templates/pod.yaml\n{GOOD_POD}");
    let loaded = load_str("rendered.yaml", &text, &LoadOptions::default());
    let report = check(&loaded, &CheckOptions::default());
    let f = report
        .findings
        .iter()
        .find(|f| f.code == "IST0144")
        .expect("IST0144");
    let loc = f.location.as_ref().unwrap();
    assert_eq!(loc.chart_file.as_deref(), Some("shop/templates/pod.yaml"));
    assert_eq!((loc.file.as_str(), loc.line), ("rendered.yaml", 10));
}
