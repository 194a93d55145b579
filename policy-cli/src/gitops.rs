//! GitOps delivery: render the Istio manifests of a policy, package the
//! filter as an OCI image Istio accepts, and push it to a registry.

pub mod check;
pub mod credentials;
pub mod oci;
pub mod reference;
pub mod registry;
pub mod release;
pub mod render;
pub mod yaml;
