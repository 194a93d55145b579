//! What is wrong with a policy: one variant per kind of problem, with its
//! details as fields, its one-line message as `Display`, and a stable code.
//! Several variants share a code (the code is what tools match on; the
//! variant is what the engine knows), so a reworded message never changes
//! what `--error-format json` reports.

use std::fmt;

use crate::compile::{API_VERSION, API_VERSION_V1, KIND};
use crate::error::{ErrorCode, FieldPath};
use crate::http_syntax::SyntaxError;
use crate::route::action::rewrite::ReplacementError;
use crate::router::{CORS_METHODS, DurationError, RETRY_ON};
use crate::schema::V1_HTTP;
use crate::telemetry::ISTIO_METRICS;

/// One kind of problem in a policy, with its details.
///
/// Values the user wrote are carried as text (a `f64` percentage as
/// written), so that kinds compare with `Eq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyErrorKind {
    // === the document's shape (schema walk) ===
    #[error("unknown field `{name}`, expected one of {expected}")]
    UnknownField { name: String, expected: String },
    #[error("field `{name}` is not supported by meshpolicy: {hint}")]
    UnsupportedField {
        name: &'static str,
        hint: &'static str,
    },
    #[error("must not be null, expected {expected}")]
    Null { expected: &'static str },
    #[error("invalid value `{value}`, expected {expected}")]
    OutOfRange {
        value: String,
        expected: &'static str,
    },
    #[error("invalid type: {found}, expected {expected}")]
    WrongType {
        found: String,
        expected: &'static str,
    },
    #[error("invalid JSON at line {line} column {column}: {reason}")]
    InvalidJson {
        line: usize,
        column: usize,
        reason: String,
    },
    /// The typed model refused a document the schema walk accepted (the
    /// walk and the model disagree: a bug, reported rather than hidden).
    #[error("{reason}")]
    Model { reason: String },
    #[error("invalid policy")]
    Unreadable,
    #[error("policy is {bytes} bytes as JSON, the limit is {limit}")]
    PolicyTooLarge { bytes: usize, limit: usize },

    // === the document ===
    #[error(
        "`{}` is no longer supported: set `apiVersion: {}` and {}",
        API_VERSION_V1,
        API_VERSION,
        V1_HTTP
    )]
    ApiVersionV1,
    #[error("unsupported apiVersion `{found}`, expected `{}`", API_VERSION)]
    UnsupportedApiVersion { found: String },
    #[error("unsupported kind `{found}`, expected `{}`", KIND)]
    UnsupportedKind { found: String },
    #[error("`{name}` cannot be the decision header")]
    ReservedDecisionHeader { name: String },
    #[error("too many rules ({count}), the limit is {limit}")]
    TooManyRules { count: usize, limit: usize },

    // === virtual services and hosts ===
    #[error("duplicate route name `{name}`, also used by {also}")]
    DuplicateRuleName { name: String, also: FieldPath },
    #[error(
        "virtual service name `{name}` must be a lower-case DNS-1123 name (it names the rendered VirtualServices)"
    )]
    InvalidVirtualServiceName { name: String },
    #[error("duplicate virtual service name `{name}`, also used by {also}")]
    DuplicateVirtualServiceName { name: String, also: FieldPath },
    #[error("namespace `{namespace}` must be a DNS-1123 label")]
    InvalidNamespace { namespace: String },
    #[error("virtual service must have at least one host")]
    NoHosts,
    #[error("duplicate host `{raw}` (`{host}`)")]
    DuplicateHost { raw: String, host: String },
    #[error("host must not be empty")]
    EmptyHost,
    #[error("invalid host `{raw}`: a wildcard is allowed only as the leading `*.`")]
    MisplacedWildcard { raw: String },
    #[error("invalid host `{raw}`: not a DNS name")]
    NotDnsName { raw: String },
    #[error(
        "short host `{raw}` needs a namespace to resolve in: set the virtual service's `namespace` or `metadata.namespace`, or write the FQDN"
    )]
    ShortHostWithoutNamespace { raw: String },
    #[error(
        "virtual services merged for host `{host}` must have the same `exportTo` (the rendered VirtualService has one): {first} and {other}"
    )]
    MergedExportToDiffers {
        host: String,
        first: String,
        other: String,
    },
    #[error(
        "decision key `{key}` would name two different sets of router options (also {also}): change one rule's options slightly"
    )]
    DecisionKeyCollision { key: String, also: FieldPath },
    #[error("subsets are keyed by the host's FQDN: write `{host}.<namespace>.svc.cluster.local`")]
    SubsetHostNotFqdn { host: String },
    #[error("subset name is invalid: `{name}`")]
    InvalidSubsetName { name: String },

    // === rules ===
    #[error("sticky requires `route`")]
    StickyWithoutRoute,
    /// Istio's wording: `HTTP route cannot contain both route and redirect`.
    #[error("{subject} cannot contain both {first} and {second}")]
    ConflictingFields {
        subject: &'static str,
        first: &'static str,
        second: &'static str,
    },
    #[error("HTTP route, redirect or direct_response is required")]
    NoAction,

    // === matching ===
    #[error("too many match entries ({count}), the limit is {limit}")]
    TooManyMatches { count: usize, limit: usize },
    #[error(
        "match entry may not be empty: set at least one condition, or remove `match` to match every request"
    )]
    EmptyMatch,
    #[error("uri match must set one of `exact`, `prefix` or `regex`")]
    EmptyUriMatch,
    #[error("only one of `exact`, `prefix` or `regex` may be set")]
    SeveralStringMatches,
    #[error("query parameter name must not be empty")]
    EmptyQueryParamName,
    #[error("label key must not be empty")]
    EmptyLabelKey,
    #[error("sourceNamespace match `{namespace}` is invalid")]
    InvalidSourceNamespace { namespace: String },
    #[error("pattern is {len} bytes long, the limit is {limit}")]
    PatternTooLong { len: usize, limit: usize },
    #[error("{reason} in `{pattern}`")]
    InvalidRegex { pattern: String, reason: String },
    #[error(
        "the rules have {count} regexes, the limit is {limit} (each may scan a 60 KiB header of every request)"
    )]
    TooManyRuleRegexes { count: usize, limit: usize },
    #[error(
        "the policy has {count} regexes, the limit is {limit} (compiling them is what configuring the filter costs)"
    )]
    TooManyPolicyRegexes { count: usize, limit: usize },
    #[error("port number {port} must be in the range 1..65535")]
    PortOutOfRange { port: u32 },

    // === headers ===
    #[error("invalid header name `{name}`")]
    InvalidHeaderName { name: String },
    #[error("header name is {len} bytes long, the limit is {limit}")]
    HeaderNameTooLong { len: usize, limit: usize },
    #[error("header value is {len} bytes long, the limit is {limit}")]
    HeaderValueTooLong { len: usize, limit: usize },
    /// A header value Envoy refuses.
    #[error("{error}")]
    InvalidHeaderValue { error: SyntaxError },
    #[error("header `{name}` cannot be changed here: use `rewrite` for the path and authority")]
    PseudoHeaderEdit { name: String },
    #[error("header `{name}` is the decision header, meshpolicy sets it")]
    DecisionHeaderEdit { name: String },

    // === route, sticky ===
    #[error("too many destinations ({count}), the limit is {limit}")]
    TooManyDestinations { count: usize, limit: usize },
    #[error("destination is required")]
    MissingDestination,
    #[error("total destination weight = 0")]
    ZeroTotalWeight,
    #[error("total destination weight = {total}, the limit is {limit}")]
    TotalWeightTooLarge { total: u64, limit: u64 },
    #[error("destination host must not be empty")]
    EmptyDestinationHost,
    #[error("invalid destination host *")]
    WildcardDestinationHost,
    #[error("subset name cannot be empty")]
    EmptySubsetName,
    #[error(
        "generate needs `cookie`: a drawn key can only be given back to the client as a cookie"
    )]
    GenerateWithoutCookie,
    #[error("`{name}` is not a cookie name (RFC 6265 token)")]
    InvalidCookieName { name: String },
    #[error("sticky must set exactly one of `header`, `cookie` or `queryParam`")]
    StickyKeyCount,
    #[error("sticky key name must not be empty")]
    EmptyStickyKey,

    // === redirect, directResponse, fault ===
    #[error("redirect must specify URI, authority, scheme, or port")]
    EmptyRedirect,
    #[error("{code} is not a valid redirect code, must be one of 301, 302, 303, 307, 308")]
    InvalidRedirectCode { code: u32 },
    #[error("invalid redirect scheme, must be \"http\" or \"https\"")]
    InvalidRedirectScheme,
    #[error("HTTP status {status} is not in range 200-599")]
    InvalidHttpStatus { status: u32 },
    #[error("large direct_responses may impact control plane performance, must be less than 1MB")]
    BodyTooLarge,
    #[error("HTTP fault injection must have an abort and/or a delay")]
    EmptyFault,
    #[error("abort configured, but error type not set: set `httpStatus`")]
    AbortWithoutStatus,
    #[error("percentage {value} is not in range 0..100")]
    PercentOutOfRange { value: String },
    #[error("percentage {value} is neither 0.0, nor in range [0.0001, 100.0]")]
    InvalidPercentage { value: String },

    // === rewrite, paths, authorities ===
    #[error("rewrite may only contain one of URI or UriRegexRewrite")]
    BothUriRewrites,
    #[error(
        "rewrite must specify at least one of URI, UriRegexRewrite, or authority. Only one of URI or UriRegexRewrite may be specified"
    )]
    EmptyRewrite,
    #[error("UriRegexRewrite requires both Rewrite and Match fields to be specified")]
    IncompleteRegexRewrite,
    /// A path (rewrite or redirect `uri`, a regex rewrite's literal text)
    /// Envoy would refuse.
    #[error("{error}")]
    InvalidPath { error: SyntaxError },
    /// An authority Envoy would refuse.
    #[error("{error}")]
    InvalidAuthority { error: SyntaxError },
    /// A `uriRegexRewrite.rewrite` that is not a valid replacement.
    #[error("{error}")]
    InvalidReplacement { error: ReplacementError },
    #[error("rewrite uses group \\{group} but the regex has {groups} group(s)")]
    MissingRegexGroup { group: usize, groups: usize },

    // === router options (Envoy enforces them) ===
    /// A duration Istio refuses.
    #[error("{error}")]
    InvalidDuration { error: DurationError },
    #[error("http retry policy configured when attempts are set to 0 (disabled)")]
    RetriesDisabled,
    #[error("`{policy}` is not a valid retryOn policy: use an HTTP status code or one of {}", RETRY_ON.join(", "))]
    InvalidRetryOn { policy: String },
    #[error("destination is required for mirrors")]
    MirrorWithoutDestination,
    #[error("mirror percentage must have a max value of 100 (it has {value})")]
    MirrorPercentTooHigh { value: String },
    #[error("mirror percentage must have a min value of 0 (it has {value})")]
    MirrorPercentNegative { value: String },
    #[error("delay requires `fixedDelay`")]
    DelayWithoutFixedDelay,
    #[error(
        "'' is not a valid match type for CORS allow origins: set one of `exact`, `prefix`, `regex`"
    )]
    EmptyCorsOrigin,
    #[error("set only one of `exact`, `prefix`, `regex`")]
    SeveralCorsOriginMatches,
    #[error("`{method}` is not a supported HTTP method: use one of {}", CORS_METHODS.join(", "))]
    UnsupportedCorsMethod { method: String },
    #[error("max_age duration is accurate only to seconds precision")]
    MaxAgePrecision,
    #[error("`{value}` is not one of UNSPECIFIED, FORWARD, IGNORE")]
    InvalidUnmatchedPreflights { value: String },
    #[error("duplicate entries in exportTo for entry {entry}")]
    DuplicateExportTo { entry: String },
    #[error("`{entry}` is not `.`, `*` or a namespace name (a DNS-1123 label)")]
    InvalidExportTo { entry: String },
    #[error("cannot have both public (*) and non-public exportTo values for a resource")]
    MixedExportTo,
    #[error(
        "destination rules are keyed by the host's FQDN: write `{host}.<namespace>.svc.cluster.local`"
    )]
    DestinationRuleHostNotFqdn { host: String },
    #[error(
        "destination rule with workload selector cannot have exportTo beyond current namespace"
    )]
    WorkloadSelectorExportTo,
    #[error("subset `{name}` of `{host}` has no labels in `spec.subsets`: define it there first")]
    UndefinedDestinationRuleSubset { name: String, host: String },

    // === telemetry ===
    #[error("metric prefix `{prefix}` must match `[a-zA-Z_][a-zA-Z0-9_]*`")]
    InvalidMetricPrefix { prefix: String },
    #[error("providers.name may not be empty")]
    EmptyProviderName,
    #[error("only one of `metric` or `customMetric` may be set")]
    MetricAndCustomMetric,
    #[error("customMetric may not be empty")]
    EmptyCustomMetric,
    #[error(
        "unknown metric `{name}`; meshpolicy's metrics are requests_total, request_duration_milliseconds, request_bytes, response_bytes"
    )]
    UnknownCustomMetric { name: String },
    #[error("unknown metric `{name}`; expected one of {}", ISTIO_METRICS.join(", "))]
    UnknownMetric { name: String },
    #[error("unknown mode `{mode}`; expected one of CLIENT_AND_SERVER, CLIENT, SERVER")]
    UnknownMode { mode: String },
    #[error("tag name `{name}` is not a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`)")]
    InvalidTagName { name: String },
    #[error("maxValues must be at least 1")]
    ZeroMaxValues,
    #[error("value must not be set when operation is REMOVE")]
    ValueWithRemove,
    #[error("maxValues may only be set when operation is UPSERT")]
    MaxValuesWithRemove,
    #[error("value must be set when operation is UPSERT")]
    MissingUpsertValue,
    #[error("invalid CEL expression `{expression}`: {reason}")]
    InvalidCel { expression: String, reason: String },
    #[error("unknown operation `{operation}`; expected UPSERT or REMOVE")]
    UnknownOperation { operation: String },
}

