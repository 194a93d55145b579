//! What a person does on the page: paste the article's policy and send its
//! request, type a bad regex, share a link, run the split simulator; the
//! same with the article's Istio YAML, imported in the page.

use serde_json::json;
use test_kit::article_policy_yaml;

use crate::browser::Browser;
use crate::{ISTIO, open};

/// Reads a decision field (`path`, `destination host`, ...) once it shows.
const FIELD: &str = "const e = document.querySelector(arguments[0]); return e && e.textContent;";

/// Waits for `what`, the element at `selector`, to show; its text.
async fn wait_for_text(b: &Browser, what: &str, selector: &str) -> serde_json::Value {
    b.wait_for_with(what, FIELD, vec![json!(selector)]).await
}

/// Sends the article's request (`GET /wpcatalog/books?id=1` to
/// `reviews:9080`) and checks the article's decision: rewritten to
/// `/newcatalog`, routed to reviews v2.
async fn sends_the_articles_request(b: &Browser) {
    b.type_into("#authority", "reviews:9080").await;
    b.type_into("#path", "/wpcatalog/books?id=1").await;
    b.click("#send").await;
    let path = wait_for_text(b, "the rewritten path", "#decision [data-field=path]").await;
    assert_eq!(path, "/newcatalog/books?id=1");
    let host = b
        .text("#decision [data-field=destination] [data-field=host]")
        .await;
    let subset = b
        .text("#decision [data-field=destination] [data-field=subset]")
        .await;
    assert_eq!(host.as_deref(), Some("reviews.prod.svc.cluster.local"));
    assert_eq!(subset.as_deref(), Some("v2"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_articles_request_is_rewritten_and_routed() {
    let (_server, b) = open().await;
    // An empty editor: no policy, no decision.
    b.type_into("#policy", " ").await;
    b.wait_for(
        "the empty policy to be refused",
        "return document.querySelector('#diagnostics li[data-code=no-policy]')",
    )
    .await;
    let policy = article_policy_yaml();
    b.type_into("#policy", &policy).await;
    assert_eq!(
        b.value("#policy").await,
        policy,
        "the editor holds the pasted policy"
    );
    sends_the_articles_request(&b).await;
    assert_eq!(b.text("#status").await.as_deref(), Some("valid policy"));
    // the trace is rendered after the decision: wait for it
    let trace = b
        .wait_for(
            "the trace of legacy-catalog",
            "const e = document.querySelector('#trace li[data-rule=legacy-catalog]'); return e && e.textContent",
        )
        .await;
    assert!(
        trace
            .as_str()
            .is_some_and(|t| t.contains("match[0] matched")),
        "{trace}"
    );
    b.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn an_invalid_regex_shows_its_line_and_column() {
    let (_server, b) = open().await;
    let policy = "\
apiVersion: meshpolicy.dev/v1alpha2
kind: TrafficPolicy
metadata: {name: t, namespace: prod}
spec:
  virtualServices:
  - name: t
    hosts: [reviews]
    http:
    - name: bad
      match:
        - uri: {regex: \"/a[\"}
      route:
        - destination: {host: reviews}
";
    b.type_into("#policy", policy).await;
    let line = b
        .wait_for(
            "the regex error",
            "const e = document.querySelector('#diagnostics li'); return e && e.dataset.line",
        )
        .await;
    assert_eq!(line, "11");
    let text = b.text("#diagnostics li").await.unwrap();
    assert!(text.starts_with("11:24"), "{text}");
    assert!(text.contains("regex"), "{text}");
    assert!(
        text.contains("spec.virtualServices[0].http[0].match[0].uri.regex"),
        "{text}"
    );
    assert_eq!(b.text("#gutter .err").await.as_deref(), Some("11"));
    b.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn the_articles_istio_yaml_is_imported_and_decides() {
    let (_server, b) = open().await;
    b.type_into("#policy", ISTIO).await;
    sends_the_articles_request(&b).await;
    // valid, with the import's notes and the engine's warning (two
    // VirtualServices for one host, merged) marked at their lines
    let status = b.text("#status").await.unwrap_or_default();
    assert!(status.starts_with("valid policy · 1 warning"), "{status}");
    let warning = b
        .client
        .execute(
            "const e = document.querySelector('#diagnostics li[data-code=merged-virtual-services]'); \
             return e && [e.dataset.severity, Number(e.dataset.line), e.textContent]",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(warning[0], "warning", "{warning}");
    let line = warning[1].as_u64().unwrap();
    assert!(line > 0, "{warning}");
    let marked = b
        .client
        .execute(
            "return document.querySelector('#gutter span:nth-of-type(' + arguments[0] + ')').className",
            vec![json!(line)],
        )
        .await
        .unwrap();
    assert_eq!(marked, "warn");
    let note = b
        .text("#diagnostics li[data-code=inferred-namespace]")
        .await
        .unwrap_or_default();
    assert!(
        note.contains("note") && note.contains("no namespace"),
        "{note}"
    );
    // the TrafficPolicy it imported into is there (folded: read its text)
    let imported = b
        .client
        .execute(
            "return [document.querySelector('#imported').hidden, \
             document.querySelector('#imported-policy').textContent]",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(imported[0], false, "the import is shown");
    let imported = imported[1].as_str().unwrap();
    assert!(imported.contains("kind: TrafficPolicy"), "{imported}");
    assert!(imported.contains("/newcatalog"), "{imported}");
    b.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_bad_regex_in_istio_yaml_shows_its_line() {
    let (_server, b) = open().await;
    let text = ISTIO.replace("prefix: \"/consumercatalog\"", "regex: \"/consumer[\"");
    assert_ne!(text, ISTIO, "the article's YAML has the prefix to replace");
    let line = text.lines().position(|l| l.contains("/consumer[")).unwrap() + 1;
    b.type_into("#policy", &text).await;
    let shown = b
        .wait_for(
            "the regex error",
            "const e = document.querySelector('#diagnostics li.error'); return e && e.dataset.line",
        )
        .await;
    assert_eq!(shown, line.to_string());
    let error = b.text("#diagnostics li.error").await.unwrap();
    assert!(error.starts_with(&format!("{line}:")), "{error}");
    assert!(error.contains("regex"), "{error}");
    assert!(error.contains("spec.http[0].match[1].uri.regex"), "{error}");
    // the gutter scrolls with the editor: read it whether in view or not
    let gutter = b
        .client
        .execute(
            "return [...document.querySelectorAll('#gutter .err')].map(e => e.textContent)",
            Vec::new(),
        )
        .await
        .unwrap();
    assert_eq!(gutter, json!([line.to_string()]));
    let status = b.text("#status").await.unwrap_or_default();
    assert!(status.contains("problem"), "{status}");
    b.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_share_link_brings_the_same_state_back() {
    let (server, b) = open().await;
    let policy = article_policy_yaml().replace("legacy-catalog", "shared-rule");
    b.type_into("#policy", &policy).await;
    b.type_into("#path", "/consumercatalog/shared?x=1").await;
    b.type_into("#headers", "x-user-id: 42\nx-team: blue").await;
    b.click("#share").await;
    let link = b
        .wait_for(
            "the share link",
            "return document.querySelector('#share-url').value",
        )
        .await;
    let link = link.as_str().unwrap().to_owned();
    assert!(link.starts_with(&format!("{}#s=", server.url)), "{link}");
    assert!(link.len() < 2000, "compressed: {} bytes", link.len());
    // A fresh page load from the link.
    b.client.goto("about:blank").await.unwrap();
    b.open(&link).await;
    assert_eq!(b.value("#policy").await, policy);
    assert_eq!(b.value("#path").await, "/consumercatalog/shared?x=1");
    assert_eq!(b.value("#headers").await, "x-user-id: 42\nx-team: blue");
    let rule = wait_for_text(
        &b,
        "the decision",
        "#decision [data-field=rule] [data-field=name]",
    )
    .await;
    assert_eq!(rule, "shared-rule");
    assert!(
        b.text("#notice").await.unwrap_or_default().is_empty(),
        "no notice for a link of this engine version"
    );
    b.close().await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_link_from_another_engine_version_says_so() {
    let (server, b) = open().await;
    // Made outside the page (deflate-raw + base64url, as documented), so the
    // format is checked, not only the page's round trip.
    let state = json!({
        "v": "0.0.1 meshpolicy.dev/v0",
        "policy": article_policy_yaml(),
        "request": { "method": "GET", "authority": "reviews", "path": "/from-the-past" }
    });
    let link = format!("{}#s={}", server.url, encode_state(&state.to_string()));
    b.open(&link).await;
    let notice = b.text("#notice").await.unwrap();
    assert!(notice.contains("0.0.1 meshpolicy.dev/v0"), "{notice}");
    assert!(notice.contains("this page runs engine"), "{notice}");
    assert_eq!(b.value("#path").await, "/from-the-past");
    b.close().await;
}

fn encode_state(json: &str) -> String {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(json.as_bytes()).unwrap();
    base64url(&z.finish().unwrap())
}

fn base64url(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "current_thread")]
async fn raising_the_canary_moves_keys_only_toward_it() {
    let (_server, b) = open().await;
    // The page's defaults are the article's canary, 90/10; raise v2 to 30.
    b.type_into("#sim-destinations tbody tr:nth-child(1) .sim-new", "70")
        .await;
    b.type_into("#sim-destinations tbody tr:nth-child(2) .sim-new", "30")
        .await;
    b.type_into("#sim-keys", "5000").await;
    b.click("#sim-run").await;
    let left = b
        .wait_for(
            "the simulation",
            "const e = document.querySelector('#sim-check'); return e && e.dataset.leftRaised",
        )
        .await;
    assert_eq!(left, "0");
    let moves = b
        .client
        .execute(
            "return [...document.querySelectorAll('#sim-result .move')].map(e => [e.dataset.from, e.dataset.to, Number(e.dataset.keys)])",
            Vec::new(),
        )
        .await
        .unwrap();
    let moves = moves.as_array().unwrap();
    assert_eq!(moves.len(), 1, "{moves:?}");
    assert_eq!(moves[0][0], "reviews/v1");
    assert_eq!(moves[0][1], "reviews/v2");
    // about 20% of the keys move (30% - 10%)
    let moved = moves[0][2].as_u64().unwrap();
    assert!((800..=1200).contains(&moved), "{moved}");
    let check = b.text("#sim-check").await.unwrap();
    assert!(check.contains("keys only move toward it"), "{check}");
    b.close().await;
}
