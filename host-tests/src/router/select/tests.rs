use super::*;
use crate::router::table::{ClusterWeight, RouteAction, RouteMatch, VirtualHost, WeightedClusters};

fn cluster_route(name: &str, prefix: &str, cluster: &str) -> Route {
    Route {
        name: name.into(),
        matcher: RouteMatch {
            prefix: Some(prefix.into()),
            ..RouteMatch::default()
        },
        route: Some(RouteAction {
            cluster: Some(cluster.into()),
            ..RouteAction::default()
        }),
        ..Route::default()
    }
}

fn vhost(name: &str, domains: &[&str]) -> VirtualHost {
    VirtualHost {
        name: name.into(),
        domains: domains.iter().map(|d| d.to_string()).collect(),
        routes: vec![cluster_route(name, "/", name)],
    }
}

fn table(vhosts: Vec<VirtualHost>) -> CompiledTable {
    CompiledTable::compile(&RouteTable {
        name: "80".into(),
        virtual_hosts: vhosts,
        ignore_port_in_host_matching: false,
    })
    .unwrap()
}

fn request(authority: &str, path: &str) -> crate::header_list::Headers {
    crate::header_list::bytes(&[
        (":authority", authority),
        (":path", path),
        (":method", "GET"),
    ])
}

fn vhost_name(t: &CompiledTable, authority: &str) -> Option<String> {
    let i = t.find_virtual_host(&request(authority, "/"))?;
    Some(t.vhosts[i].name.clone())
}

#[test]
fn exact_domains_win_then_longest_suffix_then_prefix_then_star() {
    let t = table(vec![
        vhost("exact", &["api.example.com"]),
        vhost("short-suffix", &["*.com"]),
        vhost("long-suffix", &["*.example.com"]),
        vhost("prefix", &["api.*"]),
        vhost("star", &["*"]),
    ]);
    assert_eq!(vhost_name(&t, "API.example.com").as_deref(), Some("exact"));
    assert_eq!(
        vhost_name(&t, "web.example.com").as_deref(),
        Some("long-suffix")
    );
    assert_eq!(
        vhost_name(&t, "web.other.com").as_deref(),
        Some("short-suffix")
    );
    assert_eq!(vhost_name(&t, "api.other.org").as_deref(), Some("prefix"));
    assert_eq!(vhost_name(&t, "other.org").as_deref(), Some("star"));
    // A wildcard's fixed part must be shorter than the host.
    assert_eq!(
        vhost_name(&t, ".example.com").as_deref(),
        Some("short-suffix")
    );
}

#[test]
fn the_port_is_part_of_the_host_unless_ignored() {
    let vhosts = vec![vhost("reviews", &["reviews"]), vhost("star", &["*"])];
    let t = table(vhosts.clone());
    assert_eq!(vhost_name(&t, "reviews:9080").as_deref(), Some("star"));
    let t = CompiledTable::compile(&RouteTable {
        name: "9080".into(),
        virtual_hosts: vhosts,
        ignore_port_in_host_matching: true,
    })
    .unwrap();
    assert_eq!(vhost_name(&t, "reviews:9080").as_deref(), Some("reviews"));
    assert_eq!(strip_port("[::1]:80"), "[::1]");
    assert_eq!(strip_port("[::1]"), "[::1]");
}

#[test]
fn no_authority_finds_no_virtual_host_unless_only_star_exists() {
    let t = table(vec![vhost("a", &["a"]), vhost("star", &["*"])]);
    assert_eq!(t.find_virtual_host(&[]), None);
    let t = table(vec![vhost("star", &["*"])]);
    assert_eq!(t.find_virtual_host(&[]), Some(0));
}

#[test]
fn first_matching_route_wins_and_no_match_selects_no_route() {
    let mut v = vhost("h", &["h"]);
    v.routes = vec![
        cluster_route("api", "/api", "api"),
        cluster_route("all", "/a", "all"),
    ];
    let t = table(vec![v]);
    let s = t.select(&request("h", "/api/x"), 0).unwrap();
    assert_eq!(s.cluster.as_deref(), Some("api"));
    let s = t.select(&request("h", "/abc"), 0).unwrap();
    assert_eq!(s.cluster.as_deref(), Some("all"));
    let s = t.select(&request("h", "/zzz"), 0).unwrap();
    assert_eq!((s.route, s.cluster), (None, None));
    assert_eq!(t.select(&request("nohost", "/"), 0), None);
}

#[test]
fn weighted_clusters_pick_by_random_modulo_total_weight() {
    let mut v = vhost("h", &["h"]);
    v.routes = vec![Route {
        name: "split".into(),
        route: Some(RouteAction {
            weighted_clusters: Some(WeightedClusters {
                clusters: vec![
                    ClusterWeight {
                        name: "v1".into(),
                        weight: 90,
                        host_rewrite_literal: None,
                    },
                    ClusterWeight {
                        name: "v2".into(),
                        weight: 10,
                        host_rewrite_literal: Some("v2.internal".into()),
                    },
                ],
            }),
            host_rewrite_literal: Some("route.internal".into()),
            ..RouteAction::default()
        }),
        ..Route::default()
    }];
    let t = table(vec![v]);
    let pick = |r: u64| t.select(&request("h", "/"), r).unwrap();
    assert_eq!(pick(89).cluster.as_deref(), Some("v1"));
    assert_eq!(pick(89).host_rewrite.as_deref(), Some("route.internal"));
    assert_eq!(pick(90).cluster.as_deref(), Some("v2"));
    assert_eq!(pick(190).host_rewrite.as_deref(), Some("v2.internal"));
}

#[test]
fn invalid_tables_are_errors_naming_the_field() {
    let err = CompiledTable::compile(&RouteTable {
        virtual_hosts: vec![vhost("a", &["x"]), vhost("b", &["X"])],
        ..RouteTable::default()
    })
    .unwrap_err();
    assert!(err.starts_with("virtual_hosts[1].domains[0]"), "{err}");
    let mut v = vhost("a", &["a"]);
    v.routes[0].redirect = Some(RedirectAction::default());
    let err = CompiledTable::compile(&RouteTable {
        virtual_hosts: vec![v],
        ..RouteTable::default()
    })
    .unwrap_err();
    assert!(
        err.starts_with("virtual_hosts[0].routes[0]: set exactly one"),
        "{err}"
    );
}

#[test]
fn re2_groups_become_regex_crate_groups() {
    assert_eq!(re2_substitution(r"/v\1/\2$"), "/v${1}/${2}$$");
}
