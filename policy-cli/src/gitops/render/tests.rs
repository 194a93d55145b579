use super::*;

const POLICY: &str = r#"
apiVersion: meshpolicy.dev/v1alpha1
kind: TrafficPolicy
metadata: {name: reviews, namespace: prod}
spec:
  http:
    - name: legacy
      match: [{uri: {prefix: /wpcatalog}}]
      rewrite: {uri: /newcatalog}
      route: [{destination: {host: reviews.prod.svc.cluster.local, subset: v2, port: {number: 9080}}}]
    - name: canary
      route:
        - {destination: {host: reviews, subset: v1}, weight: 90}
        - {destination: {host: reviews, subset: v2}, weight: 10}
  subsets:
    reviews: {v1: {version: v1}, v2: {version: v2}}
  settings: {decisionHeader: x-subset}
"#;

fn doc(text: &str) -> TrafficPolicy {
    let value: serde_json::Value = serde_saphyr::from_str(text).unwrap();
    meshpolicy_engine::from_value(value).unwrap()
}

fn render_text(text: &str) -> Result<Vec<RenderedFile>, RenderError> {
    render_with(text, PluginOptions::default())
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
fn one_virtual_service_per_service_routes_on_the_decision_header() {
    let files = render_text(POLICY).unwrap();
    let services = parse(&files[1].text);
    // `reviews.prod.svc.cluster.local` takes its subsets from `reviews`: one service.
    assert_eq!(services.len(), 1, "{}", files[1].text);
    let spec = &services[0]["spec"];
    assert_eq!(spec["hosts"][0], "reviews");
    assert_eq!(
        spec["http"][0]["match"][0]["headers"]["x-subset"]["exact"],
        "v1"
    );
    assert_eq!(spec["http"][0]["route"][0]["destination"]["subset"], "v1");
    assert_eq!(
        spec["http"][1]["match"][0]["headers"]["x-subset"]["exact"],
        "v2"
    );
    // v2 is routed with and without a port: no port is pinned.
    assert!(
        spec["http"][1]["route"][0]["destination"]
            .get("port")
            .is_none()
    );
    assert_eq!(spec["http"][2]["name"], "default");
    assert!(spec["http"][2].get("match").is_none());
}

#[test]
fn destination_rules_define_the_subsets() {
    let files = render_text(POLICY).unwrap();
    let rules = parse(&files[2].text);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["spec"]["host"], "reviews");
    assert_eq!(rules[0]["spec"]["subsets"][1]["name"], "v2");
    assert_eq!(rules[0]["spec"]["subsets"][1]["labels"]["version"], "v2");
}

#[test]
fn a_route_to_an_undefined_subset_is_an_error() {
    let text = POLICY.replace("subset: v1}", "subset: v3}");
    let err = render_text(&text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.http[1].route[0].destination.subset: subset `v3` of host `reviews` is not defined in `spec.subsets`, so no DestinationRule can define it"
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
    let plugin = PluginOptions {
        kind: PluginKind::TrafficExtension,
        image_pull_secret: Some("ghcr-pull".to_owned()),
    };
    let files = render_with(POLICY, plugin).unwrap();
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
    let plugin = PluginOptions {
        kind: PluginKind::WasmPlugin,
        image_pull_secret: Some("ghcr-pull".to_owned()),
    };
    let files = render_with(POLICY, plugin).unwrap();
    let wasm_plugin = &parse(&files[0].text)[0];
    assert_eq!(wasm_plugin["spec"]["imagePullSecret"], "ghcr-pull");
    assert_eq!(wasm_plugin["spec"]["type"], "HTTP");
    assert!(
        parse(&render_text(POLICY).unwrap()[0].text)[0]["spec"]
            .get("imagePullSecret")
            .is_none()
    );
}
