//! Stat recording against a fake sink (in the manner of Kuadrant
//! wasm-shim's `MockWasmHost`: the host behind a trait, its calls recorded
//! and asserted).

use std::borrow::Cow;
use std::collections::HashMap;

use super::super::cel::{Attributes, HeaderMap};
use super::super::{CompiledTelemetry, Metric, Mode, NodeInfo, compile};
use super::{MAX_STATS, StatRecorder, StatSink};

/// Envoy's stats as a test sees them: every call, and the ids handed out.
#[derive(Default)]
struct FakeSink {
    defined: Vec<(bool, String)>,
    increments: Vec<(u32, i64)>,
    records: Vec<(u32, u64)>,
    warnings: Vec<String>,
    /// Refuse definitions (as a proxy out of stats would).
    refuse: bool,
}

impl StatSink for FakeSink {
    fn define_metric(&mut self, histogram: bool, name: &str) -> Option<u32> {
        if self.refuse {
            return None;
        }
        self.defined.push((histogram, name.to_owned()));
        u32::try_from(self.defined.len()).ok()
    }
    fn increment(&mut self, id: u32, by: i64) {
        self.increments.push((id, by));
    }
    fn record(&mut self, id: u32, value: u64) {
        self.records.push((id, value));
    }
    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_owned());
    }
}

/// Attributes of one request; counts the property reads.
#[derive(Default)]
struct Attrs {
    props: HashMap<String, Vec<u8>>,
    headers: HashMap<String, String>,
    reads: std::cell::Cell<usize>,
}

impl Attributes for Attrs {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        self.reads.set(self.reads.get() + 1);
        self.props
            .get(&path.join("."))
            .map(|v| Cow::Borrowed(v.as_slice()))
    }
    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        (map == HeaderMap::Request)
            .then(|| self.headers.get(name).map(|v| Cow::Borrowed(v.as_str())))
            .flatten()
    }
}

fn telemetry(json: &str) -> CompiledTelemetry {
    compile(&serde_json::from_str::<Vec<_>>(json).unwrap(), None).unwrap()
}

fn node() -> NodeInfo {
    NodeInfo {
        workload: "productpage-v1".into(),
        namespace: "prod".into(),
        app: "productpage".into(),
        version: "v1".into(),
        canonical_service: "productpage".into(),
        canonical_revision: "v1".into(),
        cluster: "Kubernetes".into(),
    }
}

/// A protobuf `Struct` of string fields, as Envoy serves peer metadata.
fn peer(fields: &[(&str, &str)]) -> Vec<u8> {
    let len = |field: u8, bytes: &[u8]| {
        let mut out = vec![field << 3 | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend_from_slice(bytes);
        out
    };
    let mut out = Vec::new();
    for (key, value) in fields {
        let mut entry = len(1, key.as_bytes());
        entry.extend(len(2, &len(3, value.as_bytes())));
        out.extend(len(1, &entry));
    }
    out
}

fn request(tenant: &str) -> Attrs {
    let mut a = Attrs::default();
    a.headers.insert("x-tenant".into(), tenant.into());
    a.props
        .insert("upstream_peer".into(), peer(&[("workload", "reviews-v2")]));
    a.props
        .insert("response.code".into(), 200_i64.to_le_bytes().to_vec());
    a
}

fn value(metric: Metric) -> u64 {
    match metric {
        Metric::RequestCount => 0,
        Metric::RequestDuration => 12,
        Metric::RequestSize => 300,
        Metric::ResponseSize => 4000,
    }
}

const TENANT: &str = r#"[{"overrides": [{"tagOverrides": {
    "tenant": {"value": "request.headers['x-tenant']", "maxValues": 2}}}]}]"#;

#[test]
fn a_label_set_is_defined_once_and_recorded_by_id_after() {
    let t = telemetry("[]");
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), 4, "{:?}", sink.defined);
    assert_eq!(
        sink.defined.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        [false, true, true, true]
    );
    assert!(sink.defined[0].1.ends_with(";.;meshpolicy_requests_total"));
    assert!(
        sink.defined[0]
            .1
            .contains("destination_workload=.=reviews-v2;.;")
    );
    assert!(sink.defined[0].1.contains("policy_rule=.=r;.;"));
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), 4, "the second request defines nothing");
    assert_eq!(sink.increments, [(1, 1), (1, 1)]);
    assert_eq!(
        sink.records,
        [(2, 12), (3, 300), (4, 4000), (2, 12), (3, 300), (4, 4000)]
    );
    // Another decision is another label set.
    rec.record(&t, &request("a"), ("other", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), 8);
    assert!(sink.warnings.is_empty(), "{:?}", sink.warnings);
}

