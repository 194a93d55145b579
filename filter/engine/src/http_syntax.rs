//! What Envoy accepts in the request line and headers a policy makes it
//! send (issue 15 item 5): checked once at configure time for every value a
//! policy writes, and at request time for paths a regex rewrite builds, so a
//! rewrite or header edit never produces what Envoy's codecs reject.
//!
//! The rules, from Envoy's source:
//! - `:path`: `source/common/http/http1/balsa_parser.cc` `isUrlValid`
//!   accepts a request target starting with `/` whose other bytes are
//!   `0x21..=0x7e` (and HT, FF); bytes from `0x80` (raw non-ASCII) and
//!   spaces are refused. oghttp2's `HeaderValidator::IsValidPath`
//!   (`kValidPathChars`) allows only RFC 3986 `pchar`, `/` and `?`, and
//!   Envoy refuses a `#fragment` in a path (runtime guard
//!   `http_reject_path_with_fragment`; a fragment is no part of a
//!   request target: RFC 9112 §3.2, RFC 9113 §8.3.1). We accept what every
//!   codec accepts: `/` first, then printable ASCII without `#` and without
//!   HT/FF. (Bytes such as `"` `<` `|` that HTTP/1 passes stay accepted: a
//!   client may send them and a rewrite that keeps them must not fail.)
//! - header values: `HeaderUtility::headerValueIsValid`, oghttp2's
//!   `IsValidHeaderValue` with obs-text allowed: HT, SP, `0x21..=0x7e` and
//!   `0x80..=0xff`; any other control byte (NUL, CR, LF, `\x01`, DEL…) is
//!   refused.
//! - `:authority`: `HeaderUtility::authorityIsValid` (oghttp2
//!   `kValidAuthorityChars`): RFC 3986 `reg-name`/IP-literal characters and
//!   `:`; no space, `/`, `?`, `#`, `@` (no userinfo in HTTP/2). We also
//!   check the shape `host[:port]` with a port of 1..65535.

use std::sync::Arc;

use crate::decision::{Decision, LocalResponse};

/// Why a value is not one Envoy sends or accepts; each names the value as
/// written and the first byte at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("{what} `{}` does not start with `/`", .path.escape_debug())]
    PathStart { what: &'static str, path: String },
    #[error(
        "{what} `{}` is not a path Envoy accepts: {} at byte {at} (only printable ASCII{}, \
         percent-encode the rest)",
        .path.escape_debug(),
        describe(*.byte),
        if *.allow_fragment { "" } else { " without `#`" }
    )]
    PathByte {
        what: &'static str,
        path: String,
        byte: u8,
        at: usize,
        allow_fragment: bool,
    },
    #[error(
        "header value contains {} at byte {at}: Envoy refuses control characters in header values",
        describe(*.byte)
    )]
    HeaderValueByte { byte: u8, at: usize },
    #[error("authority must not be empty")]
    EmptyAuthority,
    #[error(
        "authority `{}` is not a host[:port]: {} at byte {at}",
        .authority.escape_debug(),
        describe(*.byte)
    )]
    AuthorityByte {
        authority: String,
        byte: u8,
        at: usize,
    },
    #[error("authority `{authority}` is not a host[:port]")]
    AuthorityShape { authority: String },
    #[error("authority `{authority}` has port `{port}`, expected a number in 1..65535")]
    AuthorityPort { authority: String, port: String },
    #[error(
        "rewrite `{}` writes {} into the path: Envoy accepts only printable ASCII without `#` \
         (percent-encode it)",
        .rewrite.escape_debug(),
        describe(*.byte)
    )]
    RewriteByte { rewrite: String, byte: u8 },
}

/// Why `path` is not a `:path` Envoy sends (`None`: it is one). `what`
/// names the value in the message (`rewrite uri`, `rewritten path`, …).
pub(crate) fn path_error(what: &'static str, path: &str) -> Option<SyntaxError> {
    path_error_with(what, path, false)
}

