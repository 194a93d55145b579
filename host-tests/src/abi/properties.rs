//! `proxy_get_property` / `proxy_set_property`, as Envoy's
//! `Context::getProperty` / `findValue` / `setProperty` (envoy
//! `source/extensions/common/wasm/context.cc`): the path's parts are
//! separated by NUL; the first names a top-level attribute, the rest walk
//! maps (by key) and lists (by decimal index); values are encoded with
//! `serializeValue`.

use std::borrow::Cow;

use wasmtime::Caller;

use super::{Registry, register};
use crate::memory::{copy_out, parts, slice};
use crate::properties::PropertyValue;
use crate::state::{HostState, StreamState};
use crate::status::WasmResult;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_get_property", get, (pp: i32, ps: i32, vpp: i32, vsp: i32));
    register!(reg, "env", "proxy_set_property", set, (kp: i32, ks: i32, vp: i32, vs: i32));
    Ok(())
}

fn get(
    caller: &mut Caller<'_, HostState>,
    pp: i32,
    ps: i32,
    vpp: i32,
    vsp: i32,
) -> wasmtime::Result<WasmResult> {
    let (mem, state) = parts(caller);
    let Some(path) = slice(mem, pp, ps) else {
        return Ok(WasmResult::InvalidMemoryAccess);
    };
    crate::calls::property(state, path);
    let encoded = match lookup(state, path) {
        Ok(bytes) => bytes,
        Err(status) => return Ok(status),
    };
    copy_out(caller, &encoded, vpp, vsp)
}

/// The encoded value at a NUL-separated path.
pub(crate) fn lookup(state: &HostState, path: &[u8]) -> Result<Vec<u8>, WasmResult> {
    if path.is_empty() {
        // Envoy serializes an unset CEL value: not a known type.
        return Err(WasmResult::SerializationFailure);
    }
    let trimmed = path.strip_suffix(&[0]).unwrap_or(path);
    let parts: Vec<&[u8]> = trimmed.split(|b| *b == 0).collect();
    if let [top] = parts.as_slice()
        && let Some(status) = whole_wrapper(state, top)
    {
        return Err(status);
    }
    if let Some(answer) = crate::router::xds_property(state, &parts) {
        return answer;
    }
    if let Some(value) = state.properties.get(&parts) {
        return Ok(value.encode());
    }
    let Some((first, rest)) = parts.split_first() else {
        return Err(WasmResult::NotFound);
    };
    if state.properties.has_top(first) && !matches!(*first, b"request" | b"response") {
        return Err(WasmResult::NotFound);
    }
    let stream = state.stream();
    // Fast path for one header (`request.headers.<name>`): no map built.
    if let (Some(stream), [b"headers", name], b"request" | b"response") = (stream, rest, *first)
        && state.properties.get(&[first, b"headers", name]).is_none()
    {
        let headers = if *first == b"request" {
            &stream.request.headers
        } else {
            &stream.response.headers
        };
        let started = if *first == b"request" {
            stream.request.headers_started
        } else {
            stream.response.headers_started
        };
        let mut joined: Option<Vec<u8>> = None;
        for (_, v) in headers.iter().filter(|(k, _)| k.as_slice() == *name) {
            match &mut joined {
                Some(j) => {
                    j.push(b',');
                    j.extend_from_slice(v);
                }
                None => joined = Some(v.clone()),
            }
        }
        return match joined {
            Some(j) if started => Ok(j),
            _ => Err(WasmResult::NotFound),
        };
    }
    // One attribute of `request` / `response` (`request.path`, ...): only
    // that attribute is derived, not the whole map (the same answer as
    // `derived_lookup(..).child(key)`, checked in tests).
    let (value, rest) = match (*first, rest.split_first()) {
        (b"request" | b"response", Some((key, deeper))) => {
            match derived_attribute(state, stream, first, key) {
                Some(v) => (v, deeper),
                None => return Err(WasmResult::NotFound),
            }
        }
        _ => match derived_lookup(state, stream, first) {
            Some(v) => (v, rest),
            None => return Err(WasmResult::NotFound),
        },
    };
    let mut current = &value;
    for part in rest {
        match current.child(part) {
            Some(next) => current = next,
            None => return Err(WasmResult::NotFound),
        }
    }
    Ok(current.encode())
}

