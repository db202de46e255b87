//! The rules, one per file, and the ordered registry that `meshready rules`, `explain` and the
//! generated docs are built from.

mod admission_policy;
mod ambient_host_network;
mod ambient_reserved_port;
mod application_gid_1337;
mod application_uid_1337;
mod capabilities_denied_by_psp;
mod capabilities_denied_by_scc;
mod conflicting_definitions;
mod duplicate_app_version;
mod duplicate_key;
mod external_name_port_protocol_unknown;
mod hbone_blocked_by_network_policy;
mod helpers;
mod invalid_field_type;
mod invalid_injection_annotation;
mod invalid_suppression;
mod job_sidecar_never_exits;
mod lenient_indentation;
mod missing_app_label;
mod missing_version_label;
mod namespace_multiple_injection_labels;
mod namespace_not_injected;
mod non_string_value;
mod pod_missing_proxy;
mod pod_security_violation;
mod port_protocol_unknown;
mod probes_blocked_by_network_policy;
mod reserved_sidecar_port;
mod service_port_protocol_conflict;
mod sidecar_denied_by_pod_security;
mod target_port_protocol_conflict;
mod target_port_reached_by_different_ports;
mod unused_suppression;
mod workload_without_service;

pub use reserved_sidecar_port::SIDECAR_PORTS;
pub use unused_suppression::UnusedSuppression;

use crate::rule::{Rule, RuleMeta};
use crate::source::{Node, Prune, Value};

/// Every rule, ordered by code. Codes are never reused; retired codes stay listed here.
// Retired: none yet.
pub static RULES: &[&dyn Rule] = &[
    &namespace_not_injected::NamespaceNotInjected,
    &pod_missing_proxy::PodMissingProxy,
    &service_port_protocol_conflict::ServicePortProtocolConflict,
    &workload_without_service::WorkloadWithoutService,
    &port_protocol_unknown::PortProtocolUnknown,
    &namespace_multiple_injection_labels::NamespaceMultipleInjectionLabels,
    &target_port_reached_by_different_ports::TargetPortReachedByDifferentPorts,
    &application_uid_1337::ApplicationUid1337,
    &external_name_port_protocol_unknown::ExternalNamePortProtocolUnknown,
    &target_port_protocol_conflict::TargetPortProtocolConflict,
    &reserved_sidecar_port::ReservedSidecarPort,
    &missing_app_label::MissingAppLabel,
    &missing_version_label::MissingVersionLabel,
    &duplicate_app_version::DuplicateAppVersion,
    &application_gid_1337::ApplicationGid1337,
    &capabilities_denied_by_psp::CapabilitiesDeniedByPsp,
    &sidecar_denied_by_pod_security::SidecarDeniedByPodSecurity,
    &pod_security_violation::PodSecurityViolation,
    &capabilities_denied_by_scc::CapabilitiesDeniedByScc,
    &non_string_value::NonStringValue,
    &duplicate_key::DuplicateKey,
    &lenient_indentation::LenientIndentation,
    &invalid_field_type::InvalidFieldType,
    &unused_suppression::UnusedSuppression,
    &invalid_suppression::InvalidSuppression,
    &ambient_host_network::AmbientHostNetwork,
    &ambient_reserved_port::AmbientReservedPort,
    &hbone_blocked_by_network_policy::HboneBlockedByNetworkPolicy,
    &probes_blocked_by_network_policy::ProbesBlockedByNetworkPolicy,
    &job_sidecar_never_exits::JobSidecarNeverExits,
    &invalid_injection_annotation::InvalidInjectionAnnotation,
    &conflicting_definitions::ConflictingDefinitions,
];

/// What the rules read, as a prune policy for the loader: everything else may be dropped at load
/// time (`LoadOptions::with_prune`). Keep it in step with the rules: a test loads every fixture
/// and corpus with and without it and compares the findings.
pub const PRUNE: Prune = Prune {
    known_object: crate::source::kinds::is_known_object,
    config_map_data: |name| name.starts_with("istio-sidecar-injector"),
    unread_pod_fields: &[
        "affinity",
        "tolerations",
        "nodeSelector",
        "topologySpreadConstraints",
        "imagePullSecrets",
        "dnsConfig",
        "dnsPolicy",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "priorityClassName",
        "priority",
        "schedulerName",
        "readinessGates",
        "resourceClaims",
    ],
    unread_container_fields: &[
        "env",
        "envFrom",
        "args",
        "command",
        "resources",
        "volumeMounts",
        "volumeDevices",
        "workingDir",
        "terminationMessagePath",
        "terminationMessagePolicy",
        "resizePolicy",
    ],
    keep_handler,
};

/// Lifecycle hooks matter only when they name a host (PSA's hostProbesAndHostLifecycle check);
/// probes also when they reach a port (ambient's probe rule, MR0043), and then only their
/// network handler.
fn keep_handler(key: &str, node: &mut Node) -> bool {
    const PROBE_HANDLERS: [&str; 3] = ["httpGet", "tcpSocket", "grpc"];
    if key == "lifecycle" {
        return names_a_host(node);
    }
    if !(names_a_host(node) || PROBE_HANDLERS.iter().any(|h| node.get(h).is_some())) {
        return false;
    }
    if let Value::Map(entries) = &mut node.value {
        entries.retain(|e| PROBE_HANDLERS.contains(&&*e.key));
    }
    true
}

/// Whether a probe or lifecycle subtree has a `host` field anywhere.
fn names_a_host(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|e| &*e.key == "host" || names_a_host(&e.value)),
        Value::Seq(items) => items.iter().any(names_a_host),
        _ => false,
    }
}

/// Finds a rule by code or name (case-insensitive).
#[must_use]
pub fn find(code_or_name: &str) -> Option<&'static RuleMeta> {
    RULES.iter().map(|r| r.meta()).find(|m| {
        m.code.eq_ignore_ascii_case(code_or_name) || m.name.eq_ignore_ascii_case(code_or_name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_ordered() {
        let codes: Vec<&str> = RULES.iter().map(|r| r.meta().code).collect();
        let mut sorted = codes.clone();
        sorted.sort_by_key(|c| (!c.starts_with("IST"), *c));
        sorted.dedup();
        assert_eq!(codes, sorted);
    }

    #[test]
    fn every_rule_is_documented_with_the_required_sections() {
        for rule in RULES {
            let m = rule.meta();
            let docs = m.explanation();
            for heading in [
                "## What it checks",
                "## Why it matters in the mesh",
                "## Example",
                "## Fix",
                "## References",
            ] {
                assert!(docs.contains(heading), "{} lacks {heading}", m.code);
            }
            assert!(
                !m.summary.ends_with('.'),
                "{} summary ends with a period",
                m.code
            );
            assert!(
                m.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                m.name
            );
            for prefix in ["avoid-", "use-", "prefer-", "do-not-"] {
                assert!(
                    !m.name.starts_with(prefix),
                    "{} is named after the fix",
                    m.name
                );
            }
        }
    }

    #[test]
    fn find_accepts_codes_and_names() {
        assert_eq!(
            find("ist0144").map(|m| m.name),
            Some("application-uid-1337")
        );
        assert_eq!(
            find("reserved-sidecar-port").map(|m| m.code),
            Some("MR0002")
        );
        assert!(find("IST9999").is_none());
    }
}