/// As [`path_error`] for a redirect's path: a `Location` may carry a
/// fragment (RFC 9110 §10.2.2), a `:path` may not.
pub(crate) fn redirect_path_error(what: &'static str, path: &str) -> Option<SyntaxError> {
    path_error_with(what, path, true)
}

fn path_error_with(what: &'static str, path: &str, allow_fragment: bool) -> Option<SyntaxError> {
    if !path.starts_with('/') {
        return Some(SyntaxError::PathStart {
            what,
            path: path.to_owned(),
        });
    }
    let bad = path
        .bytes()
        .position(|b| !(0x21..=0x7e).contains(&b) || (b == b'#' && !allow_fragment))?;
    Some(SyntaxError::PathByte {
        what,
        path: path.to_owned(),
        byte: path.as_bytes().get(bad).copied().unwrap_or(0),
        at: bad,
        allow_fragment,
    })
}

/// Why `value` is not a header value Envoy accepts (`None`: it is one).
pub(crate) fn header_value_error(value: &str) -> Option<SyntaxError> {
    let bad = value
        .bytes()
        .position(|b| (b < 0x20 && b != b'\t') || b == 0x7f)?;
    Some(SyntaxError::HeaderValueByte {
        byte: value.as_bytes().get(bad).copied().unwrap_or(0),
        at: bad,
    })
}

/// Why `authority` is not a `host[:port]` Envoy accepts as `:authority`.
pub(crate) fn authority_error(authority: &str) -> Option<SyntaxError> {
    if authority.is_empty() {
        return Some(SyntaxError::EmptyAuthority);
    }
    let valid = |b: u8| b.is_ascii_alphanumeric() || b"-._~%!$&'()[]*+,;=:".contains(&b);
    if let Some(bad) = authority.bytes().position(|b| !valid(b)) {
        return Some(SyntaxError::AuthorityByte {
            authority: authority.to_owned(),
            byte: authority.as_bytes().get(bad).copied().unwrap_or(0),
            at: bad,
        });
    }
    let shape = || SyntaxError::AuthorityShape {
        authority: authority.to_owned(),
    };
    // `[v6]`, `[v6]:port`, `host`, `host:port`.
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) if !v6.is_empty() && !v6.contains(['[', ']']) => {
                match after.strip_prefix(':') {
                    Some(port) => (v6, Some(port)),
                    None if after.is_empty() => (v6, None),
                    None => return Some(shape()),
                }
            }
            _ => return Some(shape()),
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if host.is_empty() || host.contains(['[', ']']) {
        return Some(shape());
    }
    if let Some(port) = port {
        let number = port
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| port.parse::<u32>().ok())
            .flatten();
        if !number.is_some_and(|n| (1..=65535).contains(&n)) {
            return Some(SyntaxError::AuthorityPort {
                authority: authority.to_owned(),
                port: port.to_owned(),
            });
        }
    }
    None
}

/// Why the literal text of an Istio regex rewrite (`\1`-style groups
/// removed) cannot be part of a path (`None`: it can).
pub(crate) fn rewrite_literal_error(istio_rewrite: &str) -> Option<SyntaxError> {
    let mut literal = String::with_capacity(istio_rewrite.len() + 1);
    literal.push('/');
    let mut chars = istio_rewrite.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // `\N` is a group, `\\` a literal backslash (checked below);
            // convert_replacement reports other escapes.
            if chars.next() == Some('\\') {
                literal.push('\\');
            }
        } else {
            literal.push(c);
        }
    }
    path_error("x", &literal).map(|_| SyntaxError::RewriteByte {
        rewrite: istio_rewrite.to_owned(),
        byte: literal
            .bytes()
            .find(|&b| !(0x21..=0x7e).contains(&b) || b == b'#')
            .unwrap_or(0),
    })
}

