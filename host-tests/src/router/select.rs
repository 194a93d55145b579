//! Compiling a [`RouteTable`] and selecting a route for request headers,
//! as Envoy's `RouteMatcher` (constructor and `findVirtualHost`,
//! `findWildcardVirtualHost`), `VirtualHostImpl::getRouteFromRoutes` and
//! `RouteEntryImplBase::matchRoute` + `*RouteEntryImpl::matches` (envoy
//! `source/common/router/config_impl.cc`).

use std::borrow::Cow;

use crate::header_list::Header;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

use regex::bytes::Regex;

use super::matchers::{HeaderData, PathMatcher, QueryData, compile};
use super::table::{HeaderValueOption, RedirectAction, Route, RouteTable};

/// Where a weighted or single cluster route sends the request.
#[derive(Debug, Clone)]
pub(crate) enum Clusters {
    Single(String),
    /// (name, weight, host rewrite of that cluster), total weight.
    Weighted(Vec<(String, u32, Option<String>)>, u64),
}

#[derive(Debug, Clone)]
pub(crate) enum PathRewrite {
    None,
    Prefix(String),
    /// Pattern and the substitution in the `regex` crate's syntax.
    Regex(Regex, String),
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Route {
        clusters: Clusters,
        host_rewrite: Option<String>,
        rewrite: PathRewrite,
    },
    Redirect(RedirectAction),
    Direct {
        status: u32,
        body: String,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledRoute {
    pub name: String,
    pub path: PathMatcher,
    headers: Vec<HeaderData>,
    query: Vec<QueryData>,
    pub action: Action,
    pub headers_to_add: Vec<HeaderValueOption>,
    pub headers_to_remove: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledVhost {
    pub name: String,
    pub routes: Vec<CompiledRoute>,
}

/// Wildcard domains by the length of their fixed part, longest first.
type Wildcards = BTreeMap<Reverse<usize>, HashMap<String, usize>>;

/// A route table ready for lookups.
#[derive(Debug, Clone)]
pub(crate) struct CompiledTable {
    pub source: RouteTable,
    pub vhosts: Vec<CompiledVhost>,
    exact: HashMap<String, usize>,
    suffixes: Wildcards,
    prefixes: Wildcards,
    default: Option<usize>,
}

/// What the router selected for the current headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    pub vhost: usize,
    pub route: Option<usize>,
    /// The cluster picked (a weighted route picks with the stream's draw).
    pub cluster: Option<String>,
    /// The Host the router will send upstream, when the route rewrites it.
    pub host_rewrite: Option<String>,
}

impl CompiledTable {
    /// Compiles the table; errors name the field (`virtual_hosts[0].routes[2].match.safe_regex`).
    pub(crate) fn compile(table: &RouteTable) -> Result<CompiledTable, String> {
        let mut out = CompiledTable {
            source: table.clone(),
            vhosts: Vec::new(),
            exact: HashMap::new(),
            suffixes: BTreeMap::new(),
            prefixes: BTreeMap::new(),
            default: None,
        };
        for (vi, vh) in table.virtual_hosts.iter().enumerate() {
            let field = format!("virtual_hosts[{vi}]");
            let routes = vh
                .routes
                .iter()
                .enumerate()
                .map(|(ri, r)| compile_route(&format!("{field}.routes[{ri}]"), r))
                .collect::<Result<Vec<_>, _>>()?;
            out.vhosts.push(CompiledVhost {
                name: vh.name.clone(),
                routes,
            });
            for (di, domain) in vh.domains.iter().enumerate() {
                let domain = domain.to_ascii_lowercase();
                let field = format!("{field}.domains[{di}]");
                // `RouteMatcher::RouteMatcher`: one `*`, unique domains.
                let fresh = if domain == "*" {
                    out.default.replace(vi).is_none()
                } else if let Some(rest) = domain.strip_prefix('*') {
                    out.suffixes
                        .entry(Reverse(rest.len()))
                        .or_default()
                        .insert(rest.to_string(), vi)
                        .is_none()
                } else if let Some(rest) = domain.strip_suffix('*') {
                    out.prefixes
                        .entry(Reverse(rest.len()))
                        .or_default()
                        .insert(rest.to_string(), vi)
                        .is_none()
                } else if domain.is_empty() {
                    return Err(format!("{field}: a domain may not be empty"));
                } else {
                    out.exact.insert(domain.clone(), vi).is_none()
                };
                if !fresh {
                    return Err(format!(
                        "{field}: domain `{domain}` appears twice in the route table (Envoy rejects duplicates)"
                    ));
                }
            }
        }
        Ok(out)
    }

    /// `RouteMatcher::findVirtualHost`: the lower-cased `:authority`
    /// (port stripped only with `ignore_port_in_host_matching`), exact
    /// domains, then suffix wildcards, then prefix wildcards, longest
    /// first, then `*`.
    pub(crate) fn find_virtual_host(&self, headers: &[Header]) -> Option<usize> {
        if self.exact.is_empty() && self.suffixes.is_empty() && self.prefixes.is_empty() {
            return self.default;
        }
        let authority = header(headers, ":authority")?;
        let host = if self.source.ignore_port_in_host_matching {
            strip_port(&authority)
        } else {
            &authority
        };
        let host = host.to_ascii_lowercase();
        if let Some(i) = self.exact.get(&host) {
            return Some(*i);
        }
        // `findWildcardVirtualHost`: a wildcard's fixed part must be
        // strictly shorter than the host (`*.foo.com` never matches `.foo.com`).
        let wildcard = |map: &Wildcards, suffix: bool| {
            map.iter().find_map(|(Reverse(len), by)| {
                if *len >= host.len() {
                    return None;
                }
                let part = if suffix {
                    host.get(host.len() - len..)
                } else {
                    host.get(..*len)
                }?;
                by.get(part).copied()
            })
        };
        wildcard(&self.suffixes, true)
            .or_else(|| wildcard(&self.prefixes, false))
            .or(self.default)
    }

    /// The route, first match wins (`getRouteFromRoutes`); a request
    /// without `:path` matches no route (only CONNECT routes accept one,
    /// and this table has none).
    pub(crate) fn select(&self, headers: &[Header], random: u64) -> Option<Selection> {
        let vhost = self.find_virtual_host(headers)?;
        let mut selection = Selection {
            vhost,
            route: None,
            cluster: None,
            host_rewrite: None,
        };
        let Some(path) = header(headers, ":path") else {
            return Some(selection);
        };
        let routes = &self.vhosts.get(vhost)?.routes;
        let Some((ri, route)) = routes.iter().enumerate().find(|(_, r)| {
            r.headers.iter().all(|h| h.matches(headers))
                && r.query.iter().all(|q| q.matches(&path))
                && r.path.matches(&path)
        }) else {
            return Some(selection);
        };
        selection.route = Some(ri);
        if let Action::Route {
            clusters,
            host_rewrite,
            ..
        } = &route.action
        {
            let (cluster, cluster_rewrite) = pick(clusters, random);
            selection.cluster = Some(cluster);
            selection.host_rewrite = cluster_rewrite.or_else(|| host_rewrite.clone());
        }
        Some(selection)
    }

    pub(crate) fn route(&self, s: &Selection) -> Option<&CompiledRoute> {
        self.vhosts.get(s.vhost)?.routes.get(s.route?)
    }

    pub(crate) fn source_route(&self, s: &Selection) -> Option<&Route> {
        self.source.virtual_hosts.get(s.vhost)?.routes.get(s.route?)
    }
}

/// `WeightedClusterSpecifierPlugin::pickWeightedCluster`: the stream's
/// random value modulo the total weight, walked over the clusters in order.
fn pick(clusters: &Clusters, random: u64) -> (String, Option<String>) {
    match clusters {
        Clusters::Single(name) => (name.clone(), None),
        Clusters::Weighted(list, total) => {
            let selected = random % (*total).max(1);
            let mut end = 0u64;
            for (name, weight, rewrite) in list {
                end += u64::from(*weight);
                if selected < end {
                    return (name.clone(), rewrite.clone());
                }
            }
            list.last()
                .map(|(n, _, r)| (n.clone(), r.clone()))
                .unwrap_or_default()
        }
    }
}

/// A header's first value as text: Envoy's matchers compare bytes, and
/// everything this router configures is text, so invalid UTF-8 (replaced
/// by U+FFFD) matches no configured literal either.
pub(crate) fn header<'a>(headers: &'a [Header], name: &str) -> Option<Cow<'a, str>> {
    crate::header_list::text(headers, name)
}

