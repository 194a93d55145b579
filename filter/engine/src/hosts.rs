//! Which virtual service governs a request (SPEC §2.1): Istio's host names
//! and the domains a sidecar's outbound virtual hosts answer to.
//!
//! Istio resolves a short host (`reviews`) in the VirtualService's namespace
//! (`pkg/config/host` `ResolveShortnameToFQDN`: a name without a dot gets
//! `.<namespace>.svc.<domain suffix>`); a name with a dot is taken as written.
//! For a `<name>.<ns>.svc.cluster.local` host a sidecar's virtual host answers
//! to the FQDN, `<name>.<ns>.svc`, `<name>.<ns>` and, for a client in `<ns>`
//! only, the bare `<name>` (pilot `httproute.go` `generateVirtualHostDomains`);
//! the router compares the `Host` header with its port stripped for these, and
//! lower-case. Exact domains win over wildcard suffixes (`*.example.com`), the
//! longest suffix first; `*` alone matches every host last (Envoy's
//! `RouteMatcher::findVirtualHost`).

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Errors, FieldPath, PolicyErrorKind, ToFieldPath};

/// The cluster-local suffix of a Kubernetes service FQDN.
pub(crate) const CLUSTER_SUFFIX: &str = ".svc.cluster.local";

/// A host of a virtual service, resolved as Istio resolves it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum HostName {
    /// An exact, lower-case name (an FQDN for a resolved short name).
    Exact(String),
    /// `*.suffix`: the suffix with its leading dot (`.example.com`).
    Suffix(String),
    /// `*`: every host.
    Any,
}

impl HostName {
    /// The host as Istio names it (`reviews.prod.svc.cluster.local`,
    /// `*.example.com`, `*`).
    pub(crate) fn as_istio(&self) -> String {
        match self {
            HostName::Exact(h) => h.clone(),
            HostName::Suffix(s) => format!("*{s}"),
            HostName::Any => "*".to_owned(),
        }
    }
}

/// Resolves a destination or VirtualService host: a name without a dot is a
/// short service name in `namespace`. `None` when it is short and there is
/// no namespace to resolve it in.
pub(crate) fn resolve(host: &str, namespace: Option<&str>) -> Option<String> {
    // one allocation: called per destination at configure
    if host.contains('.') || host.contains('*') {
        return Some(host.trim_end_matches('.').to_ascii_lowercase());
    }
    let ns = namespace?;
    let mut fqdn = String::with_capacity(host.len() + 1 + ns.len() + CLUSTER_SUFFIX.len());
    fqdn.push_str(host);
    fqdn.make_ascii_lowercase();
    fqdn.push('.');
    fqdn.push_str(ns);
    fqdn.push_str(CLUSTER_SUFFIX);
    Some(fqdn)
}

/// Validates one entry of a virtual service's `hosts` (Istio's
/// `validation.ValidateWildcardDomain`: no empty host, `*` only as the whole
/// first label) and resolves it.
pub(crate) fn parse_host(
    raw: &str,
    namespace: Option<&str>,
    path: &impl ToFieldPath,
    errors: &mut Errors,
) -> Option<HostName> {
    if raw.is_empty() {
        errors.push(path, PolicyErrorKind::EmptyHost);
        return None;
    }
    if raw == "*" {
        return Some(HostName::Any);
    }
    let (wild, rest) = match raw.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, raw),
    };
    if rest.contains('*') {
        errors.push(
            path,
            PolicyErrorKind::MisplacedWildcard {
                raw: raw.to_owned(),
            },
        );
        return None;
    }
    let valid = rest.len() <= 255
        && rest.trim_end_matches('.').split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !valid {
        errors.push(
            path,
            PolicyErrorKind::NotDnsName {
                raw: raw.to_owned(),
            },
        );
        return None;
    }
    if wild {
        return Some(HostName::Suffix(format!(
            ".{}",
            rest.to_ascii_lowercase().trim_end_matches('.')
        )));
    }
    match resolve(rest, namespace) {
        Some(h) => Some(HostName::Exact(h)),
        None => {
            errors.push(
                path,
                PolicyErrorKind::ShortHostWithoutNamespace {
                    raw: raw.to_owned(),
                },
            );
            None
        }
    }
}

