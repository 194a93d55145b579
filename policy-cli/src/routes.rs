//! Istio's translation of VirtualServices into the route table an outbound
//! sidecar listener has for one port, as pilot builds it
//! (istio `pilot/pkg/networking/core/httproute.go`:
//! `buildSidecarOutboundHTTPRouteConfig`, `BuildSidecarOutboundVirtualHosts`,
//! `generateVirtualHostDomains`, `buildCatchAllVirtualHost`; and
//! `pilot/pkg/networking/core/route/route.go`: `BuildSidecarVirtualHostWrapper`,
//! `separateVSHostsAndServices`, `buildSidecarVirtualHostsForVirtualService`,
//! `BuildHTTPRoutesForVirtualService`, `translateRoute`, `TranslateRouteMatch`,
//! `translateHeaderMatch`, `translateQueryParamMatch`, `GetDestinationCluster`,
//! `BuildDefaultHTTPOutboundRoute`). The result is a [`host_tests::RouteTable`]
//! that the host's router simulation runs.
//!
//! ```no_run
//! # fn main() -> Result<(), policy_cli::routes::RoutesError> {
//! use policy_cli::routes::{Service, route_table};
//! let vs: serde_json::Value = serde_json::json!({
//!     "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
//!     "metadata": {"name": "reviews", "namespace": "prod"},
//!     "spec": {"hosts": ["reviews"], "http": [{"route": [{"destination": {"host": "reviews", "subset": "v2"}}]}]}
//! });
//! let services = [Service::new("reviews.prod.svc.cluster.local", [9080])];
//! let table = route_table(&[vs], &services, Some("prod"), 9080)?;
//! assert_eq!(table.name, "9080");
//! # Ok(())
//! # }
//! ```

mod domains;
mod istio;

use std::collections::{BTreeMap, HashSet};

use host_tests::{Route, RouteAction, RouteMatch, RouteTable, VirtualHost};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use istio::RoutesError;

/// A service of the registry: what a test file declares under `services:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `name.namespace.svc.cluster.local`.
    pub fqdn: String,
    /// Defaults to the second label of a Kubernetes FQDN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its HTTP ports.
    pub ports: Vec<u16>,
}

impl Service {
    pub fn new(fqdn: &str, ports: impl IntoIterator<Item = u16>) -> Service {
        Service {
            fqdn: fqdn.to_string(),
            namespace: None,
            ports: ports.into_iter().collect(),
        }
    }

    /// The declared namespace, else the one in a `name.ns.svc.<domain>` FQDN.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace
            .as_deref()
            .or_else(|| domains::kube_namespace(&self.fqdn))
    }
}

/// The client proxy whose outbound routes are built.
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// Its namespace (node metadata `NAMESPACE`): short names match only
    /// there, and `sourceNamespace` is checked against it.
    pub namespace: Option<String>,
    /// Its labels, for `sourceLabels`.
    pub labels: BTreeMap<String, String>,
}

/// Everything the translation reads.
#[derive(Debug, Clone)]
pub struct RouteInputs<'a> {
    /// VirtualService documents (`networking.istio.io/v1`, `v1beta1` or
    /// `v1alpha3`), oldest first: Istio keeps the oldest per host.
    pub virtual_services: &'a [Value],
    pub services: &'a [Service],
    pub client: Client,
    /// The namespace of a VirtualService without `metadata.namespace`
    /// (what `kubectl apply -n` would give it); defaults to the client's,
    /// then `default`.
    pub default_namespace: Option<String>,
    /// The cluster's DNS domain (`cluster.local`).
    pub cluster_domain: String,
    /// The outbound listener port, the route configuration's name.
    pub port: u16,
}

/// A VirtualService Istio does not use for a host, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub virtual_service: String,
    pub namespace: String,
    pub host: String,
    pub reason: String,
}

/// The table and what Istio would have left out.
#[derive(Debug, Clone)]
pub struct Built {
    pub table: RouteTable,
    pub ignored: Vec<Ignored>,
}

/// The route table of a client in `client_namespace` for `port`.
pub fn route_table(
    virtual_services: &[Value],
    services: &[Service],
    client_namespace: Option<&str>,
    port: u16,
) -> Result<RouteTable, RoutesError> {
    let inputs = RouteInputs {
        virtual_services,
        services,
        client: Client {
            namespace: client_namespace.map(str::to_string),
            labels: BTreeMap::new(),
        },
        default_namespace: None,
        cluster_domain: "cluster.local".to_string(),
        port,
    };
    build(&inputs).map(|b| b.table)
}