/// A read of a whole attribute map that Envoy builds from the stream
/// (`request`, `response`, `connection`, `upstream`, `source`,
/// `destination`, `filter_state`, `upstream_filter_state`) or from the
/// listener (`xds`). Envoy makes each a `BaseWrapper` map (envoy
/// `source/extensions/filters/common/expr/evaluator.cc`,
/// `StreamActivation::FindValue`), whose `ListKeys` is not implemented
/// (`source/extensions/filters/common/expr/context.h`), so `serializeValue`
/// (`source/extensions/common/wasm/context.cc`) answers
/// `SERIALIZATION_FAILURE` for the whole map, whatever it holds; only
/// `xds` exists without a stream (on the root context the others are
/// `NOT_FOUND`). `None` for any other name.
fn whole_wrapper(state: &HostState, top: &[u8]) -> Option<WasmResult> {
    match top {
        b"xds" => Some(WasmResult::SerializationFailure),
        b"request"
        | b"response"
        | b"connection"
        | b"upstream"
        | b"source"
        | b"destination"
        | b"filter_state"
        | b"upstream_filter_state" => Some(match state.stream() {
            Some(_) => WasmResult::SerializationFailure,
            None => WasmResult::NotFound,
        }),
        _ => None,
    }
}

/// Attributes Envoy computes itself: plugin identity, the stream's
/// request and response, and filter state written with `set_property`.
pub(crate) fn derived_lookup(
    state: &HostState,
    stream: Option<&StreamState>,
    top: &[u8],
) -> Option<PropertyValue> {
    match top {
        b"plugin_name" => Some(PropertyValue::string(state.plugin_name.as_str())),
        b"plugin_root_id" => Some(PropertyValue::string(state.root_id.as_str())),
        b"plugin_vm_id" => Some(PropertyValue::string(state.vm_id.as_str())),
        b"request" => {
            let stream = stream?;
            if !stream.request.headers_started {
                return None;
            }
            let mut m = request_attributes(&stream.request.headers);
            stream_request_attributes(state, stream, &mut m);
            Some(merge(m, state.properties.get(&[b"request"])))
        }
        b"response" => {
            let stream = stream?;
            let mut m = Vec::new();
            if stream.response.headers_started {
                m = response_attributes(&stream.response.headers);
            }
            if stream.response.trailers_started {
                m.push((
                    "trailers".to_string(),
                    headers_value(&stream.response.trailers),
                ));
            }
            let details = match &stream.local_response {
                Some(local) => Some(local.details.as_str()),
                None => stream.response.headers_started.then_some("via_upstream"),
            };
            if let Some(details) = details {
                m.push(("code_details".to_string(), PropertyValue::string(details)));
            }
            if stream.response.headers_started {
                // Envoy's `bytesSent`: the body that went downstream.
                let sent = stream.response.seen_body.len() as i64;
                let mut total = sent + byte_size(&stream.response.headers);
                if stream.response.trailers_started {
                    total += byte_size(&stream.response.trailers);
                }
                m.push(("size".to_string(), PropertyValue::Int(sent)));
                m.push(("total_size".to_string(), PropertyValue::Int(total)));
            }
            if m.is_empty() {
                return None;
            }
            Some(merge(m, state.properties.get(&[b"response"])))
        }
        _ => {
            let stream = stream?;
            stream
                .filter_state
                .iter()
                .find(|(k, _)| k.as_slice() == top)
                .map(|(_, v)| PropertyValue::Bytes(v.clone()))
        }
    }
}

/// `derived_lookup(state, stream, top)?.child(key)` for `top` `request`
/// or `response`, deriving only the attribute asked for.
pub(crate) fn derived_attribute(
    state: &HostState,
    stream: Option<&StreamState>,
    top: &[u8],
    key: &[u8],
) -> Option<PropertyValue> {
    let stream = stream?;
    let (req, resp) = (&stream.request, &stream.response);
    let present = if top == b"request" {
        req.headers_started
    } else {
        // the map `derived_lookup` builds is empty otherwise
        resp.headers_started || resp.trailers_started || stream.local_response.is_some()
    };
    if !present {
        return None;
    }
    // `merge`: the last test-set entry with this key wins.
    if let Some(PropertyValue::Map(entries)) = state.properties.get(&[top])
        && let Some((_, v)) = entries.iter().rev().find(|(k, _)| k.as_bytes() == key)
    {
        return Some(v.clone());
    }
    if top == b"request" {
        request_attribute(state, stream, key)
    } else {
        response_attribute(stream, key)
    }
}