/// A policy host and the group of virtual services that govern it.
#[derive(Debug, Clone)]
pub(crate) struct HostEntry {
    /// As Istio names it.
    pub(crate) name: Arc<str>,
    pub(crate) group: u32,
}

/// Host name -> the group of virtual services that govern it.
#[derive(Debug, Default)]
pub(crate) struct HostTable {
    exact: HostMap,
    suffix: HostMap,
    any: Option<HostEntry>,
}

/// Looked up per request with the request's host. foldhash instead of
/// SipHash: several times fewer instructions per lookup on the `.wasm`, and
/// flooding does not apply (the keys are the policy's, requests only look up).
/// Keyed by the name's bytes, so a key built per request needs no UTF-8 check.
type HostMap = HashMap<Box<[u8]>, HostEntry, foldhash::fast::FixedState>;

impl HostTable {
    pub(crate) fn insert(&mut self, host: &HostName, name: Arc<str>, group: u32) {
        let entry = HostEntry { name, group };
        match host {
            HostName::Exact(h) => {
                self.exact.insert(h.as_bytes().into(), entry);
            }
            HostName::Suffix(s) => {
                self.suffix.insert(s.as_bytes().into(), entry);
            }
            HostName::Any => self.any = Some(entry),
        }
    }

    /// The entry of a host as inserted.
    pub(crate) fn entry_of(&self, host: &HostName) -> Option<&HostEntry> {
        match host {
            HostName::Exact(h) => self.exact.get(h.as_bytes()),
            HostName::Suffix(s) => self.suffix.get(s.as_bytes()),
            HostName::Any => self.any.as_ref(),
        }
    }

    /// Whether no host is covered.
    pub(crate) fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffix.is_empty() && self.any.is_none()
    }

    /// The group for a request's `:authority` (port stripped, lower-cased)
    /// from a client in `client_ns`.
    pub(crate) fn find(
        &self,
        authority: &str,
        client_ns: Option<&str>,
    ) -> Option<(&HostEntry, Found)> {
        let host = strip_port(authority);
        let lower;
        let host = if crate::request::bytes::has_ascii_uppercase(host.as_bytes()) {
            lower = host.to_ascii_lowercase();
            lower.as_str()
        } else {
            host
        };
        // the FQDN with a trailing dot is the FQDN (and nothing else is)
        if let Some(fqdn) = host.strip_suffix('.') {
            return self.exact.get(fqdn.as_bytes()).map(|g| (g, Found::Exact));
        }
        if host.is_empty() {
            return self.any.as_ref().map(|g| (g, Found::Any));
        }
        if let Some(g) = self.exact.get(host.as_bytes()) {
            return Some((g, Found::Exact));
        }
        // `<name>.<ns>`, `<name>.<ns>.svc`, `<name>.<ns>.svc.cluster`: the
        // service's FQDN, for a client in any namespace; the bare `<name>`
        // only for a client in `<ns>` (generateAltVirtualHosts shares the
        // proxy's DNS domain `<client ns>.svc.cluster.local`).
        // A proxy without a namespace has no DNS domain to share, and Istio
        // generates none of these forms for it.
        let dots = match client_ns {
            Some(_) => host.bytes().filter(|&b| b == b'.').count(),
            None => 0,
        };
        let fqdn: Option<&[&str]> = match (dots, client_ns) {
            (_, None) => None,
            (0, Some(ns)) => Some(&[host, ".", ns, CLUSTER_SUFFIX]),
            (1, Some(_)) => Some(&[host, CLUSTER_SUFFIX]),
            (2, Some(_)) if host.ends_with(".svc") => Some(&[host, ".cluster.local"]),
            (3, Some(_)) if host.ends_with(".svc.cluster") => Some(&[host, ".local"]),
            _ => None,
        };
        if let Some(g) = fqdn.and_then(|parts| get_joined(&self.exact, parts)) {
            let how = if dots == 0 {
                Found::ShortName
            } else {
                Found::Alias
            };
            return Some((g, how));
        }
        // wildcard suffixes, the longest first: `a.b.c` tries `.b.c`, `.c`
        // (a request for a host the policy does not cover ends here: skip
        // the walk when there is no wildcard host)
        if !self.suffix.is_empty() {
            let mut rest = host;
            while let Some(i) = rest.bytes().position(|b| b == b'.') {
                let suffix = rest.get(i..).unwrap_or("");
                if let Some(g) = self.suffix.get(suffix.as_bytes()) {
                    return Some((g, Found::Suffix));
                }
                rest = suffix.get(1..).unwrap_or("");
            }
        }
        self.any.as_ref().map(|g| (g, Found::Any))
    }

    /// The group of a virtual host named as Istio names them (`<host>:<port>`),
    /// from `xds.virtual_host_name`.
    pub(crate) fn find_virtual_host(&self, name: &str) -> Option<&HostEntry> {
        let host = match name.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => name,
        };
        if host == "*" {
            return self.any.as_ref();
        }
        if let Some(suffix) = host.strip_prefix('*') {
            return self.suffix.get(suffix.as_bytes());
        }
        self.exact.get(host.as_bytes())
    }
}

