//! Which services a VirtualService's hosts cover, and the domains Istio
//! gives each virtual host (istio `httproute.go`:
//! `generateVirtualHostDomains`, `GenerateAltVirtualHosts`,
//! `generateAltVirtualHostsForKubernetesService`, `dedupeDomains`; and
//! `route.go`: `separateVSHostsAndServices`).

use std::collections::{HashMap, HashSet};

use super::Service;
use super::istio::VirtualService;

/// `name.ns.svc.<domain>` -> `ns`.
pub(super) fn kube_namespace(fqdn: &str) -> Option<&str> {
    let svc = fqdn.find(".svc.")?;
    let first = fqdn.find('.')?;
    let ns = fqdn.get(first + 1..svc)?;
    (!ns.is_empty() && !ns.contains('.')).then_some(ns)
}

/// Istio's `host.Name.Matches`: `*.a.b` covers `x.a.b` (and `*` covers
/// everything); two names are equal otherwise.
pub(super) fn host_matches(pattern: &str, name: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match pattern.strip_prefix('*') {
        Some(suffix) => name.ends_with(suffix) && name.len() > suffix.len(),
        None => pattern == name,
    }
}

/// For each service, the virtual service (by index) whose wildcard host
/// covers it most specifically (`MostSpecificWildcardVirtualServiceIndex`):
/// the longest wildcard, the older virtual service on a tie.
pub(super) fn most_specific_wildcard(
    vss: &[VirtualService],
    registry: &[&Service],
) -> HashMap<String, usize> {
    let mut best: HashMap<String, (usize, usize)> = HashMap::new();
    for (vi, vs) in vss.iter().enumerate() {
        for host in vs.hosts.iter().filter(|h| h.starts_with('*')) {
            for svc in registry.iter().filter(|s| host_matches(host, &s.fqdn)) {
                let better = best.get(&svc.fqdn).is_none_or(|(len, _)| host.len() > *len);
                if better {
                    best.insert(svc.fqdn.clone(), (host.len(), vi));
                }
            }
        }
    }
    best.into_iter().map(|(k, (_, vi))| (k, vi)).collect()
}

/// `separateVSHostsAndServices`: hosts that are no service of the
/// registry, and the services the virtual service covers.
pub(super) fn separate<'a>(
    vi: usize,
    vs: &VirtualService,
    registry: &[&'a Service],
    wildcard_index: &HashMap<String, usize>,
) -> (Vec<String>, Vec<&'a Service>) {
    let mut plain = Vec::new();
    let mut services: Vec<&Service> = Vec::new();
    for host in vs.hosts.iter().filter(|h| !h.starts_with('*')) {
        match registry.iter().find(|s| s.fqdn == *host) {
            Some(svc) => services.push(*svc),
            None => plain.push(host.clone()),
        }
    }
    for host in vs.hosts.iter().filter(|h| h.starts_with('*')) {
        let mut found = false;
        for svc in registry.iter().filter(|s| host_matches(host, &s.fqdn)) {
            found = true;
            if wildcard_index.get(&svc.fqdn) == Some(&vi) && !services.contains(svc) {
                services.push(*svc);
            }
        }
        if !found {
            plain.push(host.clone());
        }
    }
    (plain, services)
}

/// `generateVirtualHostDomains` for a sidecar (ports are not appended:
/// the route configuration ignores the port in host matching): the FQDN,
/// then the short forms a client in `proxy_domain` (`<ns>.svc.<domain>`)
/// may use. Returns (domains, the short forms).
pub(super) fn for_service(fqdn: &str, proxy_domain: Option<&str>) -> (Vec<String>, Vec<String>) {
    let alt = proxy_domain.map(|d| alt_hosts(fqdn, d)).unwrap_or_default();
    let mut domains = vec![fqdn.to_string()];
    domains.extend(alt.iter().cloned());
    (domains, alt)
}

/// `GenerateAltVirtualHosts` / `generateAltVirtualHostsForKubernetesService`
/// without ports: in the client's namespace `name`, `name.ns.svc`,
/// `name.ns`; elsewhere `name.ns`, `name.ns.svc`. A host that is not a
/// Kubernetes service of the client's cluster domain gets none.
fn alt_hosts(fqdn: &str, proxy_domain: &str) -> Vec<String> {
    let Some(id) = proxy_domain.find(".svc.") else {
        return Vec::new();
    };
    // `removeSvcNamespace`: `ns.svc.cluster.local` -> `svc.cluster.local`.
    let shared = proxy_domain
        .split_once('.')
        .map_or(proxy_domain, |(_, rest)| rest);
    if !fqdn.ends_with(shared) {
        return Vec::new();
    }
    let (Some(ih), Some(ns)) = (fqdn.find(".svc."), fqdn.find('.')) else {
        return Vec::new();
    };
    if ns + 1 > ih {
        return Vec::new();
    }
    let (Some(name), Some(name_ns), Some(client_ns), Some(svc_ns)) = (
        fqdn.get(..ns),
        fqdn.get(..ih),
        proxy_domain.get(..id),
        fqdn.get(ns + 1..ih),
    ) else {
        return Vec::new();
    };
    if svc_ns == client_ns {
        vec![
            name.to_string(),
            format!("{name_ns}.svc"),
            name_ns.to_string(),
        ]
    } else {
        vec![name_ns.to_string(), format!("{name_ns}.svc")]
    }
}

/// `dedupeDomains`: a domain an earlier virtual host has is dropped, and
/// so is a short form that is the FQDN of a known service.
pub(super) fn dedupe(
    domains: Vec<String>,
    used: &mut HashSet<String>,
    alt: &[String],
    known_fqdns: &HashSet<String>,
) -> Vec<String> {
    domains
        .into_iter()
        .filter(|d| {
            let lower = d.to_ascii_lowercase();
            if used.contains(&lower) || (alt.contains(d) && known_fqdns.contains(d)) {
                return false;
            }
            used.insert(lower);
            true
        })
        .collect()
}
