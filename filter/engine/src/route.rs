//! One HTTP route rule of a virtual service, organised by Istio field
//! (linkerd's `http/route/match/*`, Envoy's `*RouteEntryImpl`): a reviewer
//! of one field opens one file.
//!
//! - `rule`: a compiled `http[i]` rule, its compile (Istio's
//!   one-action-per-rule check) and which entry a request satisfies;
//! - `match/`: one file per match condition, each with its compile from the
//!   model, its evaluation on a request and its explain-a-miss text;
//! - `action/`: one file per action field, each with its compile and what it
//!   does to the decision (with its explain note);
//! - `view`: the request as matchers and actions see it.
//!
//! `crate::decide` orchestrates them per request.

pub(crate) mod action;
pub(crate) mod r#match;
pub(crate) mod rule;
pub(crate) mod view;