impl PolicyErrorKind {
    /// The stable code tools match on.
    pub fn code(&self) -> ErrorCode {
        use PolicyErrorKind as K;
        match self {
            K::UnknownField { .. } => ErrorCode::UnknownField,
            K::UnsupportedField { .. } => ErrorCode::UnsupportedField,
            K::Null { .. } | K::OutOfRange { .. } | K::WrongType { .. } => ErrorCode::WrongType,
            K::InvalidJson { .. } => ErrorCode::InvalidJson,
            K::ApiVersionV1 | K::UnsupportedApiVersion { .. } | K::UnsupportedKind { .. } => {
                ErrorCode::UnknownKind
            }
            K::InvalidRegex { .. } | K::MissingRegexGroup { .. } => ErrorCode::InvalidRegex,
            K::ZeroTotalWeight | K::TotalWeightTooLarge { .. } => ErrorCode::InvalidWeights,
            K::DuplicateRuleName { .. }
            | K::DuplicateVirtualServiceName { .. }
            | K::DuplicateHost { .. }
            | K::DuplicateExportTo { .. } => ErrorCode::Duplicate,
            K::PolicyTooLarge { .. }
            | K::TooManyRules { .. }
            | K::TooManyMatches { .. }
            | K::PatternTooLong { .. }
            | K::TooManyRuleRegexes { .. }
            | K::TooManyPolicyRegexes { .. }
            | K::HeaderNameTooLong { .. }
            | K::HeaderValueTooLong { .. }
            | K::TooManyDestinations { .. }
            | K::BodyTooLarge => ErrorCode::LimitExceeded,
            K::InvalidCel { .. } => ErrorCode::InvalidCel,
            K::Model { .. }
            | K::Unreadable
            | K::ReservedDecisionHeader { .. }
            | K::InvalidVirtualServiceName { .. }
            | K::InvalidNamespace { .. }
            | K::NoHosts
            | K::EmptyHost
            | K::MisplacedWildcard { .. }
            | K::NotDnsName { .. }
            | K::ShortHostWithoutNamespace { .. }
            | K::MergedExportToDiffers { .. }
            | K::DecisionKeyCollision { .. }
            | K::SubsetHostNotFqdn { .. }
            | K::InvalidSubsetName { .. }
            | K::StickyWithoutRoute
            | K::ConflictingFields { .. }
            | K::NoAction
            | K::EmptyMatch
            | K::EmptyUriMatch
            | K::SeveralStringMatches
            | K::EmptyQueryParamName
            | K::EmptyLabelKey
            | K::InvalidSourceNamespace { .. }
            | K::PortOutOfRange { .. }
            | K::InvalidHeaderName { .. }
            | K::InvalidHeaderValue { .. }
            | K::PseudoHeaderEdit { .. }
            | K::DecisionHeaderEdit { .. }
            | K::MissingDestination
            | K::EmptyDestinationHost
            | K::WildcardDestinationHost
            | K::EmptySubsetName
            | K::GenerateWithoutCookie
            | K::InvalidCookieName { .. }
            | K::StickyKeyCount
            | K::EmptyStickyKey
            | K::EmptyRedirect
            | K::InvalidRedirectCode { .. }
            | K::InvalidRedirectScheme
            | K::InvalidHttpStatus { .. }
            | K::EmptyFault
            | K::AbortWithoutStatus
            | K::PercentOutOfRange { .. }
            | K::InvalidPercentage { .. }
            | K::BothUriRewrites
            | K::EmptyRewrite
            | K::IncompleteRegexRewrite
            | K::InvalidPath { .. }
            | K::InvalidAuthority { .. }
            | K::InvalidReplacement { .. }
            | K::InvalidDuration { .. }
            | K::RetriesDisabled
            | K::InvalidRetryOn { .. }
            | K::MirrorWithoutDestination
            | K::MirrorPercentTooHigh { .. }
            | K::MirrorPercentNegative { .. }
            | K::DelayWithoutFixedDelay
            | K::EmptyCorsOrigin
            | K::SeveralCorsOriginMatches
            | K::UnsupportedCorsMethod { .. }
            | K::MaxAgePrecision
            | K::InvalidUnmatchedPreflights { .. }
            | K::InvalidExportTo { .. }
            | K::MixedExportTo
            | K::DestinationRuleHostNotFqdn { .. }
            | K::WorkloadSelectorExportTo
            | K::UndefinedDestinationRuleSubset { .. }
            | K::InvalidMetricPrefix { .. }
            | K::EmptyProviderName
            | K::MetricAndCustomMetric
            | K::EmptyCustomMetric
            | K::UnknownCustomMetric { .. }
            | K::UnknownMetric { .. }
            | K::UnknownMode { .. }
            | K::InvalidTagName { .. }
            | K::ZeroMaxValues
            | K::ValueWithRemove
            | K::MaxValuesWithRemove
            | K::MissingUpsertValue
            | K::UnknownOperation { .. } => ErrorCode::InvalidPolicy,
        }
    }

