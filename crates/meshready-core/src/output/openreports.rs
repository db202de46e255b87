//! The OpenReports format (`openreports.io/v1alpha1` `Report` / `ClusterReport`), the
//! successor of the PolicyReport API that Kyverno 1.15+ and Policy Reporter 3.2+ read.
//!
//! The same `List`, objects and results as [`policyreport`](super::policyreport) (see there),
//! with the OpenReports kinds and a report-level `source: meshready`.

use super::policyreport::{Flavor, ReportOptions, render_flavor};
use crate::Report;

/// Renders the report as `openreports.io/v1alpha1` reports in a `List` (pretty JSON), with a
/// trailing newline.
#[must_use]
pub fn render(report: &Report, options: &ReportOptions<'_>) -> String {
    render_flavor(report, options, Flavor::OpenReports)
}
