//! The Istio protocol of a port, exactly as Istio's `kube.ConvertProtocol` derives it.
//!
//! Source: istio/istio `pkg/config/kube/conversion.go` (`ConvertProtocol`) and
//! `pkg/config/protocol/instance.go` (`Parse`); see reference/istio.md §3.

use std::fmt;

/// An Istio protocol (`protocol.Instance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// `GRPC`
    Grpc,
    /// `GRPC-Web`
    GrpcWeb,
    /// `HTTP`
    Http,
    /// `HTTP_PROXY`
    HttpProxy,
    /// `HTTP2`
    Http2,
    /// `HTTPS`
    Https,
    /// `TCP`
    Tcp,
    /// `TLS`
    Tls,
    /// `UDP`
    Udp,
    /// `Mongo`
    Mongo,
    /// `Redis`
    Redis,
    /// `MySQL`
    MySql,
    /// `UnsupportedProtocol`: Istio auto-detects (sniffs) the protocol.
    Unsupported,
}

impl Protocol {
    /// Istio's `protocol.Parse`: case-insensitive match of a protocol name.
    #[must_use]
    pub fn parse(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "tcp" => Self::Tcp,
            "udp" => Self::Udp,
            "grpc" => Self::Grpc,
            "grpc-web" => Self::GrpcWeb,
            "http" => Self::Http,
            "http_proxy" => Self::HttpProxy,
            "http2" => Self::Http2,
            "https" => Self::Https,
            "tls" => Self::Tls,
            "mongo" => Self::Mongo,
            "redis" => Self::Redis,
            "mysql" => Self::MySql,
            _ => Self::Unsupported,
        }
    }

    /// Whether Istio has to auto-detect the protocol.
    #[must_use]
    pub fn is_unsupported(self) -> bool {
        self == Self::Unsupported
    }

    /// Istio's name for the protocol.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "GRPC",
            Self::GrpcWeb => "GRPC-Web",
            Self::Http => "HTTP",
            Self::HttpProxy => "HTTP_PROXY",
            Self::Http2 => "HTTP2",
            Self::Https => "HTTPS",
            Self::Tcp => "TCP",
            Self::Tls => "TLS",
            Self::Udp => "UDP",
            Self::Mongo => "Mongo",
            Self::Redis => "Redis",
            Self::MySql => "MySQL",
            Self::Unsupported => "UnsupportedProtocol",
        }
    }
}

/// How the sidecar's inbound listener treats a port: ports whose protocols share a treatment get
/// the same filter chain, so only a difference in treatment is a conflict (SPEC 3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Treatment {
    /// The HTTP connection manager: HTTP, HTTP2, gRPC, gRPC-Web, HTTP_PROXY.
    Http,
    /// TLS passthrough with SNI: TLS and HTTPS.
    Tls,
    /// Opaque TCP proxying: TCP, and MySQL and Redis while Istio's `PILOT_ENABLE_MYSQL_FILTER`
    /// and `PILOT_ENABLE_REDIS_FILTER` are off (their default).
    Tcp,
    /// TCP with Envoy's Mongo filter (`PILOT_ENABLE_MONGO_FILTER`, on by default).
    Mongo,
    /// Not proxied.
    Udp,
    /// Protocol sniffing (an undeclared protocol).
    Sniffed,
}

impl Treatment {
    /// A short description for messages.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::Tls => "TLS",
            Self::Tcp => "opaque TCP",
            Self::Mongo => "Mongo",
            Self::Udp => "UDP",
            Self::Sniffed => "auto-detected",
        }
    }
}