/// `HeaderUtility::getPortStart`: the last `:` outside an IPv6 literal.
pub(crate) fn strip_port(host: &str) -> &str {
    match host.rfind(':') {
        Some(i) if host.rfind(']').is_none_or(|v6_end| v6_end < i) => host.get(..i).unwrap_or(host),
        _ => host,
    }
}

fn compile_route(field: &str, r: &Route) -> Result<CompiledRoute, String> {
    let path = PathMatcher::build(&format!("{field}.match"), &r.matcher)?;
    let headers = r
        .matcher
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| HeaderData::build(&format!("{field}.match.headers[{i}]"), h))
        .collect::<Result<Vec<_>, _>>()?;
    let query = r
        .matcher
        .query_parameters
        .iter()
        .enumerate()
        .map(|(i, q)| QueryData::build(&format!("{field}.match.query_parameters[{i}]"), q))
        .collect::<Result<Vec<_>, _>>()?;
    let set = [
        r.route.is_some(),
        r.redirect.is_some(),
        r.direct_response.is_some(),
    ];
    if set.iter().filter(|s| **s).count() != 1 {
        return Err(format!(
            "{field}: set exactly one of `route`, `redirect`, `direct_response`"
        ));
    }
    let action = if let Some(a) = &r.route {
        let field = format!("{field}.route");
        let clusters = match (&a.cluster, &a.weighted_clusters) {
            (Some(c), None) if !c.is_empty() => Clusters::Single(c.clone()),
            (None, Some(w)) => {
                let total: u64 = w.clusters.iter().map(|c| u64::from(c.weight)).sum();
                if total == 0 || w.clusters.iter().any(|c| c.name.is_empty()) {
                    return Err(format!(
                        "{field}.weighted_clusters: needs named clusters with a total weight above 0"
                    ));
                }
                Clusters::Weighted(
                    w.clusters
                        .iter()
                        .map(|c| (c.name.clone(), c.weight, c.host_rewrite_literal.clone()))
                        .collect(),
                    total,
                )
            }
            _ => {
                return Err(format!(
                    "{field}: set one of `cluster` (not empty) or `weighted_clusters`"
                ));
            }
        };
        let rewrite = match (&a.prefix_rewrite, &a.regex_rewrite) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{field}: specify only one of `prefix_rewrite` and `regex_rewrite`"
                ));
            }
            (Some(p), None) if !p.is_empty() => PathRewrite::Prefix(p.clone()),
            (None, Some(re)) => PathRewrite::Regex(
                compile(&re.pattern).map_err(|e| format!("{field}.regex_rewrite.pattern: {e}"))?,
                re2_substitution(&re.substitution),
            ),
            _ => PathRewrite::None,
        };
        Action::Route {
            clusters,
            host_rewrite: a.host_rewrite_literal.clone().filter(|h| !h.is_empty()),
            rewrite,
        }
    } else if let Some(redirect) = &r.redirect {
        if let Some(code) = redirect.response_code
            && ![301, 302, 303, 307, 308].contains(&code)
        {
            return Err(format!(
                "{field}.redirect.response_code: {code} is not one of 301, 302, 303, 307, 308"
            ));
        }
        Action::Redirect(redirect.clone())
    } else if let Some(d) = &r.direct_response {
        if !(200..=599).contains(&d.status) {
            return Err(format!(
                "{field}.direct_response.status: {} is outside 200..=599",
                d.status
            ));
        }
        Action::Direct {
            status: d.status,
            body: d.body.clone().unwrap_or_default(),
        }
    } else {
        return Err(format!("{field}: no action"));
    };
    Ok(CompiledRoute {
        name: r.name.clone(),
        path,
        headers,
        query,
        action,
        headers_to_add: r.request_headers_to_add.clone(),
        headers_to_remove: r
            .request_headers_to_remove
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect(),
    })
}

/// RE2's `\1` groups (and `\\`) in the `regex` crate's `${1}` syntax.
fn re2_substitution(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    chars.next();
                    out.push_str(&format!("${{{d}}}"));
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
