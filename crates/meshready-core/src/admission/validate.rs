//! The injector's annotation validation (Istio `pkg/kube/inject/validate.go`): pod annotation values that make the injector refuse the pod.

use serde_json::{Map, Value};

/// One annotation value the injector refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The annotation key.
    pub annotation: String,
    /// Its value.
    pub value: String,
    /// Why it is refused (a lowercase fragment).
    pub reason: String,
}

/// The annotations the injector validates, in a stable order.
pub const VALIDATED: [&str; 19] = [
    "sidecar.istio.io/interceptionMode",
    "status.sidecar.istio.io/port",
    "readiness.status.sidecar.istio.io/initialDelaySeconds",
    "readiness.status.sidecar.istio.io/periodSeconds",
    "readiness.status.sidecar.istio.io/failureThreshold",
    "traffic.sidecar.istio.io/includeOutboundIPRanges",
    "traffic.sidecar.istio.io/excludeOutboundIPRanges",
    "traffic.sidecar.istio.io/includeInboundPorts",
    "traffic.sidecar.istio.io/excludeInboundPorts",
    "traffic.sidecar.istio.io/excludeOutboundPorts",
    "traffic.sidecar.istio.io/excludeInterfaces",
    "traffic.sidecar.istio.io/kubevirtInterfaces",
    "istio.io/reroute-virtual-interfaces",
    "prometheus.istio.io/merge-metrics",
    "proxy.istio.io/config",
    "sidecar.istio.io/proxyCPU",
    "sidecar.istio.io/proxyMemory",
    "sidecar.istio.io/proxyCPULimit",
    "sidecar.istio.io/proxyMemoryLimit",
];

/// Validates one annotation value; `Err` with the reason when the injector refuses it, `Ok`
/// for valid values and annotations it does not validate.
///
/// # Errors
/// The reason, as a lowercase fragment.
pub fn validate(annotation: &str, value: &str) -> Result<(), String> {
    match annotation {
        "sidecar.istio.io/interceptionMode" => match value {
            "REDIRECT" | "TPROXY" | "NONE" => Ok(()),
            _ => Err("interceptionMode invalid, use REDIRECT, TPROXY or NONE".into()),
        },
        "status.sidecar.istio.io/port" => port(value)
            .map(|_| ())
            .map_err(|e| format!("status port invalid: {e}")),
        "readiness.status.sidecar.istio.io/initialDelaySeconds"
        | "readiness.status.sidecar.istio.io/periodSeconds"
        | "readiness.status.sidecar.istio.io/failureThreshold" => value
            .parse::<u32>()
            .map(|_| ())
            .map_err(|_| "expected an unsigned 32-bit number".into()),
        "traffic.sidecar.istio.io/includeOutboundIPRanges" => {
            if value == "*" {
                Ok(())
            } else {
                cidrs(value).map_err(|e| format!("includeIPRanges invalid: {e}"))
            }
        }
        "traffic.sidecar.istio.io/excludeOutboundIPRanges" => {
            cidrs(value).map_err(|e| format!("excludeIPRanges invalid: {e}"))
        }
        "traffic.sidecar.istio.io/includeInboundPorts" => {
            if value == "*" {
                Ok(())
            } else {
                ports(value).map_err(|e| format!("includeInboundPorts invalid: {e}"))
            }
        }
        "traffic.sidecar.istio.io/excludeInboundPorts" => {
            ports(value).map_err(|e| format!("excludeInboundPorts invalid: {e}"))
        }
        "traffic.sidecar.istio.io/excludeOutboundPorts" => {
            ports(value).map_err(|e| format!("excludeOutboundPorts invalid: {e}"))
        }
        "traffic.sidecar.istio.io/excludeInterfaces"
        | "traffic.sidecar.istio.io/kubevirtInterfaces"
        | "istio.io/reroute-virtual-interfaces" => interfaces(value),
        "prometheus.istio.io/merge-metrics" => match value {
            "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false"
            | "False" => Ok(()),
            _ => Err("expected a boolean".into()),
        },
        "proxy.istio.io/config" => proxy_config(value),
        "sidecar.istio.io/proxyCPU"
        | "sidecar.istio.io/proxyMemory"
        | "sidecar.istio.io/proxyCPULimit"
        | "sidecar.istio.io/proxyMemoryLimit" => quantity(value),
        _ => Ok(()),
    }
}