/// The route table and the VirtualServices Istio ignores.
pub fn build(inputs: &RouteInputs<'_>) -> Result<Built, RoutesError> {
    let port = inputs.port;
    let default_ns = inputs
        .default_namespace
        .clone()
        .or_else(|| inputs.client.namespace.clone())
        .unwrap_or_else(|| "default".to_string());
    let parsed = inputs
        .virtual_services
        .iter()
        .enumerate()
        .map(|(i, v)| istio::VirtualService::parse(i, v, &default_ns, &inputs.cluster_domain))
        .collect::<Result<Vec<_>, _>>()?;

    // `BuildSidecarOutboundVirtualHosts`: the services listening on the
    // port, each reduced to that one port.
    let registry: Vec<&Service> = inputs
        .services
        .iter()
        .filter(|s| s.ports.contains(&port))
        .collect();
    let proxy_domain = inputs
        .client
        .namespace
        .as_ref()
        .map(|ns| format!("{ns}.svc.{}", inputs.cluster_domain));
    let wildcard_index = domains::most_specific_wildcard(&parsed, &registry);

    let mut ignored = Vec::new();
    let mut vhost_names: HashSet<String> = HashSet::new();
    let mut used_domains: HashSet<String> = HashSet::new();
    let known_fqdns: HashSet<String> = registry.iter().map(|s| s.fqdn.clone()).collect();
    let mut covered: HashSet<String> = HashSet::new();
    let mut vhosts = Vec::new();

    for (vi, vs) in parsed.iter().enumerate() {
        if !vs.for_sidecars {
            for host in &vs.hosts {
                ignored.push(vs.ignored(host, "its `gateways` do not include `mesh`"));
            }
            continue;
        }
        let (plain_hosts, services) = domains::separate(vi, vs, &registry, &wildcard_index);
        // `selectVirtualServices`: on ports other than 80 only virtual
        // services naming a service of the registry are used.
        if port != 80 && services.is_empty() {
            continue;
        }
        let routes = vs.routes(port, &inputs.client)?;
        if routes.is_empty() {
            continue;
        }
        for svc in &services {
            covered.insert(svc.fqdn.clone());
        }
        let mut add = |name: String, domains: Vec<String>, alt: Vec<String>, host: &str| {
            if !vhost_names.insert(name.clone()) {
                ignored.push(vs.ignored(
                    host,
                    "an older virtual service already has this host (Istio keeps the oldest)",
                ));
                return;
            }
            let domains = domains::dedupe(domains, &mut used_domains, &alt, &known_fqdns);
            if !domains.is_empty() {
                vhosts.push(VirtualHost {
                    name,
                    domains,
                    routes: routes.clone(),
                });
            }
        };
        for host in &plain_hosts {
            add(
                format!("{host}:{port}"),
                vec![host.clone()],
                Vec::new(),
                host,
            );
        }
        for svc in &services {
            let (domains, alt) = domains::for_service(&svc.fqdn, proxy_domain.as_deref());
            add(format!("{}:{port}", svc.fqdn), domains, alt, &svc.fqdn);
        }
    }
    // Services without a virtual service get Istio's default route.
    for svc in registry.iter().filter(|s| !covered.contains(&s.fqdn)) {
        let name = format!("{}:{port}", svc.fqdn);
        if !vhost_names.insert(name.clone()) {
            continue;
        }
        let (domains, alt) = domains::for_service(&svc.fqdn, proxy_domain.as_deref());
        let domains = domains::dedupe(domains, &mut used_domains, &alt, &known_fqdns);
        if domains.is_empty() {
            continue;
        }
        vhosts.push(VirtualHost {
            name,
            domains,
            routes: vec![default_route(&format!("outbound|{port}||{}", svc.fqdn))],
        });
    }
    // `util.SortVirtualHosts`, then the `allow_any` catch-all last.
    vhosts.sort_by(|a, b| a.name.cmp(&b.name));
    vhosts.push(VirtualHost {
        name: "allow_any".to_string(),
        domains: vec!["*".to_string()],
        routes: vec![Route {
            name: "allow_any".to_string(),
            matcher: RouteMatch {
                prefix: Some("/".to_string()),
                ..RouteMatch::default()
            },
            route: Some(RouteAction {
                cluster: Some("PassthroughCluster".to_string()),
                timeout: Some("0s".to_string()),
                ..RouteAction::default()
            }),
            ..Route::default()
        }],
    });
    Ok(Built {
        table: RouteTable {
            name: port.to_string(),
            virtual_hosts: vhosts,
            ignore_port_in_host_matching: true,
        },
        ignored,
    })
}

/// `BuildDefaultHTTPOutboundRoute`: `default`, every path, the mesh's
/// default retry policy, no timeout.
fn default_route(cluster: &str) -> Route {
    Route {
        name: "default".to_string(),
        matcher: RouteMatch {
            prefix: Some("/".to_string()),
            case_sensitive: Some(true),
            ..RouteMatch::default()
        },
        route: Some(RouteAction {
            cluster: Some(cluster.to_string()),
            timeout: Some("0s".to_string()),
            retry_policy: Some(istio::default_retry_policy()),
            ..RouteAction::default()
        }),
        ..Route::default()
    }
}

#[cfg(test)]
mod tests;