/// A rewrite refused at request time (its path is not one Envoy accepts):
/// the request is answered `400 Bad Request`, as Envoy's HTTP/1 codec
/// answers a request target it cannot accept (`sendProtocolError`: the
/// status text as a `text/plain` body), and goes nowhere (no
/// destination, no header edit but the decision header's removal).
pub(crate) fn refuse_rewrite(d: &mut Decision, why: String, unknown: &Arc<str>) {
    d.rewrite_rejected = Some(why);
    d.destination = None;
    d.labels.policy_destination = unknown.clone();
    d.request_headers.truncate(1);
    d.response_headers.clear();
    d.authority = None;
    d.local_response = Some(LocalResponse {
        status: 400,
        headers: vec![("content-type".to_owned(), "text/plain".to_owned())],
        body: "Bad Request".to_owned(),
    });
}

/// `a space`, `NUL`, `` `#` ``, `byte 0xc3`.
fn describe(byte: u8) -> String {
    match byte {
        b' ' => "a space".to_owned(),
        0 => "NUL".to_owned(),
        b'\t' => "a tab".to_owned(),
        b'\r' => "CR".to_owned(),
        b'\n' => "LF".to_owned(),
        0x7f => "DEL (0x7f)".to_owned(),
        b if b < 0x20 => format!("control character 0x{b:02x}"),
        b if b >= 0x80 => format!("non-ASCII byte 0x{b:02x}"),
        b => format!("`{}`", char::from(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_envoy_accepts_and_refuses() {
        for ok in ["/", "/a/b?c=d&e", "/%20x", "/a:b@c;d=e", "/~user/a|b\"<>"] {
            assert_eq!(path_error("p", ok), None, "{ok}");
        }
        for (bad, says) in [
            ("/a b", "a space at byte 2"),
            ("/a#frag", "`#` at byte 2"),
            ("/caf\u{e9}", "non-ASCII byte 0xc3 at byte 4"),
            ("/a\u{1}", "control character 0x01"),
            ("/a\u{7f}", "DEL (0x7f)"),
            ("/a\tb", "a tab"),
            ("a", "does not start with `/`"),
            ("", "does not start with `/`"),
        ] {
            let e = path_error("rewrite uri", bad)
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{bad:?}: {e}");
            assert!(e.starts_with("rewrite uri `"), "{e}");
        }
        assert_eq!(redirect_path_error("redirect uri", "/a#top"), None);
        assert!(redirect_path_error("redirect uri", "/a b").is_some());
    }

    #[test]
    fn header_values_envoy_accepts_and_refuses() {
        for ok in ["", "a b\tc", "caf\u{e9}", "!~"] {
            assert_eq!(header_value_error(ok), None, "{ok}");
        }
        for bad in ["a\u{1}", "a\u{7f}", "a\rb", "a\nb", "a\0"] {
            assert!(header_value_error(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn authorities_are_host_and_port() {
        for ok in [
            "ratings",
            "ratings.prod:9080",
            "[::1]",
            "[::1]:80",
            "a_b.c-d",
        ] {
            assert_eq!(authority_error(ok), None, "{ok}");
        }
        for (bad, says) in [
            ("evil host:80", "a space at byte 4"),
            ("", "must not be empty"),
            ("a/b", "`/` at byte 1"),
            ("user@host", "`@` at byte 4"),
            ("host:0", "port `0`"),
            ("host:99999", "port `99999`"),
            ("host:", "port ``"),
            ("a:1:2", "port `1:2`"),
            ("[::1", "not a host[:port]"),
            (":80", "not a host[:port]"),
            ("h\u{1}", "control character 0x01"),
        ] {
            let e = authority_error(bad)
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_regex_rewrite_literal_is_checked_without_its_groups() {
        assert_eq!(rewrite_literal_error("/v2/\\1?x=\\2"), None);
        assert_eq!(rewrite_literal_error("\\1"), None);
        let e = rewrite_literal_error("/a b/\\1")
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("a space"), "{e}");
        assert!(rewrite_literal_error("/a#\\1").is_some());
        // `\\` is a literal backslash, which HTTP/1 passes
        assert_eq!(rewrite_literal_error("/x\\\\y"), None);
    }
}
