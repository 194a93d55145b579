use super::*;
use serde_json::json;

const REVIEWS: &str = "reviews.prod.svc.cluster.local";
const RATINGS: &str = "ratings.prod.svc.cluster.local";

/// The article's VirtualServices (`shared/examples/istio`), as JSON.
fn reviews_route() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
        "metadata": {"name": "reviews-route"},
        "spec": {"hosts": [REVIEWS], "http": [{
            "match": [{"uri": {"prefix": "/wpcatalog"}}, {"uri": {"prefix": "/consumercatalog"}}],
            "rewrite": {"uri": "/newcatalog"},
            "route": [{"destination": {"host": REVIEWS, "subset": "v2"}}]
        }]}
    })
}

fn reviews_canary() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1beta1", "kind": "VirtualService",
        "metadata": {"name": "reviews"},
        "spec": {"hosts": ["reviews"], "http": [{"route": [
            {"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
            {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10}
        ]}]}
    })
}

/// VirtualService `r` in `prod` for host `reviews`, with these `http` rules.
fn vs_r_for_reviews(http: Value) -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "r", "namespace": "prod"},
        "spec": {"hosts": ["reviews"], "http": http}
    })
}

fn services() -> Vec<Service> {
    vec![Service::new(REVIEWS, [9080]), Service::new(RATINGS, [9080])]
}

fn inputs<'a>(vss: &'a [Value], services: &'a [Service], client_ns: &str) -> RouteInputs<'a> {
    RouteInputs {
        virtual_services: vss,
        services,
        client: Client {
            namespace: Some(client_ns.to_string()),
            labels: BTreeMap::new(),
        },
        default_namespace: Some("prod".to_string()),
        cluster_domain: "cluster.local".to_string(),
        port: 9080,
    }
}

/// The route table of a client in `client_ns` for these VirtualServices
/// and [`services`].
fn built_for(vss: &[Value], client_ns: &str) -> Built {
    build(&inputs(vss, &services(), client_ns)).unwrap()
}

fn table_for(vss: &[Value], client_ns: &str) -> RouteTable {
    built_for(vss, client_ns).table
}

fn vhost<'a>(table: &'a RouteTable, name: &str) -> &'a VirtualHost {
    table
        .virtual_hosts
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("no virtual host `{name}` in {table:#?}"))
}

/// The names of the routes of virtual host `name`, in order.
fn route_names<'a>(table: &'a RouteTable, name: &str) -> Vec<&'a str> {
    vhost(table, name)
        .routes
        .iter()
        .map(|r| r.name.as_str())
        .collect()
}

#[test]
fn domains_include_the_short_name_only_for_a_client_in_the_services_namespace() {
    let same = table_for(&[reviews_route()], "prod");
    assert_eq!(
        vhost(&same, "reviews.prod.svc.cluster.local:9080").domains,
        [REVIEWS, "reviews", "reviews.prod.svc", "reviews.prod"]
    );
    let other = table_for(&[reviews_route()], "web");
    assert_eq!(
        vhost(&other, "reviews.prod.svc.cluster.local:9080").domains,
        [REVIEWS, "reviews.prod", "reviews.prod.svc"]
    );
    assert!(same.ignore_port_in_host_matching, "Istio ignores the port");
    assert_eq!(same.name, "9080");
}

#[test]
fn one_route_per_match_entry_in_order_with_the_http_route_name() {
    let mut vs = reviews_route();
    vs["spec"]["http"][0]["name"] = json!("legacy");
    vs["spec"]["http"][0]["match"][1]["name"] = json!("consumer");
    let table = table_for(&[vs], "prod");
    let routes = &vhost(&table, "reviews.prod.svc.cluster.local:9080").routes;
    let names: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["legacy", "legacy.consumer"]);
    assert_eq!(routes[0].matcher.prefix.as_deref(), Some("/wpcatalog"));
    assert_eq!(
        routes[1].matcher.prefix.as_deref(),
        Some("/consumercatalog")
    );
    let action = routes[0].route.as_ref().unwrap();
    assert_eq!(
        action.cluster.as_deref(),
        Some("outbound|9080|v2|reviews.prod.svc.cluster.local")
    );
    assert_eq!(action.prefix_rewrite.as_deref(), Some("/newcatalog"));
}

#[test]
fn a_catch_all_match_ends_the_routes_of_a_virtual_service() {
    let vs = vs_r_for_reviews(json!([
        {"name": "all", "match": [{"uri": {"prefix": "/"}}, {"uri": {"prefix": "/never"}}],
         "route": [{"destination": {"host": "reviews"}}]},
        {"name": "unreachable", "route": [{"destination": {"host": "ratings"}}]}
    ]));
    let table = table_for(&[vs], "prod");
    let routes = &vhost(&table, "reviews.prod.svc.cluster.local:9080").routes;
    assert_eq!(routes.len(), 1);
}

