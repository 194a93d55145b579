//! Which resource a YAML document is: a TrafficPolicy, one of the Istio
//! resources meshpolicy imports, or an Istio resource that is not about
//! routing (skipped with a note).

use crate::diagnostic::Diagnostic;
use crate::source::{Document, FieldPath};

pub const POLICY_API_VERSION: &str = meshpolicy_engine::API_VERSION;
pub const POLICY_KIND: &str = "TrafficPolicy";

/// The API versions Istio serves for the resources we import.
const NETWORKING_VERSIONS: [&str; 3] = [
    "networking.istio.io/v1",
    "networking.istio.io/v1beta1",
    "networking.istio.io/v1alpha3",
];
const TELEMETRY_VERSIONS: [&str; 2] = ["telemetry.istio.io/v1", "telemetry.istio.io/v1alpha1"];
/// Security resources are enforced by Istio's own filters, beside meshpolicy.
const SECURITY_KINDS: [&str; 3] = [
    "PeerAuthentication",
    "AuthorizationPolicy",
    "RequestAuthentication",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TrafficPolicy,
    VirtualService,
    DestinationRule,
    Telemetry,
    /// An Istio resource that does not route or label requests; left to Istio.
    Security,
}

/// Classifies a document by `apiVersion` and `kind`; anything else is an error
/// that names what is accepted.
pub fn classify(doc: &Document) -> Result<Kind, Diagnostic> {
    let api = doc.api_version();
    let kind = doc.kind();
    let (Some(api), Some(kind)) = (api, kind) else {
        let missing = if api.is_none() { "apiVersion" } else { "kind" };
        return Err(doc.diag(
            Diagnostic::error(
                "unknown-kind",
                format!("document {} has no `{missing}`", doc.index + 1),
            )
            .with_help(accepted_help()),
            &FieldPath::default(),
        ));
    };
    let versions: &[&str] = match kind {
        // v1alpha1 is classified so that the engine explains how to move it
        POLICY_KIND => &[POLICY_API_VERSION, meshpolicy_engine::API_VERSION_V1],
        "VirtualService" | "DestinationRule" => &NETWORKING_VERSIONS,
        "Telemetry" => &TELEMETRY_VERSIONS,
        k if SECURITY_KINDS.contains(&k) && api.starts_with("security.istio.io/") => {
            return Ok(Kind::Security);
        }
        other => {
            return Err(doc.diag(
                Diagnostic::error(
                    "unknown-kind",
                    format!("unknown kind `{other}` (apiVersion `{api}`)"),
                )
                .with_help(accepted_help()),
                &FieldPath::default().key("kind"),
            ));
        }
    };
    if !versions.contains(&api) {
        return Err(doc.diag(
            Diagnostic::error(
                "unknown-kind",
                format!("unsupported apiVersion `{api}` for kind `{kind}`"),
            )
            .with_help(format!("use one of {}", backticked(versions))),
            &FieldPath::default().key("apiVersion"),
        ));
    }
    Ok(match kind {
        POLICY_KIND => Kind::TrafficPolicy,
        "VirtualService" => Kind::VirtualService,
        "DestinationRule" => Kind::DestinationRule,
        _ => Kind::Telemetry,
    })
}

fn accepted_help() -> String {
    format!(
        "meshpolicy reads {POLICY_KIND} ({POLICY_API_VERSION}), VirtualService and DestinationRule \
         (networking.istio.io v1, v1beta1, v1alpha3) and Telemetry (telemetry.istio.io v1, v1alpha1)"
    )
}

fn backticked(items: &[&str]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
