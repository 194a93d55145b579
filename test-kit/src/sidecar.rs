//! The article's client as the host sees it: the `productpage-v1` sidecar
//! in `prod` calling `reviews-v2`.

use host_tests::{NodeMetadata, PeerMetadata, Properties};

/// The client sidecar's node metadata: `productpage-v1` in `prod`, cluster
/// `Kubernetes`, labels `app=productpage`, `version=v1`.
pub fn productpage_node() -> NodeMetadata {
    NodeMetadata {
        namespace: Some("prod".into()),
        workload_name: Some("productpage-v1".into()),
        cluster_id: Some("Kubernetes".into()),
        labels: [
            ("app".to_string(), "productpage".to_string()),
            ("version".to_string(), "v1".to_string()),
        ]
        .into(),
        ..Default::default()
    }
}

/// The upstream peer: `reviews-v2` (app `reviews`, version `v2`) in `prod`.
pub fn reviews_v2_peer() -> PeerMetadata {
    PeerMetadata {
        app: Some("reviews".into()),
        version: Some("v2".into()),
        workload: Some("reviews-v2".into()),
        namespace: Some("prod".into()),
        ..Default::default()
    }
}

/// Both, with `xds.listener_direction` (1 inbound, 2 outbound).
pub fn article_properties(direction: i64) -> Properties {
    Properties::new()
        .with_node_metadata(productpage_node())
        .with_upstream_peer(reviews_v2_peer())
        .with("xds.listener_direction", direction)
}
