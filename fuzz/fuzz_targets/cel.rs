//! meshpolicy's CEL subset (`meshpolicy-cel`): any expression, raw or built
//! from the grammar's pieces, compiled and evaluated against arbitrary
//! attributes (any property bytes, any headers), never panics; an
//! expression that compiles keeps its source.
#![no_main]

use std::borrow::Cow;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use meshpolicy_cel::{Attributes, HeaderMap, Program};

/// Pieces of the grammar, so that most inputs reach the evaluator.
const PIECES: &[&str] = &[
    "request.host", "request.headers", "request.headers['x-tenant']", "request.size",
    "response.code", "response.headers", "response.trailers", "destination.port",
    "connection.id", "connection.mtls", "upstream_peer.labels", "upstream_peer.labels.app",
    "downstream_peer.app", "xds.cluster_name", "x_tenant", "'x-tenant'",
    "1", "-1", "2u", "1.5", "9223372036854775807", "-9223372036854775808", "18446744073709551615u",
    "'a'", "r'\\d'", "\"b\"", "true", "false", "null",
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!", "?", ":",
    "(", ")", "[", "]", ".", ",", "in",
    "has(", "string(", "int(", "uint(", "double(", "size(",
    ".startsWith(", ".endsWith(", ".contains(", ".size(", ".lowerAscii(", ".upperAscii(",
];

/// Attribute paths the subset knows, so that properties are found.
const PATHS: &[&str] = &[
    "request.host", "request.size", "response.code", "destination.port", "connection.id",
    "connection.mtls", "upstream_peer.labels", "upstream_peer.app", "downstream_peer.app",
    "xds.cluster_name", "xds.listener_direction",
];

#[derive(Debug, Arbitrary)]
struct Input {
    raw: String,
    pieces: Vec<u8>,
    properties: Vec<(u8, Option<String>, Vec<u8>)>,
    headers: Vec<(u8, String, String)>,
}

/// Attributes from the fuzzer's lists: the first entry that names a path wins.
struct Fuzzed<'a> {
    properties: Vec<(String, &'a [u8])>,
    headers: &'a [(u8, String, String)],
}

impl Attributes for Fuzzed<'_> {
    fn property(&self, path: &[&str]) -> Option<Cow<'_, [u8]>> {
        let wanted = path.join(".");
        let (_, bytes) = self.properties.iter().find(|(p, _)| *p == wanted)?;
        Some(Cow::Borrowed(bytes))
    }

    fn header(&self, map: HeaderMap, name: &str) -> Option<Cow<'_, str>> {
        let index = match map {
            HeaderMap::Request => 0,
            HeaderMap::Response => 1,
            HeaderMap::ResponseTrailers => 2,
        };
        let hit = self.headers.iter().find(|(m, n, _)| m % 3 == index && n == name);
        hit.map(|(_, _, value)| Cow::Borrowed(value.as_str()))
    }
}

fuzz_target!(|input: Input| {
    let properties = input
        .properties
        .iter()
        .map(|(pick, custom, bytes)| {
            let path = custom.clone().unwrap_or_else(|| PATHS[usize::from(*pick) % PATHS.len()].to_string());
            (path, bytes.as_slice())
        })
        .collect();
    let attrs = Fuzzed { properties, headers: &input.headers };
    let built: Vec<&str> = input.pieces.iter().map(|&i| PIECES[usize::from(i) % PIECES.len()]).collect();
    for source in [input.raw.clone(), built.join(" "), built.concat()] {
        if let Ok(program) = Program::compile(&source) {
            assert_eq!(program.source(), source);
            if let Ok(value) = program.eval(&attrs) {
                let _ = value.to_label();
            }
        }
    }
});
