//! `sticky` (SPEC §2.3, beyond Istio): the header, cookie or query
//! parameter whose value keeps a user on one destination of a split, and
//! `sticky.generate`, the cookie set for a key drawn when it is missing.
//! Compiled, looked up on the request, explained.

use std::borrow::Cow;
use std::sync::Arc;

use crate::compile::check_header_name;
use crate::decide::Notes;
use crate::decision::{Decision, HeaderOp};
use crate::error::lazy::field;
use crate::error::{Errors, LazyPath, PolicyErrorKind};
use crate::model;
use crate::request::{cookie, query_param};
use crate::route::view::View;

use super::split::mix64;

/// A compiled `sticky`: where the key is read.
#[derive(Debug)]
pub(crate) enum StickyKey {
    Header(Box<str>),
    Cookie(Box<str>),
    QueryParam(Box<str>),
}

/// The cookie `sticky.generate` sets: `<name>=<key><attributes>`.
#[derive(Debug)]
pub(crate) struct GeneratedCookie {
    pub(crate) name: Arc<str>,
    /// `; Path=/; Max-Age=…; HttpOnly; SameSite=Lax`.
    pub(crate) attributes: Arc<str>,
}

/// `sticky.generate`: only with `cookie`; `ttl` a duration of whole
/// seconds (`Max-Age`), absent or zero for a session cookie.
pub(crate) fn generated_cookie(
    s: &model::Sticky,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<GeneratedCookie> {
    let g = s.generate.as_ref()?;
    let gp = field(path, "generate");
    let Some(name) = &s.cookie else {
        errors.push(&gp, PolicyErrorKind::GenerateWithoutCookie);
        return None;
    };
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
    {
        errors.push(
            &field(path, "cookie"),
            PolicyErrorKind::InvalidCookieName { name: name.clone() },
        );
        return None;
    }
    let mut attributes = String::from("; Path=/");
    if let Some(ttl) = &g.ttl {
        match crate::router::parse_duration(ttl) {
            Ok(ns) => {
                let secs = ns / 1_000_000_000;
                if secs > 0 {
                    attributes.push_str(&format!("; Max-Age={secs}"));
                }
            }
            Err(why) => {
                errors.push(
                    &field(&gp, "ttl"),
                    PolicyErrorKind::InvalidDuration { error: why },
                );
                return None;
            }
        }
    }
    attributes.push_str("; HttpOnly; SameSite=Lax");
    Some(GeneratedCookie {
        name: Arc::from(name.as_str()),
        attributes: Arc::from(attributes),
    })
}

pub(crate) fn sticky_key(
    s: &model::Sticky,
    path: &LazyPath<'_>,
    errors: &mut Errors,
) -> Option<StickyKey> {
    let set = [&s.header, &s.cookie, &s.query_param];
    if set.iter().filter(|v| v.is_some()).count() != 1 {
        errors.push(path, PolicyErrorKind::StickyKeyCount);
        return None;
    }
    let (name, which) = if let Some(h) = &s.header {
        check_header_name(h, &field(path, "header"), errors);
        (h, 0)
    } else if let Some(c) = &s.cookie {
        (c, 1)
    } else {
        (s.query_param.as_ref()?, 2)
    };
    if name.is_empty() {
        errors.push(path, PolicyErrorKind::EmptyStickyKey);
        return None;
    }
    Some(match which {
        0 => StickyKey::Header(name.to_ascii_lowercase().into()),
        1 => StickyKey::Cookie(name.as_str().into()),
        _ => StickyKey::QueryParam(name.as_str().into()),
    })
}

// === impl StickyKey ===

impl StickyKey {
    /// The key's value on this request, if it carries one.
    pub(crate) fn find<'v>(&self, view: &'v View<'_, '_>) -> Option<Cow<'v, str>> {
        let req = view.req;
        match self {
            StickyKey::Header(name) => req.header(name),
            StickyKey::Cookie(name) => req
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                .find_map(|(_, v)| cookie(v, name))
                .map(Cow::Borrowed),
            StickyKey::QueryParam(name) => query_param(view.query, name).map(Cow::Borrowed),
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            StickyKey::Header(n) => format!("header `{n}`"),
            StickyKey::Cookie(n) => format!("cookie `{n}`"),
            StickyKey::QueryParam(n) => format!("query parameter `{n}`"),
        }
    }
}

// === impl GeneratedCookie ===

impl GeneratedCookie {
    /// Set the cookie to the drawn `key` on the response.
    pub(crate) fn act(&self, key: &str, d: &mut Decision, note: &mut Notes<'_>) {
        note.add(|| format!("set cookie `{}` to the drawn key", self.name));
        d.response_headers.push(HeaderOp::Add {
            name: Arc::from("set-cookie"),
            value: Arc::from(format!("{}={key}{}", self.name, self.attributes)),
        });
    }
}

/// A key for a user without one: 16 hex digits from the request's
/// randomness (mixed, so that it does not follow the split's `random % Σw`).
pub(crate) fn drawn_key(random: u64) -> String {
    format!("{:016x}", mix64(random ^ 0x7374_6963_6b79_6b65))
}
