//! The stable, public codes of policy errors: what tools match on
//! (`policy-cli --error-format json`), while messages may be reworded.

use std::fmt;

/// Defines a fieldless enum with a stable text per variant and the list of
/// every variant, from one table, so no variant can be missing from `ALL`:
/// [`ErrorCode`] and [`crate::WarningKind`] are defined with it.
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident;
        fn $text:ident;
        $($(#[doc = $doc:literal])* $variant:ident => $code:literal,)*
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every variant, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// Stable, kebab-case.
            pub fn $text(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }
        }
    };
}
pub(crate) use coded_enum;

coded_enum! {
    /// The stable, public code of an error (`policy-cli --error-format
    /// json`; docs/cli.md lists them all).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum ErrorCode;
    fn as_str;
    /// A field the schema does not have.
    UnknownField => "unknown-field",
    /// An Istio field meshpolicy does not implement.
    UnsupportedField => "unsupported-field",
    /// A value of the wrong JSON/YAML type (or out of its type's range).
    WrongType => "wrong-type",
    /// The filter's configuration is not JSON.
    InvalidJson => "invalid-json",
    /// `apiVersion` or `kind` is not a TrafficPolicy's.
    UnknownKind => "unknown-kind",
    /// A regex that does not compile, or a rewrite that uses a group its regex lacks.
    InvalidRegex => "invalid-regex",
    /// Destination weights that cannot split traffic.
    InvalidWeights => "invalid-weights",
    /// A name, host or entry given twice.
    Duplicate => "duplicate",
    /// A budget of the engine (rules, regexes, bytes) is exceeded.
    LimitExceeded => "limit-exceeded",
    /// A telemetry `value` that is not a CEL expression meshpolicy evaluates.
    InvalidCel => "invalid-cel",
    /// Any other value Istio or meshpolicy refuses.
    InvalidPolicy => "invalid-policy",
}

impl ErrorCode {
    /// What to do about it; `None` for `invalid-policy`, whose kinds say
    /// it in their message or their own help.
    pub fn help(self) -> Option<&'static str> {
        Some(match self {
            ErrorCode::UnknownField => {
                "check the spelling and the indentation: the field must be one of those listed"
            }
            ErrorCode::UnsupportedField => {
                "remove the field: meshpolicy cannot enforce it in a filter"
            }
            ErrorCode::WrongType => "write a value of the expected type",
            ErrorCode::InvalidJson => {
                "the plugin configuration must be one JSON document (Istio's `pluginConfig`)"
            }
            ErrorCode::UnknownKind => {
                "a policy document starts with `apiVersion: meshpolicy.dev/v1alpha2` and `kind: TrafficPolicy`"
            }
            ErrorCode::InvalidRegex => {
                "patterns are RE2 syntax (Rust's `regex` without Unicode classes), compiled with a size and nesting limit"
            }
            ErrorCode::InvalidWeights => {
                "weights are relative (`w / Σw`): give at least one destination a weight above 0, and keep the sum within the limit"
            }
            ErrorCode::Duplicate => "give each one a name or value of its own, or remove one",
            ErrorCode::LimitExceeded => {
                "docs/limits.md states every limit and why: split the policy, or make the value smaller"
            }
            ErrorCode::InvalidCel => "docs/telemetry.md lists the CEL subset meshpolicy evaluates",
            ErrorCode::InvalidPolicy => return None,
        })
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
