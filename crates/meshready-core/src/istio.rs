//! Names Istio gives to what it adds to a pod (a leaf module: the model, admission and rules use it).

/// The init container Istio injects without CNI.
pub const ISTIO_INIT: &str = "istio-init";
/// The init container Istio injects with CNI.
pub const ISTIO_VALIDATION: &str = "istio-validation";
/// The sidecar proxy container.
pub const ISTIO_PROXY: &str = "istio-proxy";

/// Whether a container name is one that the injector adds.
#[must_use]
pub fn is_injected_container(name: &str) -> bool {
    matches!(name, ISTIO_INIT | ISTIO_VALIDATION | ISTIO_PROXY)
}

/// The ports Istio's sidecar binds inside every injected pod, from the "Ports used by Istio"
/// table of Istio's application requirements, unchanged for every Istio release meshready
/// supports (1.20 and later): (port, what binds it).
///
/// 15002 is not here: only `istio-validation` binds it (the iptables probe), and only before any
/// application container starts, so an application may use it.
pub const SIDECAR_PORTS: [(i64, &str); 10] = [
    (15000, "Envoy admin"),
    (15001, "outbound traffic capture"),
    (15004, "debug"),
    (15006, "inbound traffic capture"),
    (15008, "HBONE mTLS tunnel"),
    (15009, "HBONE port for secure networks"),
    (15020, "merged Prometheus metrics"),
    (15021, "health checks"),
    (15053, "DNS proxy"),
    (15090, "Envoy Prometheus metrics"),
];

/// What the sidecar binds on `port`, if it binds it.
#[must_use]
pub fn sidecar_port_use(port: i64) -> Option<&'static str> {
    SIDECAR_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, what)| *what)
}

/// The ports ztunnel listens on inside an ambient pod's network namespace (in-pod redirection):
/// (port, what binds it).
pub const ZTUNNEL_POD_PORTS: [(i64, &str); 4] = [
    (15001, "ztunnel's outbound capture"),
    (15006, "ztunnel's plaintext inbound capture"),
    (15008, "ztunnel's HBONE inbound"),
    (15053, "ztunnel's DNS proxy"),
];

/// What ztunnel binds on `port` inside an ambient pod, if it binds it.
#[must_use]
pub fn ztunnel_port_use(port: i64) -> Option<&'static str> {
    ZTUNNEL_POD_PORTS
        .iter()
        .find(|(p, _)| *p == port)
        .map(|(_, what)| *what)
}

/// The port HBONE (mTLS over HTTP/2 CONNECT) traffic arrives on, at ambient pods and at sidecars
/// that take part in an ambient mesh.
pub const HBONE_PORT: i64 = 15008;

/// The source address of kubelet probes to ambient pods: istio-cni SNATs them to this
/// link-local address so that ztunnel lets them through unencrypted.
pub const AMBIENT_PROBE_SOURCE: std::net::Ipv4Addr = std::net::Ipv4Addr::new(169, 254, 7, 127);

/// The label that puts a namespace or pod into ambient mode (`ambient`) or a pod out of it
/// (`none`).
pub const DATAPLANE_MODE_LABEL: &str = "istio.io/dataplane-mode";
