//! Findings that do not refuse a policy, in the spirit of `istioctl
//! analyze`: each has a typed kind with a stable code and help, and the
//! field path it is about. The CLI prints them, the filter logs them.

use serde::Serialize;

use crate::error::FieldPath;

crate::error::coded_enum! {
    /// What a warning is about.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub enum WarningKind;
    fn code;
    /// A rule after one that matches every request (first match wins).
    UnreachableRule => "unreachable-rule",
    /// A match entry equal to one of an earlier rule.
    IneffectiveMatch => "ineffective-match",
    /// A route to a subset no `spec.subsets` entry defines.
    UndefinedSubset => "undefined-subset",
    /// Several virtual services name one host; their rules are merged.
    MergedVirtualServices => "merged-virtual-services",
    /// Weight 0 on the only destination (it still gets every request).
    ZeroWeight => "zero-weight",
    /// A header match on a header the filter never sees.
    InvisibleHeader => "invisible-header",
    /// `retries.perTryTimeout` is longer than the rule's `timeout`.
    PerTryTimeoutExceedsTimeout => "per-try-timeout-exceeds-timeout",
    /// `fault` with `timeout` or `retries` on one rule.
    FaultDisablesTimeoutAndRetries => "fault-disables-timeout-and-retries",
    /// A field Istio's API deprecates (`mirrorPercent`, `fault.delay.percent`,
    /// `corsPolicy.allowOrigin`).
    DeprecatedField => "deprecated-field",
    /// A field that has no effect where it is (`mirrorPercentage` without `mirror`).
    IneffectiveField => "ineffective-field",
}

impl WarningKind {
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
            WarningKind::UnreachableRule => "move the catch-all rule last, or give it a `match`",
            WarningKind::IneffectiveMatch => {
                "remove the entry, or make it differ from the earlier rule's (the earlier rule wins)"
            }
            WarningKind::UndefinedSubset => {
                "add the DestinationRule that defines it to the files you pass, or a `spec.subsets` entry"
            }
            WarningKind::ZeroWeight => {
                "remove the weight, or add the destination that should get the traffic"
            }
            WarningKind::InvisibleHeader => {
                "Envoy turns `host` into `:authority` (match on `authority` instead), and the filter sees only the :authority, :method, :path and :scheme pseudo-headers"
            }
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}: {message}", path.or_document())]
pub struct Warning {
    pub kind: WarningKind,
    /// Field path, as in `PolicyError`.
    #[serde(serialize_with = "path_text")]
    pub path: FieldPath,
    /// One line, lowercase, user input in backticks.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(kind: WarningKind, path: FieldPath, message: impl Into<String>) -> Self {
        Warning {
            kind,
            path,
            message: message.into(),
        }
    }

    /// The kind's stable code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl miette::Diagnostic for Warning {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.kind.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Warning)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.kind.help()))
    }
}

fn path_text<S: serde::Serializer>(path: &FieldPath, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&path.or_document())
}
