use super::*;

fn metric(name: &str, kind: MetricKind, value: MetricValue) -> Metric {
    Metric {
        name: name.to_string(),
        kind,
        value,
    }
}

#[test]
fn istio_tags_become_labels_and_the_namespace_goes() {
    let cfg = StatsConfig::new()
        .with_istio_extra_stat_tags(&["reporter", "app", "source_app"])
        .unwrap();
    let m = [
        metric(
            "app=.=x;.;reporter=.=source;.;source_app=.=pp;.;mp_requests_total",
            MetricKind::Counter,
            MetricValue::Counter(3),
        ),
        metric(
            "plain.counter",
            MetricKind::Counter,
            MetricValue::Counter(1),
        ),
    ];
    let text = render(&m, &cfg);
    assert_eq!(
        text,
        "# TYPE mp_requests_total counter\nmp_requests_total{reporter=\"source\",app=\"x\",source_app=\"pp\"} 3\n\n\
         # TYPE plain_counter counter\nplain_counter{} 1\n\n"
    );
}

#[test]
fn inclusion_list_drops_other_stats() {
    let cfg = StatsConfig::new()
        .with_inclusion_regex(r"wasmcustom\..*mp_.*")
        .unwrap();
    let m = [
        metric("mp_a", MetricKind::Counter, MetricValue::Counter(1)),
        metric("other", MetricKind::Counter, MetricValue::Counter(1)),
    ];
    let text = render(&m, &cfg);
    assert!(text.contains("mp_a{} 1"));
    assert!(!text.contains("other"));
}

#[test]
fn histograms_use_envoy_buckets_and_circllhist_bins() {
    let m = [metric(
        "h",
        MetricKind::Histogram,
        MetricValue::Histogram(vec![0, 7, 10, 99, 100]),
    )];
    let text = render(&m, &StatsConfig::new());
    // 0 -> [0,0]; 7 -> [7,7.1); 10 -> [10,11); 99 -> [99,100); 100 -> [100,110)
    assert!(text.starts_with("# TYPE h histogram\nh_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"5\"} 1\nh_bucket{le=\"10\"} 2\nh_bucket{le=\"25\"} 3\n"));
    assert!(text.contains("h_bucket{le=\"100\"} 4\nh_bucket{le=\"250\"} 5\n"));
    assert!(text.contains("h_bucket{le=\"3600000\"} 5\nh_bucket{le=\"+Inf\"} 5\n"));
    // midpoints: 0 + 7.05 + 10.5 + 99.5 + 105
    assert!(text.contains("h_sum{} 222.05\nh_count{} 5\n"));
}

#[test]
fn bins_have_two_significant_digits() {
    assert_eq!(bin(0), (0.0, 0.0));
    assert_eq!(bin(7), (7.0, 0.1));
    assert_eq!(bin(12), (12.0, 1.0));
    assert_eq!(bin(1234), (1200.0, 100.0));
}
