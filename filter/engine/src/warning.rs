//! Findings that do not refuse a policy, in the spirit of `istioctl
//! analyze`: each has a typed kind with a stable code and help, and the
//! field path it is about. The CLI prints them, the filter logs them.

use serde::Serialize;

/// What a warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WarningKind {
    /// Several virtual services name one host; their rules are merged.
    MergedVirtualServices,
    /// `retries.perTryTimeout` is longer than the rule's `timeout`.
    PerTryTimeoutExceedsTimeout,
    /// `fault` with `timeout` or `retries` on one rule.
    FaultDisablesTimeoutAndRetries,
    /// A field Istio's API deprecates (`mirrorPercent`, `fault.delay.percent`,
    /// `corsPolicy.allowOrigin`).
    DeprecatedField,
    /// A field that has no effect where it is (`mirrorPercentage` without `mirror`).
    IneffectiveField,
}

impl WarningKind {
    /// Stable, kebab-case.
    pub fn code(self) -> &'static str {
        match self {
            WarningKind::MergedVirtualServices => "merged-virtual-services",
            WarningKind::PerTryTimeoutExceedsTimeout => "per-try-timeout-exceeds-timeout",
            WarningKind::FaultDisablesTimeoutAndRetries => "fault-disables-timeout-and-retries",
            WarningKind::DeprecatedField => "deprecated-field",
            WarningKind::IneffectiveField => "ineffective-field",
        }
    }

    /// What to do about it.
    pub fn help(self) -> &'static str {
        match self {
            WarningKind::MergedVirtualServices => {
                "Istio's sidecars keep only the oldest VirtualService of a host; `policy-cli render` writes the merged one, so apply only the rendered VirtualServices for these hosts"
            }
            WarningKind::PerTryTimeoutExceedsTimeout => {
                "Envoy ends the request at the route's `timeout`, so no attempt can use its whole `perTryTimeout` and no retry fits after a slow try: make `perTryTimeout` shorter than `timeout`"
            }
            WarningKind::FaultDisablesTimeoutAndRetries => {
                "Istio's HTTPRoute.fault: \"timeouts or retries will not be enabled when faults are enabled on the client side\"; put the fault on its own rule to test it"
            }
            WarningKind::DeprecatedField => {
                "Istio's API deprecates it: use the field named in the message"
            }
            WarningKind::IneffectiveField => "remove it, or add the field it applies to",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error, miette::Diagnostic)]
#[error("{path}: {message}")]
pub struct Warning {
    pub kind: WarningKind,
    /// Field path, as in `PolicyError`.
    pub path: String,
    /// One line, lowercase, user input in backticks.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(
        kind: WarningKind,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Warning {
            kind,
            path: path.into(),
            message: message.into(),
        }
    }
}