impl fmt::Display for Treatment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Protocol {
    /// The inbound treatment of a port with this protocol (Istio's `IsHTTP` / `IsTLS` families,
    /// with the default filter flags).
    #[must_use]
    pub fn treatment(self) -> Treatment {
        match self {
            Self::Http | Self::Http2 | Self::Grpc | Self::GrpcWeb | Self::HttpProxy => {
                Treatment::Http
            }
            Self::Tls | Self::Https => Treatment::Tls,
            Self::Tcp | Self::MySql | Self::Redis => Treatment::Tcp,
            Self::Mongo => Treatment::Mongo,
            Self::Udp => Treatment::Udp,
            Self::Unsupported => Treatment::Sniffed,
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ports that Istio treats as TCP when their name says nothing (server-first protocols: SMTP,
/// DNS, MySQL, MongoDB).
const WELL_KNOWN_TCP: [i64; 4] = [25, 53, 3306, 27017];

/// Istio's `ConvertProtocol(port, portName, proto, appProto)`.
///
/// `l4` is the Kubernetes `protocol` field (`None` or empty means TCP); `app_protocol` is
/// `Some` whenever the field is present, even when empty, because Istio then ignores the name.
#[must_use]
pub fn convert_protocol(
    port: i64,
    name: &str,
    l4: Option<&str>,
    app_protocol: Option<&str>,
) -> Protocol {
    if l4 == Some("UDP") {
        return Protocol::Udp;
    }
    let name = match app_protocol {
        Some("kubernetes.io/h2c") => return Protocol::Http2,
        Some("kubernetes.io/ws") => return Protocol::Http,
        Some("kubernetes.io/wss") => return Protocol::Https,
        Some(app) => app,
        None => name,
    };
    if name.len() >= 8 && name.is_char_boundary(8) && name[..8].eq_ignore_ascii_case("grpc-web") {
        return Protocol::GrpcWeb;
    }
    let head = name.split_once('-').map_or(name, |(head, _)| head);
    match Protocol::parse(head) {
        Protocol::Unsupported if WELL_KNOWN_TCP.contains(&port) => Protocol::Tcp,
        p => p,
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol::*;
    use super::*;

    #[test]
    fn convert_protocol_cases() {
        // (port, name, l4, appProtocol, expected) — the cases of Istio's conversion_test.go plus
        // every branch of ConvertProtocol.
        type Case<'a> = (i64, &'a str, Option<&'a str>, Option<&'a str>, Protocol);
        let cases: &[Case<'_>] = &[
            (80, "", None, None, Unsupported),
            (80, "", Some("UDP"), None, Udp),
            (80, "http", Some("UDP"), Some("http"), Udp),
            (80, "http-something", None, None, Http),
            (80, "HTTP-foo-bar", Some("TCP"), None, Http),
            (80, "http2foo", None, None, Unsupported),
            (80, "foo-http", None, None, Unsupported),
            (80, "http", None, Some("https"), Https),
            (80, "http", None, Some(""), Unsupported),
            (80, "http", None, Some("unknown"), Unsupported),
            (80, "", None, Some("http-x"), Http),
            (80, "grpc-web-x", None, None, GrpcWeb),
            (80, "GRPC-Web", None, None, GrpcWeb),
            (80, "grpcweb-x", None, None, Unsupported),
            (80, "grpc", None, None, Grpc),
            (80, "tcp", None, None, Tcp),
            (80, "udp", None, None, Udp),
            (80, "http_proxy", None, None, HttpProxy),
            (80, "http2", None, None, Http2),
            (80, "tls-peer", None, None, Tls),
            (80, "mongo", None, None, Mongo),
            (80, "redis", None, None, Redis),
            (80, "mysql-main", None, None, MySql),
            (80, "hbone", None, None, Unsupported),
            (3306, "random-name", None, None, Tcp),
            (25, "", None, None, Tcp),
            (53, "", Some("TCP"), None, Tcp),
            (27017, "", None, None, Tcp),
            (3306, "", None, Some("kubernetes.io/h2c"), Http2),
            (80, "", None, Some("kubernetes.io/ws"), Http),
            (80, "", None, Some("kubernetes.io/wss"), Https),
            (80, "sctp", Some("SCTP"), None, Unsupported),
            (80, "http", Some("SCTP"), None, Http),
        ];
        for &(port, name, l4, app, expected) in cases {
            assert_eq!(
                convert_protocol(port, name, l4, app),
                expected,
                "{port} {name:?} {l4:?} {app:?}"
            );
        }
    }

    #[test]
    fn treatments_group_protocols_as_the_inbound_listener_does() {
        assert_eq!(Http2.treatment(), Http.treatment());
        assert_eq!(Grpc.treatment(), GrpcWeb.treatment());
        assert_eq!(Tls.treatment(), Https.treatment());
        assert_eq!(MySql.treatment(), Tcp.treatment());
        assert_eq!(Redis.treatment(), Tcp.treatment());
        assert_ne!(Mongo.treatment(), Tcp.treatment());
        assert_ne!(Http.treatment(), Tcp.treatment());
        assert_ne!(Https.treatment(), Http.treatment());
        assert_eq!(Unsupported.treatment(), Treatment::Sniffed);
    }

    #[test]
    fn parse_is_case_insensitive_and_display_uses_istio_names() {
        assert_eq!(Protocol::parse("HtTp2"), Http2);
        assert_eq!(GrpcWeb.to_string(), "GRPC-Web");
        assert_eq!(Unsupported.to_string(), "UnsupportedProtocol");
    }
}