/// Every annotation value the injector refuses, in [`VALIDATED`] order.
#[must_use]
pub fn validate_annotations(annotations: &Map<String, Value>) -> Vec<Invalid> {
    VALIDATED
        .iter()
        .filter_map(|key| {
            let value = annotations.get(*key)?;
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            validate(key, &text).err().map(|reason| Invalid {
                annotation: (*key).to_string(),
                value: text,
                reason,
            })
        })
        .collect()
}

/// `parsePort`: a 16-bit unsigned number, surrounding spaces allowed.
fn port(text: &str) -> Result<u16, String> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
        return Err(format!("{text:?} is not a port number"));
    }
    t.strip_prefix('+')
        .unwrap_or(t)
        .parse::<u16>()
        .map_err(|_| format!("{text:?} is not a port number"))
}

/// `parsePorts`: a comma-separated list of ports (an empty value is an empty list).
fn ports(text: &str) -> Result<(), String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(());
    }
    t.split(',').try_for_each(|p| port(p).map(|_| ()))
}

/// `validateCIDRList`: comma-separated prefixes as Go's `netip.ParsePrefix` reads them.
fn cidrs(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    for cidr in text.split(',') {
        if !prefix(cidr) {
            return Err(format!("{cidr:?} is not an IP range (address/bits)"));
        }
    }
    Ok(())
}

fn prefix(text: &str) -> bool {
    let Some((addr, bits)) = text.split_once('/') else {
        return false;
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    if bits.is_empty()
        || !bits.bytes().all(|b| b.is_ascii_digit())
        || (bits.len() > 1 && bits.starts_with('0'))
    {
        return false;
    }
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.parse::<u32>().is_ok_and(|b| b <= max)
}

/// `ValidateInterfaceNames`.
fn interfaces(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Ok(());
    }
    for iface in text.split(',') {
        let iface = iface.trim();
        if iface.is_empty() {
            return Err("empty interface name".into());
        }
        if iface.len() > 15 {
            return Err(format!(
                "interface name {iface:?} is longer than 15 characters"
            ));
        }
        let mut chars = iface.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(format!(
                "interface name {iface:?} contains invalid characters"
            ));
        }
    }
    Ok(())
}