/// One entry of `request_attributes` + `stream_request_attributes`.
fn request_attribute(state: &HostState, stream: &StreamState, key: &[u8]) -> Option<PropertyValue> {
    let headers = &stream.request.headers;
    let from = |name: &str| raw(headers, name).map(|v| PropertyValue::Bytes(v.to_vec()));
    let path = || header(headers, ":path");
    match key {
        b"path" => from(":path"),
        b"url_path" => path().map(|p| PropertyValue::string(p.split('?').next().unwrap_or(&p))),
        b"host" => from(":authority"),
        b"scheme" => from(":scheme"),
        b"method" => from(":method"),
        b"referer" => from("referer"),
        b"useragent" => from("user-agent"),
        b"id" => from("x-request-id"),
        b"query" => path().map(|p| PropertyValue::string(p.split_once('?').map_or("", |(_, q)| q))),
        b"headers" => Some(headers_value(headers)),
        b"time" => stream
            .started
            .map(|(realtime, _)| PropertyValue::Timestamp(realtime)),
        b"duration" => match stream.started {
            Some((_, monotonic)) if stream.in_log || stream.completed => Some(
                PropertyValue::Duration(state.clock.monotonic.saturating_sub(monotonic)),
            ),
            _ => None,
        },
        b"size" => {
            let received = i64::try_from(stream.request_bytes).unwrap_or(i64::MAX);
            let size = header(headers, "content-length")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(received);
            Some(PropertyValue::Int(size))
        }
        b"total_size" => {
            let received = i64::try_from(stream.request_bytes).unwrap_or(i64::MAX);
            Some(PropertyValue::Int(received + byte_size(headers)))
        }
        b"protocol" => Some(PropertyValue::string("HTTP/1.1")),
        _ => None,
    }
}

/// One entry of the `response` map `derived_lookup` builds.
fn response_attribute(stream: &StreamState, key: &[u8]) -> Option<PropertyValue> {
    let resp = &stream.response;
    let started = resp.headers_started;
    match key {
        b"code" if started => header(&resp.headers, ":status")
            .and_then(|s| s.parse::<i64>().ok())
            .map(PropertyValue::Int),
        b"headers" if started => Some(headers_value(&resp.headers)),
        b"trailers" if resp.trailers_started => Some(headers_value(&resp.trailers)),
        b"code_details" => match &stream.local_response {
            Some(local) => Some(PropertyValue::string(local.details.as_str())),
            None => started.then(|| PropertyValue::string("via_upstream")),
        },
        b"size" | b"total_size" if started => {
            let sent = resp.seen_body.len() as i64;
            if key == b"size" {
                return Some(PropertyValue::Int(sent));
            }
            let mut total = sent + byte_size(&resp.headers);
            if resp.trailers_started {
                total += byte_size(&resp.trailers);
            }
            Some(PropertyValue::Int(total))
        }
        _ => None,
    }
}

/// Test-set values win over derived ones.
fn merge(mut derived: Vec<(String, PropertyValue)>, set: Option<&PropertyValue>) -> PropertyValue {
    if let Some(PropertyValue::Map(entries)) = set {
        for (k, v) in entries {
            match derived.iter_mut().find(|(dk, _)| dk == k) {
                Some(slot) => slot.1 = v.clone(),
                None => derived.push((k.clone(), v.clone())),
            }
        }
    }
    PropertyValue::Map(derived)
}

type Headers = [crate::header_list::Header];

/// A header's first value as text (invalid UTF-8 replaced), for values
/// the host parses (a path, a number).
fn header<'a>(headers: &'a Headers, name: &str) -> Option<Cow<'a, str>> {
    crate::header_list::text(headers, name)
}

/// A header's first value as Envoy hands it over: its bytes.
fn raw<'a>(headers: &'a Headers, name: &str) -> Option<&'a [u8]> {
    crate::header_list::get(headers, name)
}

/// Envoy's `HeadersWrapper`: one entry per name, repeated values joined
/// with a comma.
fn headers_value(headers: &Headers) -> PropertyValue {
    let mut m: Vec<(String, PropertyValue)> = Vec::new();
    for (k, v) in headers {
        let k = String::from_utf8_lossy(k);
        match m.iter_mut().find(|(mk, _)| *mk == k) {
            Some((_, PropertyValue::Bytes(existing))) => {
                existing.push(b',');
                existing.extend_from_slice(v);
            }
            _ => m.push((k.into_owned(), PropertyValue::Bytes(v.clone()))),
        }
    }
    PropertyValue::Map(m)
}