#[test]
fn disabled_metrics_read_nothing_and_call_nothing() {
    let t = telemetry(r#"[{"overrides": [{"disabled": true}]}]"#);
    let attrs = request("a");
    let mut rec = StatRecorder::new(node(), &t, &attrs);
    assert_eq!(attrs.reads.get(), 0, "not even the listener direction");
    assert!(!rec.records(&t));
    let mut sink = FakeSink::default();
    rec.record(&t, &attrs, ("r", "d"), &mut sink, |_| {
        panic!("no value is asked for")
    });
    assert_eq!(attrs.reads.get(), 0);
    assert!(sink.defined.is_empty() && sink.increments.is_empty() && sink.records.is_empty());
}

#[test]
fn the_mode_is_read_once_when_the_recorder_is_made() {
    let t = telemetry("[]");
    let mut attrs = request("a");
    attrs.props.insert(
        "xds.listener_direction".into(),
        1_i64.to_le_bytes().to_vec(),
    );
    let rec = StatRecorder::new(node(), &t, &attrs);
    assert_eq!(rec.mode(), Mode::Server);
    assert_eq!(attrs.reads.get(), 1);
    let mut sink = FakeSink::default();
    let mut rec = rec;
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, value);
    assert!(sink.defined[0].1.contains("reporter=.=destination;.;"));
}

#[test]
fn only_the_metrics_a_mode_enables_record_and_ask_for_values() {
    let t = telemetry(
        r#"[{"overrides": [{"match": {"metric": "REQUEST_DURATION"}, "disabled": true},
                          {"match": {"metric": "REQUEST_SIZE"}, "disabled": true}]}]"#,
    );
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    let mut asked = Vec::new();
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, |m| {
        asked.push(m);
        value(m)
    });
    assert_eq!(asked, [Metric::ResponseSize]);
    assert_eq!(sink.defined.len(), 2);
    assert_eq!(sink.increments.len(), 1);
    assert_eq!(sink.records, [(2, 4000)]);
}

#[test]
fn max_values_caps_a_tag_and_warns_once() {
    let t = telemetry(TENANT);
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    for tenant in ["a", "b", "c", "d", "a"] {
        rec.record(&t, &request(tenant), ("r", "d"), &mut sink, value);
    }
    let names: Vec<&str> = sink
        .defined
        .iter()
        .filter(|(h, _)| !h)
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(names.len(), 3, "a, b, then `other`: {names:?}");
    assert!(names[2].contains("tenant=.=other;.;"), "{names:?}");
    assert_eq!(sink.warnings.len(), 1, "{:?}", sink.warnings);
    assert!(sink.warnings[0].contains("tag `tenant` reached its maxValues"));
    // `c` and `d` both went to `other`; `a` kept its own.
    let counts = |id: u32| sink.increments.iter().filter(|(i, _)| *i == id).count();
    assert_eq!((counts(1), counts(5), counts(9)), (2, 1, 2));
}

