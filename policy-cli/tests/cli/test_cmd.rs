//! `policy-cli test` on the built filter.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::Stream::{Stderr, Stdout};
use crate::{POLICY, TESTS, arg, cli, run_wasm, run_with, scratch_file, snap, wasm};

/// Timings differ run to run.
fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        match line.find("finished in ") {
            Some(i) => {
                out.push_str(&line[..i]);
                out.push_str("finished in [time]\n");
            }
            None => out.push_str(line),
        }
    }
    out.replace(wasm().to_str().unwrap(), "[wasm]")
}

#[test]
fn the_article_tests_pass_on_the_wasm() {
    let r = run_wasm(&["test", POLICY, TESTS]);
    r.exits(0)
        .has(Stdout, "test result: ok. 10 passed; 0 failed");
    snap!("test-article", redact(&r.snapshot()));
}

#[test]
fn a_failing_case_shows_a_diff_and_exits_1() {
    let (_dir, tests) = scratch_file(
        "failing.tests.yaml",
        "authority: reviews.prod.svc.cluster.local\ncases:\n  - name: wrong expectation\n    request: {path: /wpcatalog/x}\n    expect: {path: /wpcatalog/x, subset: v1, cluster: outbound|80|v1|reviews.prod.svc.cluster.local}\n  - name: right one\n    request: {path: /wpcatalog/x}\n    expect: {path: /newcatalog/x, cluster: outbound|80|v2|reviews.prod.svc.cluster.local}\n",
    );
    let r = run_wasm(&["test", POLICY, arg(&tests)]);
    r.exits(1);
    let out = redact(&r.stdout).replace(arg(&tests), "[tests]");
    snap!("test-failing", out);
}

