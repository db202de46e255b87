//! The suppression pass of [`crate::check`]: drops suppressed findings and reports the
//! suppressions that matched nothing (rule MR0030, `unused-suppression`).

use crate::finding::{Finding, ObjectRef};
use crate::model::Indexes;
use crate::rule;
use crate::rules::{UnusedSuppression, find};
use crate::settings::CheckOptions;
use crate::settings::RuleSetting;
use crate::source::Loaded;
use crate::suppress::{AnnotationIndex, ISTIO_ANNOTATION, token_covers};

/// Removes every finding matched by a `--suppress` pattern, a config ignore or (when allowed) an
/// annotation, and returns one MR0030 finding per suppression that matched nothing (none when
/// MR0030 is turned off). `indexes` are those of `loaded`'s objects.
pub(crate) fn apply(
    loaded: &Loaded,
    indexes: &Indexes<'_>,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) -> Vec<Finding> {
    let meta = &UnusedSuppression::META;
    let severity = match options.rule_settings.get(meta.code) {
        Some(RuleSetting::Off) => None,
        Some(RuleSetting::Severity(s)) => Some(*s),
        None => Some(meta.severity),
    };
    let none = AnnotationIndex::default();
    let annotations = if options.annotation_suppression {
        &indexes.annotated
    } else {
        &none
    };
    let mut pattern_used = vec![false; options.suppress.len()];
    let mut ignore_used = vec![false; options.ignores.len()];
    let mut token_used: rustc_hash::FxHashSet<(usize, usize, usize)> =
        rustc_hash::FxHashSet::default();
    findings.retain(|f| {
        let mut suppressed = false;
        for (i, p) in options.suppress.iter().enumerate() {
            if p.matches(f) {
                pattern_used[i] = true;
                suppressed = true;
            }
        }
        for (i, ignore) in options.ignores.iter().enumerate() {
            if ignore.matches(f) {
                ignore_used[i] = true;
                suppressed = true;
            }
        }
        if let Some(oi) = indexes
            .owners
            .find(&f.object.kind, &f.object.namespace, &f.object.name)
            && let entries = annotations.of(oi)
            && !entries.is_empty()
        {
            for (ei, entry) in entries.iter().enumerate() {
                for (ti, token) in entry.codes.iter().enumerate() {
                    if token_covers(token, f) {
                        token_used.insert((oi, ei, ti));
                        suppressed = true;
                    }
                }
            }
        }
        !suppressed
    });
    let Some(severity) = severity else {
        return Vec::new();
    };
    let disabled = |token: &str| {
        find(token).is_some_and(|m| options.rule_settings.get(m.code) == Some(&RuleSetting::Off))
    };
    let note = |object: ObjectRef, message: String, fix: String| Finding {
        code: meta.code,
        name: meta.name,
        severity,
        message,
        fix,
        object,
        path: String::new(),
        location: None,
        pods: None,
    };
    let mut out = Vec::new();
    for (p, used) in options.suppress.iter().zip(&pattern_used) {
        if !used {
            out.push(note(
                ObjectRef {
                    kind: "Suppression".into(),
                    namespace: String::new(),
                    name: p.text(),
                },
                format!("`--suppress {}` matched no finding", p.text()),
                "Remove the `--suppress` pattern.".into(),
            ));
        }
    }
    for (ignore, used) in options.ignores.iter().zip(&ignore_used) {
        if !used {
            let mut f = note(
                ObjectRef {
                    kind: "Suppression".into(),
                    namespace: String::new(),
                    name: ignore.label.clone(),
                },
                format!(
                    "{} (reason: {}) matched no finding",
                    ignore.label, ignore.reason
                ),
                "Remove the entry from `ignore:` in the config file, or fix its globs.".into(),
            );
            f.location.clone_from(&ignore.location);
            out.push(f);
        }
    }
    for (oi, entries) in annotations.iter() {
        let object = &loaded.objects[oi];
        for (ei, entry) in entries.iter().enumerate() {
            for (ti, token) in entry.codes.iter().enumerate() {
                if token_used.contains(&(oi, ei, ti)) || disabled(token) {
                    continue;
                }
                let known = token == "*" || find(token).is_some();
                // Istio's annotation also serves istioctl: only meshready's own codes count.
                // Unknown codes in meshready's annotation are MR0031's (an error).
                if !known || (entry.annotation == ISTIO_ANNOTATION && token == "*") {
                    continue;
                }
                let message = if token == "*" {
                    format!(
                        "`{}: \"*\"` suppressed nothing on this object",
                        entry.annotation
                    )
                } else {
                    format!(
                        "`{}` lists `{token}`, which reported nothing on this object",
                        entry.annotation
                    )
                };
                let mut f = rule::finding(
                    &loaded.files,
                    meta,
                    object,
                    &entry.pointer,
                    message,
                    format!(
                        "Remove `{token}` from the `{}` annotation (`meshready rules` lists the codes).",
                        entry.annotation
                    ),
                );
                f.severity = severity;
                out.push(f);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::source::{LoadOptions, load_str};
    use crate::suppress::{Ignore, Pattern};
    use crate::{CheckOptions, Severity, check};

    const INPUT: &str = "\
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations:
    meshready.io/ignore: \"IST0118,MR0002=stale\"
    galley.istio.io/analyze-suppress: \"IST0108,*\"
spec:
  selector: {app: web}
  ports:
  - port: 8080
";

    fn run(options: &CheckOptions) -> crate::Report {
        check(
            &load_str("in.yaml", INPUT, &LoadOptions::default()),
            options,
        )
    }

    #[test]
    fn used_annotation_codes_are_not_reported_and_unused_ones_are() {
        let report = run(&CheckOptions::default());
        let unused: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == "MR0030")
            .map(|f| f.message.as_str())
            .collect();
        assert_eq!(
            unused,
            ["`meshready.io/ignore` lists `MR0002`, which reported nothing on this object"]
        );
        assert!(report.findings.iter().all(|f| f.code != "IST0118"));
    }

    #[test]
    fn unused_patterns_and_ignores_are_reported_and_overrides_apply() {
        let mut options = CheckOptions {
            suppress: vec![Pattern::parse("IST0103=Pod *.testing").unwrap()],
            ignores: vec![Ignore {
                codes: vec!["IST0117".into()],
                kind: Some("Deployment".into()),
                namespace: None,
                name: Some("vendor-*".into()),
                reason: "third-party chart".into(),
                label: "ignore[0]".into(),
                location: None,
            }],
            ..CheckOptions::default()
        };
        options.rule_settings.insert(
            "MR0030",
            crate::settings::RuleSetting::Severity(Severity::Warning),
        );
        let report = run(&options);
        let unused: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.code == "MR0030")
            .collect();
        assert_eq!(unused.len(), 3);
        assert!(unused.iter().all(|f| f.severity == Severity::Warning));
        options
            .rule_settings
            .insert("MR0030", crate::settings::RuleSetting::Off);
        assert!(run(&options).findings.iter().all(|f| f.code != "MR0030"));
    }

    #[test]
    fn ignores_drop_matching_findings() {
        let options = CheckOptions {
            annotation_suppression: false,
            ignores: vec![Ignore {
                codes: vec![],
                kind: Some("Service".into()),
                namespace: Some("sh*".into()),
                name: None,
                reason: "vendor".into(),
                label: "ignore[0]".into(),
                location: None,
            }],
            ..CheckOptions::default()
        };
        let report = run(&options);
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(report.summary.suppressed > 0);
    }
}
