use super::*;

const POLICY: &str = r#"
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
metadata: {name: reviews, namespace: prod}
spec:
  virtualServices:
    - name: reviews
      hosts: [reviews]
      http:
        - name: legacy
          match: [{uri: {prefix: /wpcatalog}}]
          rewrite: {uri: /newcatalog, authority: reviews.internal}
          route: [{destination: {host: reviews.prod.svc.cluster.local, subset: v2, port: {number: 9080}}}]
        - name: canary
          route:
            - {destination: {host: reviews, subset: v1}, weight: 90}
            - {destination: {host: reviews, subset: v2}, weight: 10}
          sticky: {header: x-user-id}
    - name: status
      hosts: [status, "*.example.com"]
      http:
        - route: [{destination: {host: status}}]
  subsets:
    reviews.prod.svc.cluster.local: {v1: {version: v1}, v2: {version: v2}}
  settings: {decisionHeader: x-subset}
"#;

fn doc(text: &str) -> TrafficPolicy {
    let value: serde_json::Value = serde_saphyr::from_str(text).unwrap();
    meshpolicy_engine::from_value(value).unwrap()
}

fn render_text(text: &str) -> Result<Vec<RenderedFile>, RenderError> {
    render_with(text, PluginOptions::default())
}

/// [`POLICY`] as `kind`, pulled with the `ghcr-pull` secret.
fn render_pulled_with_secret(kind: PluginKind) -> Vec<RenderedFile> {
    let plugin = PluginOptions {
        kind,
        image_pull_secret: Some("ghcr-pull".to_owned()),
    };
    render_with(POLICY, plugin).unwrap()
}

fn render_with(text: &str, plugin: PluginOptions) -> Result<Vec<RenderedFile>, RenderError> {
    let doc = doc(text);
    let policy = Policy::compile(&doc).unwrap();
    let image = Image::new("ghcr.io/meshpolicy/filter:1", Some(&"ab".repeat(32))).unwrap();
    render(&RenderInput {
        doc: &doc,
        policy: &policy,
        image: &image,
        selector: BTreeMap::from([("app".to_owned(), "productpage".to_owned())]),
        source: "policy.yaml",
        plugin,
    })
}

fn parse(text: &str) -> Vec<serde_json::Value> {
    text.split("\n---\n")
        .map(|doc| serde_saphyr::from_str(doc).unwrap())
        .collect()
}

#[test]
fn renders_the_same_bytes_twice() {
    assert_eq!(render_text(POLICY).unwrap(), render_text(POLICY).unwrap());
}

#[test]
fn wasm_plugin_carries_the_policy_and_the_pin() {
    let files = render_text(POLICY).unwrap();
    let plugin = &parse(&files[0].text)[0];
    assert_eq!(files[0].name, WASM_PLUGIN_FILE);
    assert_eq!(plugin["kind"], "WasmPlugin");
    assert_eq!(plugin["metadata"]["namespace"], "prod");
    assert_eq!(plugin["spec"]["url"], "oci://ghcr.io/meshpolicy/filter:1");
    assert_eq!(plugin["spec"]["sha256"], "ab".repeat(32));
    assert_eq!(
        plugin["spec"]["selector"]["matchLabels"]["app"],
        "productpage"
    );
    assert_eq!(plugin["spec"]["match"][0]["mode"], "CLIENT");
    let config = serde_json::to_string(&plugin["spec"]["pluginConfig"]).unwrap();
    // What the filter will get parses and compiles to the same policy.
    assert_eq!(meshpolicy_engine::from_json(&config).unwrap(), doc(POLICY));
    assert!(
        files[0]
            .text
            .contains(&format!("sha256: \"{}\"", "ab".repeat(32)))
    );
}