/// `map[parts.concat()]`, per request without allocating: the key is built
/// in a stack buffer that holds any host a policy can name (a host is at most
/// 255 bytes); a longer one (only from a request) is built on the heap.
fn get_joined<'m>(map: &'m HostMap, parts: &[&str]) -> Option<&'m HostEntry> {
    let mut buf = [0u8; 384];
    let mut len = 0usize;
    for part in parts {
        let end = len.checked_add(part.len())?;
        match buf.get_mut(len..end) {
            Some(dst) => dst.copy_from_slice(part.as_bytes()),
            None => return map.get(parts.concat().as_bytes()),
        }
        len = end;
    }
    map.get(buf.get(..len)?)
}

/// How a request's host matched a virtual service's domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// The host itself (or with a trailing dot).
    Exact,
    /// `<name>.<ns>`, `<name>.<ns>.svc` or `<name>.<ns>.svc.cluster`.
    Alias,
    /// The bare short name, from a client in the service's namespace.
    ShortName,
    /// A `*.suffix` host.
    Suffix,
    /// The `*` host.
    Any,
    /// The virtual host Envoy selected (`xds.virtual_host_name`).
    VirtualHost,
}

impl Found {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Found::Exact => "exact host",
            Found::Alias => "the service's `name.namespace` form",
            Found::ShortName => "short name, client in the service's namespace",
            Found::Suffix => "wildcard host",
            Found::Any => "the `*` host",
            Found::VirtualHost => "the virtual host Envoy selected (`xds.virtual_host_name`)",
        }
    }
}

/// `host:port` -> `host`; `[::1]:80` -> `[::1]`.
pub(crate) fn strip_port(authority: &str) -> &str {
    // the last `:`, unless a `]` follows it (an IPv6 literal), in one scan
    match crate::request::bytes::last_of_two(authority.as_bytes(), b':', b']') {
        (Some(i), bracket) if bracket.is_none_or(|b| b < i) => {
            authority.get(..i).unwrap_or(authority)
        }
        _ => authority,
    }
}

/// `spec.virtualServices[v]`.
pub(crate) fn vs_path(v: usize) -> FieldPath {
    FieldPath::fields(&["spec", "virtualServices"]).index(v)
}

#[cfg(test)]
mod tests;