#[test]
fn a_route_to_another_host_names_that_hosts_cluster() {
    let vs = vs_r_for_reviews(
        json!([{"route": [{"destination": {"host": "ratings", "port": {"number": 9090}}}]}]),
    );
    let table = table_for(&[vs], "prod");
    let route = &vhost(&table, "reviews.prod.svc.cluster.local:9080").routes[0];
    assert_eq!(
        route.route.as_ref().unwrap().cluster.as_deref(),
        Some("outbound|9090||ratings.prod.svc.cluster.local")
    );
}

#[test]
fn declared_services_without_a_virtual_service_get_the_default_route() {
    let table = table_for(&[reviews_route()], "prod");
    let ratings = vhost(&table, "ratings.prod.svc.cluster.local:9080");
    assert_eq!(ratings.routes.len(), 1);
    assert_eq!(ratings.routes[0].name, "default");
    assert_eq!(
        ratings.routes[0].route.as_ref().unwrap().cluster.as_deref(),
        Some("outbound|9080||ratings.prod.svc.cluster.local")
    );
}

#[test]
fn any_other_host_goes_to_the_passthrough_cluster_last() {
    let table = table_for(&[reviews_route()], "prod");
    let last = table.virtual_hosts.last().unwrap();
    assert_eq!(
        (last.name.as_str(), last.domains.as_slice()),
        ("allow_any", &["*".to_string()][..])
    );
    assert_eq!(
        last.routes[0].route.as_ref().unwrap().cluster.as_deref(),
        Some("PassthroughCluster")
    );
}

#[test]
fn the_oldest_virtual_service_for_a_host_wins_and_the_rest_are_reported() {
    let built = built_for(&[reviews_route(), reviews_canary()], "prod");
    let routes = &vhost(&built.table, "reviews.prod.svc.cluster.local:9080").routes;
    assert_eq!(routes[0].matcher.prefix.as_deref(), Some("/wpcatalog"));
    assert_eq!(built.ignored.len(), 1);
    assert_eq!(built.ignored[0].virtual_service, "reviews");
    assert_eq!(built.ignored[0].host, REVIEWS);
}

#[test]
fn services_on_other_ports_and_non_matching_sources_are_left_out() {
    let vs = json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "VirtualService",
        "metadata": {"name": "r", "namespace": "prod"},
        "spec": {"hosts": ["reviews"], "http": [
            {"name": "other-port", "match": [{"port": 8080}], "route": [{"destination": {"host": "reviews", "subset": "a"}}]},
            {"name": "canary-client", "match": [{"sourceLabels": {"app": "canary"}}], "route": [{"destination": {"host": "reviews", "subset": "b"}}]},
            {"name": "web-ns", "match": [{"sourceNamespace": "web", "headers": {"x-a": {}}}], "route": [{"destination": {"host": "reviews", "subset": "c"}}]},
            {"name": "rest", "route": [{"destination": {"host": "reviews", "subset": "d"}}]}
        ]}
    });
    let svcs = vec![
        Service::new(REVIEWS, [9080]),
        Service::new("db.prod.svc.cluster.local", [5432]),
    ];
    let vss = [vs];
    let mut input = inputs(&vss, &svcs, "web");
    let table = build(&input).unwrap().table;
    let names = route_names(&table, "reviews.prod.svc.cluster.local:9080");
    assert_eq!(names, ["web-ns", "rest"]);
    assert!(
        table
            .virtual_hosts
            .iter()
            .all(|v| !v.name.starts_with("db.")),
        "a service without this port has no virtual host"
    );
    input.client.labels.insert("app".into(), "canary".into());
    input.client.namespace = Some("prod".into());
    let table = build(&input).unwrap().table;
    let names = route_names(&table, "reviews.prod.svc.cluster.local:9080");
    // A match entry with only `sourceLabels` is a catch-all: nothing after it.
    assert_eq!(names, ["canary-client"]);
}