#[test]
fn one_virtual_service_per_host_with_key_routes_then_the_native_rules() {
    let files = render_text(POLICY).unwrap();
    let services = parse(&files[1].text);
    // one per host: `*.example.com`, reviews, status (sorted)
    let hosts: Vec<&str> = services
        .iter()
        .map(|s| s["spec"]["hosts"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        hosts,
        [
            "*.example.com",
            "reviews.prod.svc.cluster.local",
            "status.prod.svc.cluster.local"
        ],
        "{}",
        files[1].text
    );
    let spec = &services[1]["spec"];
    let http = spec["http"].as_array().unwrap();
    // first every key the rules can set, matching the decision header exactly
    let key = |i: usize| http[i]["match"][0]["headers"]["x-subset"]["exact"].as_str();
    assert_eq!(
        key(0),
        Some("reviews.prod.svc.cluster.local/v2:9080@reviews.internal")
    );
    assert_eq!(http[0]["route"][0]["destination"]["port"]["number"], 9080);
    assert_eq!(http[0]["rewrite"]["authority"], "reviews.internal");
    assert_eq!(key(1), Some("reviews.prod.svc.cluster.local/v1"));
    assert_eq!(key(2), Some("reviews.prod.svc.cluster.local/v2"));
    assert!(http[2].get("rewrite").is_none());
    assert_eq!(http[2]["route"][0]["destination"]["subset"], "v2");
    // then the policy's own rules, natively: no `sticky`, FQDN destinations
    assert_eq!(http[3]["name"], "legacy");
    assert_eq!(http[3]["rewrite"]["uri"], "/newcatalog");
    assert_eq!(http[4]["name"], "canary");
    assert!(http[4].get("sticky").is_none());
    assert_eq!(
        http[4]["route"][1]["destination"]["host"],
        "reviews.prod.svc.cluster.local"
    );
    assert_eq!(http[4]["route"][1]["weight"], 10);
    assert_eq!(http.len(), 5);
    // a destination without subset is keyed by its host alone
    let status = &services[2]["spec"]["http"];
    assert_eq!(
        status[0]["match"][0]["headers"]["x-subset"]["exact"],
        "status.prod.svc.cluster.local"
    );
    // the rendered VirtualServices validate as Istio's, and are named per host
    assert_eq!(
        services[0]["metadata"]["name"],
        "meshpolicy-reviews---example-com"
    );
}

#[test]
fn destination_rules_define_the_subsets() {
    let files = render_text(POLICY).unwrap();
    let rules = parse(&files[2].text);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["spec"]["host"], "reviews.prod.svc.cluster.local");
    assert_eq!(rules[0]["spec"]["subsets"][1]["name"], "v2");
    assert_eq!(rules[0]["spec"]["subsets"][1]["labels"]["version"], "v2");
}

#[test]
fn a_route_to_an_undefined_subset_is_an_error() {
    let text = POLICY.replace("subset: v1}", "subset: v3}");
    let err = render_text(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.virtualServices[0].http[1].route[0].destination.subset: subset `v3` of host `reviews.prod.svc.cluster.local` is not defined in `spec.subsets`, so no DestinationRule can define it"
    );
}

#[test]
fn image_pin_rules() {
    let hex = "0123456789abcdef".repeat(4);
    assert_eq!(
        Image::new("https://x/filter.wasm", Some(&hex)).unwrap().url,
        "https://x/filter.wasm"
    );
    assert_eq!(
        Image::new(&format!("oci://r/f@sha256:{hex}"), None)
            .unwrap()
            .sha256,
        hex
    );
    assert!(matches!(
        Image::new("ftp://x/f.wasm", Some(&hex)),
        Err(RenderError::Scheme(_))
    ));
    assert!(matches!(
        Image::new("r/f:1", Some("ABC")),
        Err(RenderError::Sha256(_))
    ));
    assert!(matches!(
        Image::new("r/f:1", None),
        Err(RenderError::Unpinned(_))
    ));
    let other = "f".repeat(64);
    assert!(matches!(
        Image::new(&format!("r/f@sha256:{hex}"), Some(&other)),
        Err(RenderError::DigestMismatch { .. })
    ));
}

#[test]
fn selector_flags() {
    assert_eq!(
        parse_selector(&["app=a".into(), "v=".into()]).unwrap(),
        BTreeMap::from([("app".into(), "a".into()), ("v".into(), String::new())])
    );
    assert!(parse_selector(&["=x".into()]).is_err());
    assert!(parse_selector(&["novalue".into()]).is_err());
}

#[test]
fn traffic_extension_keeps_the_module_under_wasm() {
    let files = render_pulled_with_secret(PluginKind::TrafficExtension);
    assert_eq!(files[0].name, TRAFFIC_EXTENSION_FILE);
    let extension = &parse(&files[0].text)[0];
    assert_eq!(extension["kind"], "TrafficExtension");
    assert_eq!(extension["apiVersion"], "extensions.istio.io/v1alpha1");
    let wasm = &extension["spec"]["wasm"];
    assert_eq!(wasm["url"], "oci://ghcr.io/meshpolicy/filter:1");
    assert_eq!(wasm["sha256"], "ab".repeat(32));
    assert_eq!(wasm["imagePullSecret"], "ghcr-pull");
    assert_eq!(wasm["failStrategy"], "FAIL_CLOSE");
    assert_eq!(wasm["type"], "HTTP");
    assert_eq!(extension["spec"]["match"][0]["mode"], "CLIENT");
    assert_eq!(extension["spec"]["phase"], "AUTHN");
    assert!(extension["spec"].get("url").is_none());
    let config = serde_json::to_string(&wasm["pluginConfig"]).unwrap();
    assert_eq!(meshpolicy_engine::from_json(&config).unwrap(), doc(POLICY));
}

#[test]
fn image_pull_secret_on_a_wasm_plugin() {
    let files = render_pulled_with_secret(PluginKind::WasmPlugin);
    let wasm_plugin = &parse(&files[0].text)[0];
    assert_eq!(wasm_plugin["spec"]["imagePullSecret"], "ghcr-pull");
    assert_eq!(wasm_plugin["spec"]["type"], "HTTP");
    assert!(
        parse(&render_text(POLICY).unwrap()[0].text)[0]["spec"]
            .get("imagePullSecret")
            .is_none()
    );
}