/// `resource.ParseQuantity` (and no control characters).
fn quantity(text: &str) -> Result<(), String> {
    let err = || Err(format!("{text:?} is not a Kubernetes quantity"));
    if text.chars().any(char::is_control) {
        return err();
    }
    let rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    if !number.bytes().any(|b| b.is_ascii_digit()) || number.matches('.').count() > 1 {
        return err();
    }
    let ok = matches!(
        suffix,
        "" | "n"
            | "u"
            | "m"
            | "k"
            | "M"
            | "G"
            | "T"
            | "P"
            | "E"
            | "Ki"
            | "Mi"
            | "Gi"
            | "Ti"
            | "Pi"
            | "Ei"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
    if ok { Ok(()) } else { err() }
}

/// `validateProxyConfig`, on what a file can tell: the value must be a YAML or JSON mapping,
/// and the fields meshready reads must have their types.
fn proxy_config(text: &str) -> Result<(), String> {
    let Some(config) = parse_proxy_config(text) else {
        return Err("not a ProxyConfig mapping".into());
    };
    for key in ["holdApplicationUntilProxyStarts"] {
        if let Some(v) = config.get(key)
            && !v.is_boolean()
        {
            return Err(format!("{key} must be true or false"));
        }
    }
    for key in ["concurrency", "statusPort", "proxyAdminPort"] {
        if let Some(v) = config.get(key)
            && !v.is_i64()
        {
            return Err(format!("{key} must be a number"));
        }
    }
    if let Some(v) = config.get("interceptionMode")
        && !matches!(v.as_str(), Some("REDIRECT" | "TPROXY" | "NONE"))
    {
        return Err("interceptionMode must be REDIRECT, TPROXY or NONE".into());
    }
    Ok(())
}

/// `proxy.istio.io/config` (YAML or JSON) as JSON; `None` when it does not parse as a mapping.
#[must_use]
pub fn parse_proxy_config(text: &str) -> Option<serde_json::Value> {
    let parsed =
        crate::source::yaml::parse_document(text, 1, crate::source::yaml::Limits::default())
            .ok()?;
    match parsed.root {
        None => Some(serde_json::Value::Object(serde_json::Map::new())),
        Some(node) if node.is_map() => Some(node.to_json()),
        Some(node) if node.is_null() => Some(serde_json::Value::Object(serde_json::Map::new())),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_ranges() {
        assert!(validate("traffic.sidecar.istio.io/includeInboundPorts", "*").is_ok());
        assert!(validate("traffic.sidecar.istio.io/includeInboundPorts", "80, 443").is_ok());
        assert!(validate("traffic.sidecar.istio.io/includeInboundPorts", "bad").is_err());
        assert!(validate("traffic.sidecar.istio.io/excludeInboundPorts", "*").is_err());
        assert!(validate("traffic.sidecar.istio.io/excludeOutboundPorts", "65536").is_err());
        assert!(validate("traffic.sidecar.istio.io/excludeOutboundPorts", "").is_ok());
        assert!(validate("traffic.sidecar.istio.io/includeOutboundIPRanges", "*").is_ok());
        assert!(
            validate(
                "traffic.sidecar.istio.io/includeOutboundIPRanges",
                "10.0.0.0/8,fd00::/8"
            )
            .is_ok()
        );
        assert!(validate("traffic.sidecar.istio.io/excludeOutboundIPRanges", "*").is_err());
        assert!(
            validate(
                "traffic.sidecar.istio.io/excludeOutboundIPRanges",
                "10.0.0.0"
            )
            .is_err()
        );
        assert!(
            validate(
                "traffic.sidecar.istio.io/excludeOutboundIPRanges",
                "10.0.0.0/33"
            )
            .is_err()
        );
    }

    #[test]
    fn other_values() {
        assert!(validate("sidecar.istio.io/interceptionMode", "tproxy").is_err());
        assert!(validate("sidecar.istio.io/proxyCPU", "100m").is_ok());
        assert!(validate("sidecar.istio.io/proxyMemory", "1Gi").is_ok());
        assert!(validate("sidecar.istio.io/proxyMemory", "1GB").is_err());
        assert!(validate("sidecar.istio.io/proxyCPU", "1e3").is_ok());
        assert!(validate("prometheus.istio.io/merge-metrics", "yes").is_err());
        assert!(validate("readiness.status.sidecar.istio.io/periodSeconds", "-1").is_err());
        assert!(validate("traffic.sidecar.istio.io/excludeInterfaces", "eth0,net1").is_ok());
        assert!(validate("traffic.sidecar.istio.io/excludeInterfaces", "0eth").is_err());
        assert!(
            validate(
                "proxy.istio.io/config",
                "holdApplicationUntilProxyStarts: true"
            )
            .is_ok()
        );
        assert!(validate("proxy.istio.io/config", "[1]").is_err());
        assert!(
            validate(
                "proxy.istio.io/config",
                "holdApplicationUntilProxyStarts: maybe"
            )
            .is_err()
        );
        assert!(validate("sidecar.istio.io/inject", "whatever").is_ok());
    }
}
