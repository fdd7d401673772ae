//! The Services: a headless one for the members' stable DNS names (and their metrics), one for clients, and
//! one for clients of the observers.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};

use super::meta::{
    client_ports, client_service_name, headless_service_name, member_ports, observer_labels,
    observers_service_name, owned_meta, selector_labels,
};
use crate::types::ZkEnsemble;

fn port(name: &str, number: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port: number,
        ..ServicePort::default()
    }
}

/// Headless Service publishing not-ready addresses, so a joiner resolves before it is ready. With
/// `spec.metrics.enabled` it also names the members' `metrics` port, so a `ServiceMonitor` or an endpoints
/// scrape config finds every member's `/metrics` through it.
pub fn headless_service(zk: &ZkEnsemble) -> Service {
    let ports = member_ports(zk)
        .into_iter()
        .map(|(name, number)| port(name, number))
        .collect();
    Service {
        metadata: owned_meta(zk, headless_service_name(zk), selector_labels(zk)),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(zk)),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The client Service, of the type and with the annotations the spec asks for; it routes to every member,
/// voters and observers.
pub fn client_service(zk: &ZkEnsemble) -> Service {
    client_service_selecting(zk, client_service_name(zk), selector_labels(zk))
}

/// The observers' client Service, `<name>-observers`, for read-heavy clients: like the client Service, but it
/// routes to the observers only (none while `spec.observers` is 0).
pub fn observers_service(zk: &ZkEnsemble) -> Service {
    let mut selector = selector_labels(zk);
    selector.extend(observer_labels());
    client_service_selecting(zk, observers_service_name(zk), selector)
}

fn client_service_selecting(
    zk: &ZkEnsemble,
    name: String,
    selector: BTreeMap<String, String>,
) -> Service {
    let mut metadata = owned_meta(zk, name, selector_labels(zk));
    if !zk.spec.client_service.annotations.is_empty() {
        metadata.annotations = Some(zk.spec.client_service.annotations.clone());
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(zk.spec.client_service.type_.clone()),
            selector: Some(selector),
            ports: Some(
                client_ports(zk)
                    .into_iter()
                    .map(|(name, number)| port(name, number))
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