/// Envoy's `RequestWrapper` attributes derived from the request headers.
fn request_attributes(headers: &Headers) -> Vec<(String, PropertyValue)> {
    let mut m = Vec::new();
    let mut put = |k: &str, v: Option<&[u8]>| {
        if let Some(v) = v {
            m.push((k.to_string(), PropertyValue::Bytes(v.to_vec())));
        }
    };
    let path = header(headers, ":path");
    let path = path.as_deref();
    put("path", raw(headers, ":path"));
    put(
        "url_path",
        path.map(|p| p.split('?').next().unwrap_or(p).as_bytes()),
    );
    put("host", raw(headers, ":authority"));
    put("scheme", raw(headers, ":scheme"));
    put("method", raw(headers, ":method"));
    put("referer", raw(headers, "referer"));
    put("useragent", raw(headers, "user-agent"));
    put("id", raw(headers, "x-request-id"));
    put(
        "query",
        path.map(|p| p.split_once('?').map_or("", |(_, q)| q).as_bytes()),
    );
    m.push(("headers".to_string(), headers_value(headers)));
    m
}

fn byte_size(headers: &Headers) -> i64 {
    i64::try_from(crate::header_list::byte_size(headers)).unwrap_or(i64::MAX)
}

/// Envoy's `RequestWrapper` attributes from the stream info: `time`,
/// `duration` (once the stream completed, as `requestComplete()`), `size`
/// (content-length, else the body bytes received), `total_size`,
/// `protocol` (HTTP/1.1 unless the test sets it).
fn stream_request_attributes(
    state: &HostState,
    stream: &StreamState,
    m: &mut Vec<(String, PropertyValue)>,
) {
    if let Some((realtime, monotonic)) = stream.started {
        m.push(("time".to_string(), PropertyValue::Timestamp(realtime)));
        if stream.in_log || stream.completed {
            let elapsed = state.clock.monotonic.saturating_sub(monotonic);
            m.push(("duration".to_string(), PropertyValue::Duration(elapsed)));
        }
    }
    let received = i64::try_from(stream.request_bytes).unwrap_or(i64::MAX);
    let size = header(&stream.request.headers, "content-length")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(received);
    m.push(("size".to_string(), PropertyValue::Int(size)));
    m.push((
        "total_size".to_string(),
        PropertyValue::Int(received + byte_size(&stream.request.headers)),
    ));
    m.push(("protocol".to_string(), PropertyValue::string("HTTP/1.1")));
}

/// Envoy's `ResponseWrapper` attributes derived from the response headers.
fn response_attributes(headers: &Headers) -> Vec<(String, PropertyValue)> {
    let mut m = Vec::new();
    if let Some(code) = header(headers, ":status").and_then(|s| s.parse::<i64>().ok()) {
        m.push(("code".to_string(), PropertyValue::Int(code)));
    }
    m.push(("headers".to_string(), headers_value(headers)));
    m
}

/// Envoy keeps it as filter state of the stream; without a stream
/// (root context) there is no stream info: `NOT_FOUND`.
fn set(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    ks: i32,
    vp: i32,
    vs: i32,
) -> wasmtime::Result<WasmResult> {
    let (mem, state) = parts(caller);
    let (Some(key), Some(value)) = (slice(mem, kp, ks), slice(mem, vp, vs)) else {
        return Ok(WasmResult::InvalidMemoryAccess);
    };
    let call = "proxy_set_property";
    crate::budget::copy(state, call, key.len().saturating_add(value.len()))?;
    let Some(stream) = state.stream_mut() else {
        return Ok(WasmResult::NotFound);
    };
    let kept = stream.filter_state.len();
    if !stream.filter_state.iter().any(|(k, _)| k.as_slice() == key) {
        crate::budget::count(call, "values", kept, crate::budget::MAX_FILTER_STATE)?;
    }
    match stream
        .filter_state
        .iter_mut()
        .find(|(k, _)| k.as_slice() == key)
    {
        Some(slot) => slot.1 = value.to_vec(),
        None => stream.filter_state.push((key.to_vec(), value.to_vec())),
    }
    Ok(WasmResult::Ok)
}

#[cfg(test)]
mod tests;
