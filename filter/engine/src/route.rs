//! One HTTP route rule of a virtual service, organised by Istio field
//! (linkerd's `http/route/match/*`, Envoy's `*RouteEntryImpl`): `match/`
//! holds one file per match condition, each with its compile from the
//! model, its evaluation on a request and its explain-a-miss text.

pub(crate) mod action;
pub(crate) mod r#match;
pub(crate) mod rule;
pub(crate) mod view;
