//! Prometheus metrics in the text exposition format, hand-rolled: reviews by kind and verdict,
//! findings by code, and a review-duration histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::review::Reviewed;

/// Histogram bucket upper bounds, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// The webhook's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reviews: BTreeMap<(&'static str, &'static str), u64>,
    findings: BTreeMap<&'static str, u64>,
    /// Per bucket (not cumulative), plus one for +Inf.
    buckets: [u64; BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

impl Metrics {
    /// Records one review and how long it took.
    pub fn record(&self, reviewed: &Reviewed, elapsed: Duration) {
        let mut inner = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *inner
            .reviews
            .entry((reviewed.kind, reviewed.verdict.as_str()))
            .or_default() += 1;
        for f in &reviewed.findings {
            *inner.findings.entry(f.code).or_default() += 1;
        }
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        inner.buckets[bucket] += 1;
        inner.sum_seconds += seconds;
        inner.count += 1;
    }

    /// The metrics in the Prometheus text format (version 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let inner = match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = String::new();
        out.push_str(
            "# HELP meshready_reviews_total Admission reviews answered, by kind and verdict.\n",
        );
        out.push_str("# TYPE meshready_reviews_total counter\n");
        for ((kind, verdict), n) in &inner.reviews {
            let _ = writeln!(
                out,
                "meshready_reviews_total{{kind=\"{kind}\",verdict=\"{verdict}\"}} {n}"
            );
        }
        out.push_str("# HELP meshready_findings_total Findings returned on reviewed objects, by rule code.\n");
        out.push_str("# TYPE meshready_findings_total counter\n");
        for (code, n) in &inner.findings {
            let _ = writeln!(
                out,
                "meshready_findings_total{{code=\"{}\"}} {n}",
                escape(code)
            );
        }
        out.push_str("# HELP meshready_review_duration_seconds Time to judge one review.\n");
        out.push_str("# TYPE meshready_review_duration_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(inner.buckets) {
            cumulative += n;
            let _ = writeln!(
                out,
                "meshready_review_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "meshready_review_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            inner.count
        );
        let _ = writeln!(
            out,
            "meshready_review_duration_seconds_sum {}",
            inner.sum_seconds
        );
        let _ = writeln!(
            out,
            "meshready_review_duration_seconds_count {}",
            inner.count
        );
        out
    }
}

/// Escapes a label value (`\`, `"` and newlines).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use meshready_core::{Finding, ObjectRef, Severity};

    use super::*;
    use crate::review::Verdict;

    #[test]
    fn counters_and_histogram_render() {
        let metrics = Metrics::default();
        let finding = Finding {
            code: "IST0144",
            name: "application-uid-1337",
            severity: Severity::Warning,
            message: String::new(),
            fix: String::new(),
            object: ObjectRef {
                kind: "Pod".into(),
                namespace: "a".into(),
                name: "p".into(),
            },
            path: String::new(),
            location: None,
            pods: None,
        };
        let reviewed = Reviewed {
            status: 200,
            body: Vec::new(),
            kind: "Pod",
            verdict: Verdict::Allowed,
            findings: vec![finding],
        };
        metrics.record(&reviewed, Duration::from_micros(300));
        metrics.record(&reviewed, Duration::from_secs(3));
        let text = metrics.render();
        assert!(
            text.contains("meshready_reviews_total{kind=\"Pod\",verdict=\"allowed\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_findings_total{code=\"IST0144\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_review_duration_seconds_bucket{le=\"0.00025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_review_duration_seconds_bucket{le=\"0.0005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_review_duration_seconds_bucket{le=\"1\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_review_duration_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_review_duration_seconds_count 2\n"),
            "{text}"
        );
    }
}
