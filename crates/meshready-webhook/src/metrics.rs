//! Prometheus metrics in the text exposition format, hand-rolled: reviews by kind and verdict,
//! findings by code, a review-duration histogram, and the live context's size and rebuilds.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::context::SharedContext;
use crate::review::Reviewed;

/// Review-duration bucket upper bounds, in seconds.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// Context-rebuild bucket upper bounds, in seconds.
pub const REBUILD_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A histogram with fixed bucket bounds.
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Per bucket (not cumulative), plus one for +Inf.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with these bucket upper bounds (ascending).
    #[must_use]
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
        }
    }

    /// Records one observation.
    pub fn observe(&mut self, value: f64) {
        let bucket = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        if let Some(n) = self.counts.get_mut(bucket) {
            *n += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    /// Observations recorded.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Writes the histogram `name` with its HELP and TYPE lines.
    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} histogram");
        let mut cumulative = 0;
        for (bound, n) in self.bounds.iter().zip(&self.counts) {
            cumulative += n;
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum {}", self.sum);
        let _ = writeln!(out, "{name}_count {}", self.count);
    }
}

impl Default for Histogram {
    /// A histogram of review durations.
    fn default() -> Self {
        Self::new(BUCKETS)
    }
}

/// The webhook's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    reviews: BTreeMap<(&'static str, &'static str), u64>,
    findings: BTreeMap<&'static str, u64>,
    durations: Histogram,
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
        inner.durations.observe(elapsed.as_secs_f64());
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
        inner.durations.render(
            &mut out,
            "meshready_review_duration_seconds",
            "Time to judge one review.",
        );
        out
    }
}

/// The live context's size and rebuilds in the Prometheus text format.
#[must_use]
pub fn render_context(context: &SharedContext) -> String {
    let snapshot = context.snapshot();
    let mut out = String::new();
    out.push_str("# HELP meshready_context_objects Objects in the current context snapshot.\n");
    out.push_str("# TYPE meshready_context_objects gauge\n");
    let _ = writeln!(out, "meshready_context_objects {}", snapshot.len());
    out.push_str("# HELP meshready_context_bytes Estimated heap bytes of the context snapshot's objects (their parsed trees and strings; indexes and allocator overhead not counted).\n");
    out.push_str("# TYPE meshready_context_bytes gauge\n");
    let _ = writeln!(
        out,
        "meshready_context_bytes {}",
        snapshot.estimated_bytes()
    );
    context.with_rebuild_stats(|stats| {
        out.push_str("# HELP meshready_context_rebuilds_total Snapshots of the live context built from the cluster.\n");
        out.push_str("# TYPE meshready_context_rebuilds_total counter\n");
        let _ = writeln!(
            out,
            "meshready_context_rebuilds_total {}",
            stats.durations.count()
        );
        out.push_str("# HELP meshready_context_converted_objects_total Objects converted for the live context (new or changed resourceVersion).\n");
        out.push_str("# TYPE meshready_context_converted_objects_total counter\n");
        let _ = writeln!(
            out,
            "meshready_context_converted_objects_total {}",
            stats.converted
        );
        stats.durations.render(
            &mut out,
            "meshready_context_rebuild_duration_seconds",
            "Time to apply the changes and build one context snapshot.",
        );
        out.push_str("# HELP meshready_context_rebuild_max_seconds The longest context rebuild since start.\n");
        out.push_str("# TYPE meshready_context_rebuild_max_seconds gauge\n");
        let _ = writeln!(
            out,
            "meshready_context_rebuild_max_seconds {}",
            stats.max.as_secs_f64()
        );
    });
    out
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

    #[test]
    fn the_context_size_and_rebuilds_render() {
        let loaded = meshready_core::source::load_str(
            "ctx.yaml",
            "apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: shop}\n",
            &meshready_core::source::LoadOptions::default(),
        );
        let context = crate::context::Context::new(loaded.objects);
        let bytes = context.estimated_bytes();
        assert!(bytes > 100, "{bytes}");
        let shared = SharedContext::pending();
        shared.replace_rebuilt(context, Duration::from_millis(3), 1);
        let text = render_context(&shared);
        assert!(text.contains("meshready_context_objects 1\n"), "{text}");
        assert!(
            text.contains(&format!("meshready_context_bytes {bytes}\n")),
            "{text}"
        );
        assert!(
            text.contains("meshready_context_rebuilds_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_context_rebuild_duration_seconds_bucket{le=\"0.0025\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_context_rebuild_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("meshready_context_rebuild_max_seconds 0.003\n"),
            "{text}"
        );
    }
}
