//! What a rule does, one file per Istio field: each with its compiled
//! type, its compile from the model (errors named as Istio's), and what it
//! does to the decision (`act`, with its explain note).

pub(crate) mod direct;
pub(crate) mod fault;
pub(crate) mod header_ops;
pub(crate) mod redirect;
pub(crate) mod rewrite;
pub(crate) mod route;
pub(crate) mod split;
pub(crate) mod sticky;
