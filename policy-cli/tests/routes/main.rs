//! The article's VirtualServices (`shared/examples/istio`) translated as
//! Istio does, run through the host's router simulation around a
//! pass-through guest: where each request lands.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use host_tests::{Action, Plugin, PluginOptions, RouteTable};
use policy_cli::routes::{Client, RouteInputs, Service, build};
use policy_cli::source::{ReadSource, SourceFile, parse_documents};
use serde_json::Value;

const ISTIO: &str = "../../shared/examples/istio";

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The article's VirtualServices, `reviews-route` first: Istio keeps the
/// oldest VirtualService of a host, and this order makes the article's
/// rewrite the one in force (the canary is then reported as ignored).
fn article_virtual_services() -> Vec<Value> {
    let mut out = Vec::new();
    for file in ["reviews-route.virtualservice.yaml", "reviews-canary.yaml"] {
        let path = crate_dir().join(ISTIO).join(file);
        let source =
            SourceFile::read(&path).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        for doc in parse_documents(&source).unwrap() {
            if doc.kind() == Some("VirtualService") {
                out.push(doc.value.clone());
            }
        }
    }
    assert_eq!(out.len(), 2, "the article has two VirtualServices");
    out
}

fn services() -> Vec<Service> {
    vec![
        Service::new("reviews.prod.svc.cluster.local", [9080]),
        Service::new("ratings.prod.svc.cluster.local", [9080]),
    ]
}

fn table() -> (RouteTable, Vec<String>) {
    let vss = article_virtual_services();
    let svcs = services();
    let built = build(&RouteInputs {
        virtual_services: &vss,
        services: &svcs,
        client: Client {
            namespace: Some("prod".to_string()),
            ..Client::default()
        },
        // The article's VirtualServices have no namespace: applied in `prod`.
        default_namespace: Some("prod".to_string()),
        cluster_domain: "cluster.local".to_string(),
        port: 9080,
    })
    .unwrap();
    let ignored = built
        .ignored
        .iter()
        .map(|i| format!("{} {}", i.virtual_service, i.host))
        .collect();
    (built.table, ignored)
}

fn plugin(table: RouteTable) -> Plugin {
    // the pass-through guest (`make guests`)
    let module = test_kit::guest("floor");
    Plugin::start(
        &module,
        PluginOptions {
            route_table: Some(table),
            ..PluginOptions::default()
        },
    )
    .unwrap()
}

/// Where a request landed: (cluster, upstream path, local status, response
/// flag).
type Landed = (
    Option<String>,
    Option<String>,
    Option<u32>,
    Option<&'static str>,
);

fn send(plugin: &mut Plugin, authority: &str, path: &str) -> Landed {
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority),
        ],
        true,
    );
    assert_eq!(action, Action::Continue, "the guest passes everything");
    let upstream_path = stream
        .request_headers_seen_upstream()
        .and_then(|h| h.into_iter().find(|(k, _)| k == ":path").map(|(_, v)| v));
    (
        stream.upstream_cluster(),
        upstream_path,
        stream.local_response().map(|l| l.status),
        stream.response_flag(),
    )
}

/// [`send`] through a fresh plugin with the article's route table.
fn land(authority: &str, path: &str) -> Landed {
    let (table, _) = table();
    send(&mut plugin(table), authority, path)
}

#[test]
fn the_article_rewrite_lands_on_reviews_v2_with_the_new_path() {
    let (table, ignored) = table();
    assert_eq!(ignored, ["reviews reviews.prod.svc.cluster.local"]);
    let mut plugin = plugin(table);
    let (cluster, path, local, _) = send(&mut plugin, "reviews:9080", "/wpcatalog/books?id=1");
    assert_eq!(
        cluster.as_deref(),
        Some("outbound|9080|v2|reviews.prod.svc.cluster.local")
    );
    assert_eq!(path.as_deref(), Some("/newcatalog/books?id=1"));
    assert_eq!(local, None);
}

#[test]
fn a_declared_service_without_a_virtual_service_lands_on_its_default_cluster_unchanged() {
    let (cluster, path, _, _) = land(
        "ratings.prod.svc.cluster.local:9080",
        "/wpcatalog/books?id=1",
    );
    assert_eq!(
        cluster.as_deref(),
        Some("outbound|9080||ratings.prod.svc.cluster.local")
    );
    assert_eq!(path.as_deref(), Some("/wpcatalog/books?id=1"));
}

#[test]
fn an_undeclared_host_lands_on_the_passthrough_cluster() {
    let (cluster, _, _, _) = land("api.example.org", "/wpcatalog");
    assert_eq!(cluster.as_deref(), Some("PassthroughCluster"));
}

#[test]
fn a_host_whose_routes_do_not_match_gets_404_nr() {
    let (cluster, path, local, flag) = land("reviews", "/reviews/1");
    assert_eq!((cluster, path), (None, None));
    assert_eq!((local, flag), (Some(404), Some("NR")));
}