#[test]
fn past_the_registry_cap_new_label_sets_are_not_recorded() {
    let t = telemetry(
        r#"[{"overrides": [{"tagOverrides": {"tenant": {"value": "request.headers['x-tenant']"}}}]}]"#,
    );
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    for i in 0..MAX_STATS / 4 {
        rec.record(&t, &request(&i.to_string()), ("r", "d"), &mut sink, value);
    }
    assert_eq!(sink.defined.len(), MAX_STATS);
    let before = (sink.increments.len(), sink.records.len());
    rec.record(&t, &request("new"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), MAX_STATS, "nothing more is defined");
    assert_eq!((sink.increments.len(), sink.records.len()), before);
    rec.record(&t, &request("newer"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.warnings.len(), 1, "{:?}", sink.warnings);
    assert!(sink.warnings[0].contains("new label sets are not recorded"));
    // A label set defined before still records.
    rec.record(&t, &request("0"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.increments.len(), before.0 + 1);
}

#[test]
fn a_refused_definition_is_retried_on_the_next_request() {
    let t = telemetry("[]");
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink {
        refuse: true,
        ..FakeSink::default()
    };
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, value);
    assert!(sink.increments.is_empty() && sink.records.is_empty());
    sink.refuse = false;
    rec.record(&t, &request("a"), ("r", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), 4);
    assert_eq!(sink.increments, [(1, 1)]);
}

struct Clock(Option<u64>);

impl super::Fallbacks for Clock {
    fn now_nanos(&self) -> Option<u64> {
        self.0
    }
    fn header_pairs(&self, map: HeaderMap) -> Option<Vec<u8>> {
        let value = if map == HeaderMap::Request { 100 } else { 50 };
        let pairs = [(":status".to_owned(), "x".repeat(value - 7))];
        Some(crate::encoding::pairs::encode(&pairs))
    }
}

#[test]
fn metric_values_from_envoys_attributes_else_the_fallbacks() {
    use super::metric_value;
    let int = |n: i64| n.to_le_bytes().to_vec();
    let mut a = Attrs::default();
    let clock = Clock(Some(9_500_000));
    // No attribute: headers' bytes plus bodies; no start time, no duration.
    assert_eq!(metric_value(Metric::RequestSize, &a, &clock, [7, 9]), 107);
    assert_eq!(metric_value(Metric::ResponseSize, &a, &clock, [7, 9]), 59);
    assert_eq!(metric_value(Metric::RequestDuration, &a, &clock, [0, 0]), 0);
    // The start time and the clock: whole milliseconds.
    a.props.insert("request.time".into(), int(2_000_000));
    assert_eq!(metric_value(Metric::RequestDuration, &a, &clock, [0, 0]), 7);
    assert_eq!(
        metric_value(Metric::RequestDuration, &a, &Clock(None), [0, 0]),
        0
    );
    // Envoy's attributes win.
    a.props
        .insert("request.duration".into(), int(2_000_000_000));
    a.props.insert("request.total_size".into(), int(4000));
    a.props.insert("response.total_size".into(), int(70000));
    assert_eq!(
        metric_value(Metric::RequestDuration, &a, &clock, [0, 0]),
        2000
    );
    assert_eq!(metric_value(Metric::RequestSize, &a, &clock, [7, 9]), 4000);
    assert_eq!(
        metric_value(Metric::ResponseSize, &a, &clock, [7, 9]),
        70000
    );
    assert_eq!(metric_value(Metric::RequestCount, &a, &clock, [7, 9]), 1);
}

#[test]
fn values_that_sanitize_alike_share_one_label_set() {
    let t = telemetry("[]");
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    for authority in ["shop example", "shop;example", "shop example"] {
        let mut a = request("a");
        a.headers.insert(":authority".into(), authority.into());
        rec.record(&t, &a, ("r", "d"), &mut sink, value);
    }
    assert_eq!(sink.defined.len(), 4, "{:?}", sink.defined);
    assert!(
        sink.defined[0]
            .1
            .contains("destination_service=.=shop_example;.;"),
        "{}",
        sink.defined[0].1
    );
    assert_eq!(sink.increments, [(1, 1), (1, 1), (1, 1)]);
}
#[test]
fn a_label_set_seen_before_costs_its_reads_and_nothing_else() {
    let t = telemetry("[]");
    let mut rec = StatRecorder::with_mode(node(), Mode::Client);
    let mut sink = FakeSink::default();
    let reads = |rec: &mut StatRecorder, sink: &mut FakeSink, workload: &str| {
        let mut a = request("a");
        a.props
            .insert("upstream_peer".into(), peer(&[("workload", workload)]));
        rec.record(&t, &a, ("r", "d"), sink, value);
        a.reads.get()
    };
    let first = reads(&mut rec, &mut sink, "reviews-v2");
    let second = reads(&mut rec, &mut sink, "reviews-v2");
    // The same reads (the same host calls), answered alike: the label set
    // is known without computing it.
    assert_eq!(first, second);
    assert!(first > 0);
    assert_eq!(sink.defined.len(), 4);
    assert_eq!(sink.increments, [(1, 1), (1, 1)]);
    // Another answer is another label set, whatever the tree knew.
    reads(&mut rec, &mut sink, "reviews-v3");
    assert_eq!(sink.defined.len(), 8);
    assert!(
        sink.defined[4]
            .1
            .contains("destination_workload=.=reviews-v3;.;")
    );
    assert_eq!(reads(&mut rec, &mut sink, "reviews-v2"), first);
    assert_eq!(sink.defined.len(), 8);
    assert_eq!(sink.increments, [(1, 1), (1, 1), (5, 1), (1, 1)]);
    // Another decision too.
    rec.record(&t, &request("a"), ("r2", "d"), &mut sink, value);
    assert_eq!(sink.defined.len(), 12);
}
