//! The GitOps tree (`manifests/`) as ArgoCD and Istio get it: renders,
//! pins, kustomize overlays, CRD schemas, health checks and monitoring,
//! each checked by the real tool. One binary, a module per topic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod health;
mod manifests;
mod monitoring;
mod render;
mod router_options;
mod tree;
