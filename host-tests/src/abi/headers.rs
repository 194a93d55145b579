//! Header and trailer maps (`proxy_*_header_map_*`), as Envoy's
//! `Context::getMap` / `getConstMap` and friends
//! (envoy `source/extensions/common/wasm/context.cc`): a map not available
//! in the current callback is `BAD_ARGUMENT`, except `get_pairs`, which
//! returns an empty map; keys are lower-cased; `get` returns the first
//! value; every write to the request headers clears the route cache.

use wasmtime::Caller;

use super::answer::{Answer, enum_arg, guest, put_u32};
use super::{Registry, register};
use crate::encoding::{deserialize_pairs, serialize_pairs};
use crate::memory::{copy_out, parts};
use crate::state::HostState;
use crate::status::WasmResult;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_add_header_map_value", add, (t: i32, kp: i32, ks: i32, vp: i32, vs: i32));
    register!(reg, "env", "proxy_get_header_map_value", get, (t: i32, kp: i32, ks: i32, vpp: i32, vsp: i32));
    register!(reg, "env", "proxy_replace_header_map_value", replace, (t: i32, kp: i32, ks: i32, vp: i32, vs: i32));
    register!(reg, "env", "proxy_remove_header_map_value", remove, (t: i32, kp: i32, ks: i32));
    register!(reg, "env", "proxy_get_header_map_pairs", get_pairs, (t: i32, pp: i32, sp: i32));
    register!(reg, "env", "proxy_set_header_map_pairs", set_pairs, (t: i32, p: i32, s: i32));
    register!(reg, "env", "proxy_get_header_map_size", get_size, (t: i32, rp: i32));
    Ok(())
}

type Map = crate::header_list::Headers;

/// `WasmHeaderMapType::MAX` (HttpCallResponseTrailers).
const MAP_TYPE_MAX: u32 = 7;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// The map of type `t` for the current context, if Envoy would hand it out.
fn map(state: &mut HostState, t: u32, access: Access) -> Option<&mut Map> {
    match t {
        6 | 7 => {
            if access == Access::Write {
                return None;
            }
            let response = state.call_response.as_mut()?;
            Some(if t == 6 {
                &mut response.headers
            } else {
                &mut response.trailers
            })
        }
        0..=3 => {
            let stream = state.stream_mut()?;
            let in_log = stream.in_log;
            let (dir, trailers) = match t {
                0 => (&mut stream.request, false),
                1 => (&mut stream.request, true),
                2 => (&mut stream.response, false),
                _ => (&mut stream.response, true),
            };
            if in_log {
                // Envoy's access-log maps: request headers, response
                // headers and response trailers, read-only; no request
                // trailers (`getConstMap` in the access-log phase).
                let present = if trailers {
                    t == 3 && dir.trailers_started
                } else {
                    dir.headers_started
                };
                return (access == Access::Read && present).then_some(if trailers {
                    &mut dir.trailers
                } else {
                    &mut dir.headers
                });
            }
            if trailers {
                // In the last body callback Envoy adds trailers on demand
                // (`addDecodedTrailers` / `addEncodedTrailers` in `getMap`).
                if access == Access::Write
                    && !dir.trailers_avail
                    && !dir.trailers_started
                    && dir.body_avail
                    && dir.body_eos
                {
                    dir.trailers_started = true;
                    dir.trailers_avail = true;
                    dir.trailers.clear();
                }
                dir.trailers_avail.then_some(&mut dir.trailers)
            } else {
                dir.headers_avail.then_some(&mut dir.headers)
            }
        }
        _ => None,
    }
}

/// Envoy lower-cases keys (`LowerCaseString`); values are kept as bytes.
fn lower(key: &[u8]) -> Vec<u8> {
    key.to_ascii_lowercase()
}

/// Envoy keeps pseudo-headers ahead of the others (`HeaderMapImpl`).
pub(crate) fn insert(map: &mut Map, key: Vec<u8>, value: Vec<u8>) {
    if key.starts_with(b":") {
        let pos = map
            .iter()
            .position(|(k, _)| !k.starts_with(b":"))
            .unwrap_or(map.len());
        map.insert(pos, (key, value));
    } else {
        map.push((key, value));
    }
}

fn cleared_route_cache(state: &mut HostState, t: u32) {
    if t == 0
        && let Some(stream) = state.stream_mut()
    {
        stream.route_cache_clears += 1;
        stream.route.cached = false;
    }
}