#[test]
fn match_fields_translate_to_envoy_matchers() {
    let vs = vs_r_for_reviews(json!([{
        "match": [{
            "uri": {"regex": "/r/[0-9]+"}, "ignoreUriCase": true,
            "headers": {"x-b": {"prefix": "p"}, "x-a": {"exact": "e"}},
            "withoutHeaders": {"x-c": {"regex": "no.*"}, "x-d": {}},
            "queryParams": {"id": {"exact": "1"}, "debug": {}},
            "method": {"exact": "GET"}, "authority": {"prefix": "reviews"}, "scheme": {"exact": "http"}
        }],
        "route": [{"destination": {"host": "reviews"}}]
    }]));
    let table = table_for(&[vs], "prod");
    let m = &vhost(&table, "reviews.prod.svc.cluster.local:9080").routes[0].matcher;
    assert_eq!(
        (m.prefix.as_deref(), m.safe_regex.as_deref()),
        (None, Some("/r/[0-9]+"))
    );
    assert_eq!(m.case_sensitive, Some(false));
    let names: Vec<&str> = m.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "x-a",
            "x-b",
            "x-c",
            "x-d",
            ":method",
            ":authority",
            ":scheme"
        ]
    );
    let x_c = &m.headers[2];
    assert!(x_c.invert_match && x_c.treat_missing_header_as_empty);
    assert_eq!(x_c.safe_regex.as_deref(), Some("no.*"));
    let x_d = &m.headers[3];
    assert_eq!(
        (
            x_d.present,
            x_d.invert_match,
            x_d.treat_missing_header_as_empty
        ),
        (Some(true), true, false)
    );
    assert_eq!(m.query_parameters.len(), 2);
}

#[test]
fn actions_translate_with_rewrites_redirects_and_carried_options() {
    let vs = vs_r_for_reviews(json!([
        {"name": "moved", "match": [{"uri": {"exact": "/old"}}], "redirect": {"uri": "/new", "redirectCode": 302, "derivePort": "FROM_REQUEST_PORT"}},
        {"name": "gone", "match": [{"uri": {"exact": "/gone"}}], "directResponse": {"status": 410, "body": {"string": "gone"}}},
        {"name": "split", "timeout": "3s", "retries": {"attempts": 4, "retryOn": "5xx"},
         "fault": {"abort": {"httpStatus": 503}}, "mirror": {"host": "ratings"},
         "rewrite": {"authority": "reviews.internal"},
         "route": [{"destination": {"host": "reviews", "subset": "v1"}, "weight": 90},
                   {"destination": {"host": "reviews", "subset": "v2"}, "weight": 10},
                   {"destination": {"host": "reviews", "subset": "v3"}, "weight": 0}]}
    ]));
    let table = table_for(&[vs], "prod");
    let routes = &vhost(&table, "reviews.prod.svc.cluster.local:9080").routes;
    let redirect = routes[0].redirect.as_ref().unwrap();
    assert_eq!(
        (
            redirect.path_redirect.as_deref(),
            redirect.response_code,
            redirect.port_redirect
        ),
        (Some("/new"), Some(302), Some(9080))
    );
    let direct = routes[1].direct_response.as_ref().unwrap();
    assert_eq!((direct.status, direct.body.as_deref()), (410, Some("gone")));
    let split = routes[2].route.as_ref().unwrap();
    let clusters = &split.weighted_clusters.as_ref().unwrap().clusters;
    assert_eq!(clusters.len(), 2, "a zero weight is skipped");
    assert_eq!(
        split.host_rewrite_literal.as_deref(),
        Some("reviews.internal")
    );
    assert_eq!(split.timeout.as_deref(), Some("3s"));
    assert_eq!(
        split.retry_policy.as_ref().unwrap()["num_retries"],
        json!(4)
    );
    assert_eq!(
        split.request_mirror_policies[0]["cluster"],
        json!("outbound|9080||ratings.prod.svc.cluster.local")
    );
    assert!(
        routes[2]
            .typed_per_filter_config
            .contains_key("envoy.filters.http.fault")
    );
}

#[test]
fn errors_name_the_document_and_the_field() {
    let vs = json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "bad", "namespace": "prod"},
        "spec": {"hosts": ["reviews"], "http": [{"match": [{"uri": {"suffix": "/x"}}], "route": [{"destination": {"host": "reviews"}}]}]}
    });
    let svcs = services();
    let vss = [reviews_route(), vs];
    let err = build(&inputs(&vss, &svcs, "prod")).unwrap_err();
    assert_eq!((err.doc, err.name.as_str()), (1, "bad"));
    assert_eq!(err.field, "spec.http[0].match[0].uri.suffix");
    let text = err.to_string();
    assert!(
        text.contains("virtual service `bad` (document 1)"),
        "{text}"
    );
}

#[test]
fn a_virtual_service_bound_to_gateways_only_is_not_a_sidecar_route() {
    let mut vs = reviews_route();
    vs["spec"]["gateways"] = json!(["istio-system/ingress"]);
    let built = built_for(&[vs], "prod");
    assert_eq!(
        vhost(&built.table, "reviews.prod.svc.cluster.local:9080").routes[0].name,
        "default"
    );
    assert_eq!(built.ignored.len(), 1);
}