    /// What to do about it: the kind's own help, else its code's.
    pub fn help(&self) -> Option<&'static str> {
        use PolicyErrorKind as K;
        let own = match self {
            K::ApiVersionV1 => {
                "a v1alpha2 policy scopes its rules by host: each virtual service lists the `hosts` its rules serve"
            }
            K::ShortHostWithoutNamespace { .. } => {
                "short hosts resolve in the virtual service's namespace, as Istio resolves them"
            }
            K::Model { .. } => {
                "the schema check and the typed model disagree: please report this document"
            }
            K::ConflictingFields { .. } | K::NoAction => {
                "a rule has exactly one of `route`, `redirect` and `directResponse`; `rewrite` and `fault` go with `route`"
            }
            K::StickyWithoutRoute => "`sticky` chooses among a rule's `route` destinations",
            K::InvalidHeaderName { .. } => {
                "header names are RFC 7230 tokens: letters, digits and any of !#$%&'*+-.^_`|~"
            }
            K::InvalidDuration { .. } | K::MaxAgePrecision => {
                "durations are written as Istio's: a number and a unit (`h`, `m`, `s`, `ms`), e.g. `1m30s`"
            }
            K::InvalidVirtualServiceName { .. }
            | K::InvalidNamespace { .. }
            | K::InvalidSubsetName { .. }
            | K::InvalidSourceNamespace { .. } => {
                "Kubernetes names: lower-case letters, digits and `-`, starting and ending with a letter or digit"
            }
            K::SubsetHostNotFqdn { .. } | K::DestinationRuleHostNotFqdn { .. } => {
                "a short host resolves differently in each namespace; the FQDN names one service"
            }
            K::PseudoHeaderEdit { .. } | K::DecisionHeaderEdit { .. } => {
                "the filter owns `:path`, `:authority` and the decision header; `rewrite` changes the first two"
            }
            _ => return self.code().help(),
        };
        Some(own)
    }
}

impl miette::Diagnostic for PolicyErrorKind {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(PolicyErrorKind::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        PolicyErrorKind::help(self).map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}
