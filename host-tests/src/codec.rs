//! What Envoy's downstream codecs refuse before any filter sees a request,
//! and how they answer. A filter is never called for such a request in
//! Envoy, so a test host that delivered it would test a path that cannot
//! happen.
//!
//! * A header value (pseudo-headers included) with a character Envoy's
//!   `HeaderUtility::headerValueIsValid` rejects: it is
//!   `http2::adapter::HeaderValidator::IsValidHeaderValue(value,
//!   ObsTextOption::kAllow)` (earlier `nghttp2_check_header_value`), which
//!   allows HTAB, `0x20..=0x7E` and obs-text `0x80..=0xFF`, and refuses NUL,
//!   CR, LF, every other control character and DEL (`0x7F`). The HTTP/1
//!   codec (`source/common/http/http1/codec_impl.cc`, `onHeaderValueImpl`)
//!   answers `400 Bad Request` with response code details
//!   `http1.invalid_characters`; a NUL, CR or LF in the request line
//!   (method, path) is a parse error of the request line, answered `400`
//!   with `http1.codec_error`.
//! * Request headers over Envoy's default limits of the
//!   `HttpConnectionManager` (`max_request_headers_kb: 60`, the map's byte
//!   size, keys plus values; `common_http_protocol_options.max_headers_count:
//!   100`): "requests that exceed this limit will receive a 431 response",
//!   details `http1.headers_too_large` / `http1.too_many_headers`. So no
//!   filter in a default Envoy sees more than 60 KiB of request headers or
//!   more than 100 of them; [`crate::Limits`] carries both (Istio can
//!   change them).
//! * A pseudo-header sent twice (`:path`, `:method`, `:authority`,
//!   `:scheme`): HTTP/1 cannot express it; the HTTP/2 codec refuses the
//!   header block (RFC 9113 section 8.3: pseudo-headers appear once) and,
//!   with `stream_error_on_invalid_http_messaging` false (the default),
//!   resets the stream with details `http2.invalid.header.field`.

use crate::plugin::Plugin;
use crate::state::Dir;
use crate::types::{Action, LocalResponse};

/// Envoy's answer to a request its codec refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A local reply before any filter (HTTP/1).
    Reply(LocalResponse),
    /// The stream is reset, with these response code details (HTTP/2).
    Reset(&'static str),
}

/// `HeaderUtility::headerValueIsValid` (obs-text allowed).
pub(crate) fn header_value_is_valid(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..=0x7e).contains(&b) || b >= 0x80)
}

fn bad_request(details: &str) -> Refusal {
    Refusal::Reply(LocalResponse {
        status: 400,
        details: details.to_string(),
        headers: Vec::new(),
        body: b"Bad Request".to_vec(),
        grpc_status: u32::MAX,
    })
}

fn too_large(details: &str) -> Refusal {
    Refusal::Reply(LocalResponse {
        status: 431,
        details: details.to_string(),
        headers: Vec::new(),
        body: b"Request Header Fields Too Large".to_vec(),
        grpc_status: u32::MAX,
    })
}

/// What Envoy's codec does with these request headers (names already
/// lower-cased); `None` when it passes them to the filter chain.
pub(crate) fn refuse_request<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    headers: &[(K, V)],
    limits: &crate::types::Limits,
) -> Option<Refusal> {
    let bytes = headers.iter().fold(0usize, |sum, (k, v)| {
        sum.saturating_add(k.as_ref().len())
            .saturating_add(v.as_ref().len())
    });
    if bytes > limits.max_request_headers_bytes {
        return Some(too_large("http1.headers_too_large"));
    }
    if headers.len() > limits.max_request_headers {
        return Some(too_large("http1.too_many_headers"));
    }
    for (i, (name, _)) in headers.iter().enumerate() {
        let name = name.as_ref();
        if name.starts_with(b":")
            && headers
                .iter()
                .skip(i + 1)
                .any(|(other, _)| other.as_ref() == name)
        {
            return Some(Refusal::Reset("http2.invalid.header.field"));
        }
    }
    for (name, value) in headers {
        if !header_value_is_valid(value.as_ref()) {
            let request_line = matches!(name.as_ref(), b":path" | b":method");
            return Some(bad_request(if request_line {
                "http1.codec_error"
            } else {
                "http1.invalid_characters"
            }));
        }
    }
    None
}

impl Plugin {
    /// Answers a request the codec refused, as Envoy does: the filter
    /// never hears of the stream.
    pub(crate) fn refuse(
        &mut self,
        id: u32,
        headers: crate::header_list::Headers,
        refusal: Refusal,
    ) -> Action {
        let Some(stream) = self.store.data_mut().streams.get_mut(&id) else {
            return Action::NotDelivered;
        };
        let d = stream.dir_mut(Dir::Request);
        d.headers = headers;
        d.headers_started = true;
        match refusal {
            Refusal::Reply(reply) => {
                stream.refused = Some(reply.details.clone());
                self.local_reply(id, reply, false);
            }
            Refusal::Reset(details) => {
                stream.refused = Some(details.to_string());
                stream.reset = true;
            }
        }
        Action::NotDelivered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(headers: &[(&str, &str)]) -> Option<String> {
        refuse_request(headers, &crate::types::Limits::default()).map(|r| match r {
            Refusal::Reply(reply) => format!("{} {}", reply.status, reply.details),
            Refusal::Reset(details) => format!("reset {details}"),
        })
    }

    #[test]
    fn control_characters_in_values_are_refused_as_envoy_does() {
        for bad in ["a\rb", "a\nb", "a\0b", "a\x01b", "a\x7fb", "a\x1fb"] {
            assert_eq!(
                details(&[(":path", "/"), ("x", bad)]).as_deref(),
                Some("400 http1.invalid_characters"),
                "{bad:?}"
            );
        }
        for good in ["a\tb", "a b", "~!\"", "caf\u{e9}"] {
            assert_eq!(details(&[(":path", "/"), ("x", good)]), None, "{good:?}");
        }
    }

    #[test]
    fn envoys_default_header_limits_answer_431() {
        let long = "a".repeat(60 * 1024 - 7);
        let at_limit = [(":path", "/"), ("x", long.as_str())];
        assert_eq!(details(&at_limit), None);
        let longer = format!("{long}a");
        let past = [(":path", "/"), ("x", longer.as_str())];
        assert_eq!(
            details(&past).as_deref(),
            Some("431 http1.headers_too_large")
        );
        let names: Vec<String> = (0..101).map(|i| format!("h{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
        assert_eq!(details(&many[..100]), None);
        assert_eq!(
            details(&many).as_deref(),
            Some("431 http1.too_many_headers")
        );
    }

    #[test]
    fn obs_text_bytes_are_allowed() {
        assert!(header_value_is_valid(&[0x80, 0xff, b'a']));
        assert!(!header_value_is_valid(&[0x80, 0x00]));
    }

    #[test]
    fn nul_in_path_is_a_request_line_error() {
        assert_eq!(
            details(&[(":method", "GET"), (":path", "/a\0b")]).as_deref(),
            Some("400 http1.codec_error")
        );
    }

    #[test]
    fn a_repeated_pseudo_header_resets_the_stream() {
        assert_eq!(
            details(&[(":path", "/a"), (":path", "/b")]).as_deref(),
            Some("reset http2.invalid.header.field")
        );
        assert_eq!(details(&[("x", "1"), ("x", "2"), (":path", "/")]), None);
    }
}