#[test]
fn junit_output_parses_as_xml_with_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let tests = dir.path().join("mixed.tests.yaml");
    std::fs::write(
        &tests,
        "authority: reviews.prod.svc.cluster.local\ncases:\n  - name: passes <ok> & fine\n    request: {path: /wpcatalog/x}\n    expect: {subset: v2}\n  - name: fails\n    request: {path: /wpcatalog/x}\n    expect: {subset: v1}\n",
    )
    .unwrap();
    let r = run_wasm(&["test", POLICY, TESTS, arg(&tests), "--junit", arg(&junit)]);
    r.exits(1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = Reader::from_str(&xml);
    let (mut suites, mut cases, mut failures, mut names) = (0, 0, 0, Vec::new());
    let mut root_counts = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &str| {
                    e.try_get_attribute(name).unwrap().map(|a| {
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned()
                    })
                };
                match e.name().into_inner() {
                    "testsuites" => {
                        root_counts = Some((attr("tests").unwrap(), attr("failures").unwrap()))
                    }
                    "testsuite" => suites += 1,
                    "testcase" => {
                        cases += 1;
                        names.push(attr("name").unwrap());
                    }
                    "failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!((suites, cases, failures), (2, 12, 1));
    assert_eq!(root_counts, Some(("12".to_owned(), "1".to_owned())));
    assert!(names.contains(&"passes <ok> & fine".to_owned()));
}

#[test]
fn a_missing_wasm_says_how_to_build_it() {
    let mut cmd = cli();
    cmd.env("MESHPOLICY_WASM", "/nonexistent/meshpolicy.wasm");
    let r = run_with(cmd, &["test", "--error-format", "plain", POLICY, TESTS]);
    r.exits(2);
    assert_eq!(
        r.stderr,
        "error: the filter `/nonexistent/meshpolicy.wasm` ($MESHPOLICY_WASM) does not exist\n"
    );
    let human = run_with(
        cli(),
        &["test", "--wasm", "/nonexistent/x.wasm", POLICY, TESTS],
    );
    human.exits(2).has(Stderr, "run `make build`");
}

#[test]
fn a_bad_test_file_points_at_the_field() {
    let (_dir, tests) = scratch_file(
        "bad.tests.yaml",
        "cases:\n  - name: x\n    request: {path: /a}\n    expect: {pth: /b}\n",
    );
    let r = run_wasm(&["test", "--error-format", "plain", POLICY, arg(&tests)]);
    r.exits(2);
    assert!(
        r.stderr.starts_with(&format!(
            "{}:4:14: error: cases[0].expect.pth: unknown field `pth`",
            tests.display()
        )),
        "{}",
        r.stderr
    );
}

/// The filter on the host, then Envoy's router with the rendered routes,
/// against the native engine: cases whose expectations (path and the
/// cluster Istio names for the decided destination) are the engine's
/// decisions must all pass on the `.wasm`, for the policy's host and for
/// another service.
#[test]
fn the_wasm_decides_like_the_engine_on_generated_requests() {
    use meshpolicy_engine::Request;
    use policy_cli::diagnostic::ErrorFormat;
    use policy_cli::request::RequestSpec;

    let policy = crate::crate_dir().join(POLICY);
    let loaded = policy_cli::input::load_policy(&policy, ErrorFormat::Plain).unwrap();
    let source = meshpolicy_engine::SourceInfo {
        namespace: Some("prod".into()),
        ..meshpolicy_engine::SourceInfo::default()
    };
    let paths = [
        "/wpcatalog",
        "/wpcatalog/a?b=c",
        "/consumercatalog/x",
        "/wpcatalogue",
        "/WPCATALOG",
        "/reviews/1",
        "/",
        "/newcatalog",
        "/consumer",
        "/wpcatalog?x=/consumercatalog",
    ];
    let mut yaml = String::from(
        "node: {namespace: prod}\nservices:\n  - {fqdn: reviews.prod.svc.cluster.local, ports: [9080]}\n  - {fqdn: ratings.prod.svc.cluster.local, ports: [9080]}\ncases:\n",
    );
    let authorities = ["reviews:9080", "ratings.prod:9080"];
    for (i, path) in paths.iter().enumerate() {
        for user in 0..30 {
            let authority = authorities[user % 2];
            let req = RequestSpec {
                path: (*path).to_owned(),
                authority: Some(authority.to_owned()),
                headers: vec![("x-user-id".into(), format!("u{user}"))],
                ..RequestSpec::parse_line("/").unwrap()
            };
            let headers = req.wire_headers();
            let d = loaded.policy.decide(&Request {
                headers: &headers,
                source: &source,
                port: None,
                random: 0,
                virtual_host: None,
            });
            let want_path = d.path.clone().unwrap_or_else(|| (*path).to_owned());
            // the cluster Istio names for the destination (or the service's
            // default route when the policy does not cover the host)
            let cluster = match &d.destination {
                Some(dest) => format!(
                    "outbound|{}|{}|{}",
                    dest.port.unwrap_or(9080),
                    dest.subset.as_deref().unwrap_or(""),
                    dest.host
                ),
                None => "outbound|9080||ratings.prod.svc.cluster.local".to_owned(),
            };
            yaml.push_str(&format!(
                "  - name: \"{i}-{user} {authority} {path}\"\n    request: {{path: \"{path}\", authority: \"{authority}\", headers: {{x-user-id: u{user}}}}}\n    expect: {{path: \"{want_path}\", cluster: \"{cluster}\"}}\n"
            ));
        }
    }
    let (_dir, tests) = scratch_file("generated.tests.yaml", yaml);
    let r = run_wasm(&["test", "-q", POLICY, arg(&tests)]);
    r.exits(0).has(Stdout, "300 passed; 0 failed");
}

/// Issue 9's rules end to end: the filter, then Envoy's router with the
/// rendered routes, on a policy with two hosts.
#[test]
fn requests_land_where_istio_would_send_them() {
    let r = run_wasm(&[
        "test",
        "testdata/routing/hosts.policy.yaml",
        "testdata/routing/hosts.tests.yaml",
    ]);
    r.exits(0)
        .has(Stdout, "test result: ok. 7 passed; 0 failed");
}

/// The same cases fail when the expectation is wrong: the cluster is
/// checked, not assumed.
#[test]
fn a_wrong_cluster_fails() {
    let (_dir, tests) = scratch_file(
        "wrong.tests.yaml",
        "node: {namespace: prod}\nservices: [{fqdn: mixed.prod.svc.cluster.local, ports: [80]}, {fqdn: status.prod.svc.cluster.local, ports: [8080]}]\ncases:\n  - name: wrong\n    request: {path: /status/x, authority: mixed}\n    expect: {cluster: outbound|80||mixed.prod.svc.cluster.local}\n",
    );
    let r = run_wasm(&["test", "testdata/routing/hosts.policy.yaml", arg(&tests)]);
    r.exits(1).has(
        Stdout,
        "+cluster: \"outbound|8080||status.prod.svc.cluster.local\"",
    );
}

#[test]
fn the_article_tests_cover_the_article_policy_fully() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("coverage.json");
    let junit = dir.path().join("junit.xml");
    let r = run_wasm(&[
        "test",
        POLICY,
        TESTS,
        "--fail-under",
        "100",
        "--coverage-json",
        arg(&json),
        "--junit",
        arg(&junit),
    ]);
    r.exits(0).has(
        Stdout,
        "coverage: 100.0% (7 of 7): rules 2/2, match entries 2/2, destinations 3/3",
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["percent"], 100.0);
    let rules = &report["virtualServices"][0]["rules"];
    assert_eq!(rules[1]["name"], "reviews-canary");
    assert_eq!(
        rules[1]["destinations"][1]["key"],
        "reviews.prod.svc.cluster.local/v2"
    );
    // JUnit carries the figures as properties of the root.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = Reader::from_str(&xml);
    let mut props = std::collections::BTreeMap::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Empty(e) if e.name().into_inner() == "property" => {
                let attr = |n: &str| {
                    let a = e.try_get_attribute(n).unwrap().unwrap();
                    a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .unwrap()
                        .into_owned()
                };
                props.insert(attr("name"), attr("value"));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(props["coverage.percent"], "100.0");
    assert_eq!(props["coverage.destinations.total"], "3");
}

#[test]
fn an_uncovered_rule_is_reported_and_fails_fail_under() {
    let (_dir, tests) = scratch_file(
        "one.tests.yaml",
        "authority: reviews.prod.svc.cluster.local:9080\nservices: [{fqdn: reviews.prod.svc.cluster.local, ports: [9080]}]\ncases:\n  - name: legacy\n    request: {path: /wpcatalog/x}\n    expect: {path: /newcatalog/x, cluster: outbound|9080|v2|reviews.prod.svc.cluster.local}\n",
    );
    let t = arg(&tests);
    let r = run_wasm(&["test", POLICY, t, "--coverage"]);
    r.exits(0);
    for missed in [
        "coverage: 42.9% (3 of 7): rules 1/2, match entries 1/2, destinations 1/3",
        "reviews-route: not reached by any case:",
        "match entry http[0] legacy-catalog match[1]",
        "rule http[1] reviews-canary",
    ] {
        assert!(r.stdout.contains(missed), "no {missed:?} in\n{}", r.stdout);
    }
    let r = run_wasm(&["test", POLICY, t, "--fail-under", "100"]);
    r.exits(1)
        .has(Stdout, "coverage 42.9% is below --fail-under 100%");
    let r = run_wasm(&["test", POLICY, t, "--fail-under", "40"]);
    r.exits(0);
    let r = run_wasm(&["test", POLICY, t, "--fail-under", "101"]);
    r.exits(2);
}

#[test]
fn canary_steps_run_as_tests_on_the_wasm() {
    let r = run_wasm(&["test", POLICY, "../examples/reviews.canary.tests.yaml"]);
    r.exits(0).has(Stdout, "3 passed; 0 failed");

    // A wrong share and a wrong count of moved keys fail with the figures.
    let (_dir, tests) = scratch_file(
        "wrong.tests.yaml",
        "node: {namespace: prod, port: 9080}\nauthority: reviews:9080\nservices: [{fqdn: reviews.prod.svc.cluster.local, ports: [9080]}]\ncases:\n  - name: wrong share\n    request: {path: /reviews/1}\n    expect: {shares: {v1: 0.5, v2: 0.5}, keys: 2000}\n  - name: wrong step\n    request: {path: /reviews/1}\n    step: {from: {v2: 10}, to: {v2: 50}}\n    expect: {moved: 0.1, movedBack: 0, keys: 2000}\n  - name: no such subset\n    request: {path: /reviews/1}\n    step: {from: {v3: 10}, to: {v3: 50}}\n    expect: {movedBack: 0, keys: 10}\n",
    );
    let r = run_wasm(&["test", POLICY, arg(&tests)]);
    r.exits(2).has(
        Stderr,
        "`step` names `v3`, which is not a destination of the rule",
    );
    std::fs::write(
        &tests,
        std::fs::read_to_string(&tests)
            .unwrap()
            .split("  - name: no such subset")
            .next()
            .unwrap(),
    )
    .unwrap();
    let r = run_wasm(&["test", POLICY, arg(&tests)]);
    r.exits(1).has(Stdout, "-shares.v1: 0.5 ± 0.01");
    r.has(Stdout, "-moved: 0.1 ± 0.01")
        .lacks(Stdout, "-movedBack");
}