/// The prologue and epilogue `add` and `replace` share: check the map type,
/// read key and value, open the map for writing, let `edit` change it, then
/// enforce the size limit and clear the route cache.
fn write_kv(
    caller: &mut Caller<'_, HostState>,
    call: &str,
    t: i32,
    (kp, ks, vp, vs): (i32, i32, i32, i32),
    edit: impl FnOnce(&mut Map, Vec<u8>, Vec<u8>),
) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let bytes = (ks as u32 as usize).saturating_add(vs as u32 as usize);
    crate::budget::copy(caller.data(), call, bytes)?;
    let (mem, state) = parts(caller);
    let key = lower(guest(mem, kp, ks)?);
    let value = guest(mem, vp, vs)?.to_vec();
    let limit = state.budget.max_copy_bytes;
    let m = map(state, t, Access::Write).ok_or(WasmResult::BadArgument)?;
    edit(m, key, value);
    // Host-side bound on one header map (keys plus values): Envoy has no
    // such limit on a filter's own edits, but a guest adding headers in a
    // loop must not exhaust the host's memory (`crate::budget`).
    let size = crate::header_list::byte_size(m);
    crate::budget::held(limit, call, "a header map", size)?;
    cleared_route_cache(state, t);
    Ok(WasmResult::Ok)
}

fn add(caller: &mut Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vp: i32, vs: i32) -> Answer {
    let call = "proxy_add_header_map_value";
    write_kv(caller, call, t, (kp, ks, vp, vs), insert)
}

fn get(caller: &mut Caller<'_, HostState>, t: i32, kp: i32, ks: i32, vpp: i32, vsp: i32) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let key = lower(guest(mem, kp, ks)?);
    let Some(m) = map(state, t, Access::Read) else {
        // A map missing in the access-log phase is NOT_FOUND in Envoy.
        let in_log = state.stream().is_some_and(|s| s.in_log);
        return Ok(if in_log {
            WasmResult::NotFound
        } else {
            WasmResult::BadArgument
        });
    };
    let value = m.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let value = value.ok_or(WasmResult::NotFound)?;
    Ok(copy_out(caller, &value, vpp, vsp)?)
}

fn replace(
    caller: &mut Caller<'_, HostState>,
    t: i32,
    kp: i32,
    ks: i32,
    vp: i32,
    vs: i32,
) -> Answer {
    let call = "proxy_replace_header_map_value";
    write_kv(caller, call, t, (kp, ks, vp, vs), |m, key, value| {
        // `setCopy`: the first entry takes the value, the others go.
        match m.iter().position(|(k, _)| *k == key) {
            Some(first) => {
                let mut idx = 0;
                m.retain(|(k, _)| {
                    let keep = *k != key || idx == first;
                    idx += 1;
                    keep
                });
                if let Some(slot) = m.iter_mut().find(|(k, _)| *k == key) {
                    slot.1 = value;
                }
            }
            None => insert(m, key, value),
        }
    })
}

fn remove(caller: &mut Caller<'_, HostState>, t: i32, kp: i32, ks: i32) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let key = lower(guest(mem, kp, ks)?);
    let m = map(state, t, Access::Write).ok_or(WasmResult::BadArgument)?;
    m.retain(|(k, _)| *k != key);
    cleared_route_cache(state, t);
    Ok(WasmResult::Ok)
}

fn get_pairs(caller: &mut Caller<'_, HostState>, t: i32, pp: i32, sp: i32) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let bytes = match map(caller.data_mut(), t, Access::Read) {
        Some(m) if !m.is_empty() => serialize_pairs(m),
        _ => Vec::new(),
    };
    Ok(copy_out(caller, &bytes, pp, sp)?)
}

fn set_pairs(caller: &mut Caller<'_, HostState>, t: i32, p: i32, s: i32) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let pairs = deserialize_pairs(guest(mem, p, s)?);
    let m = map(state, t, Access::Write).ok_or(WasmResult::BadArgument)?;
    m.clear();
    for (k, v) in pairs {
        insert(m, lower(&k), v);
    }
    cleared_route_cache(state, t);
    Ok(WasmResult::Ok)
}

/// Envoy returns the map's byte size (keys plus values), not its length.
fn get_size(caller: &mut Caller<'_, HostState>, t: i32, rp: i32) -> Answer {
    let t = enum_arg(t, MAP_TYPE_MAX)?;
    let (mem, state) = parts(caller);
    let m = map(state, t, Access::Write).ok_or(WasmResult::BadArgument)?;
    let size = crate::header_list::byte_size(m);
    put_u32(mem, rp, u32::try_from(size).unwrap_or(u32::MAX))?;
    Ok(WasmResult::Ok)
}

#[cfg(test)]
mod tests {
    use super::insert;

    #[test]
    fn pseudo_headers_stay_in_front() {
        let mut m = crate::header_list::bytes(&[(":path", "/"), ("a", "1")]);
        insert(&mut m, b":authority".to_vec(), b"x".to_vec());
        insert(&mut m, b"b".to_vec(), b"2".to_vec());
        let keys: Vec<&[u8]> = m.iter().map(|(k, _)| k.as_slice()).collect();
        assert_eq!(keys, [&b":path"[..], b":authority", b"a", b"b"]);
    }
}
