//! Shared data and shared queues, as proxy-wasm-cpp-host
//! `src/shared_data.cc` and `src/shared_queue.cc`: data keyed by VM id
//! with a CAS that starts at 1 and skips 0; queues keyed by VM id and name;
//! `on_queue_ready` goes to the context that registered the queue.

use wasmtime::Caller;

use super::answer::{Answer, guest, put_u32};
use super::{Registry, register};
use crate::budget;
use crate::memory::{copy_out, parts};
use crate::state::{After, HostState, SharedQueue};
use crate::status::WasmResult;

pub(super) fn register(reg: &mut Registry) -> wasmtime::Result<()> {
    register!(reg, "env", "proxy_get_shared_data", get_data, (kp: i32, ks: i32, vpp: i32, vsp: i32, casp: i32));
    register!(reg, "env", "proxy_set_shared_data", set_data, (kp: i32, ks: i32, vp: i32, vs: i32, cas: i32));
    register!(reg, "env", "proxy_register_shared_queue", register_queue, (np: i32, ns: i32, tokp: i32));
    register!(reg, "env", "proxy_resolve_shared_queue", resolve_queue, (vp: i32, vs: i32, np: i32, ns: i32, tokp: i32));
    register!(reg, "env", "proxy_dequeue_shared_queue", dequeue, (token: i32, dpp: i32, dsp: i32));
    register!(reg, "env", "proxy_enqueue_shared_queue", enqueue, (token: i32, dp: i32, ds: i32));
    Ok(())
}

fn get_data(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    ks: i32,
    vpp: i32,
    vsp: i32,
    casp: i32,
) -> Answer {
    let (mem, state) = parts(caller);
    let key = guest(mem, kp, ks)?;
    let inner = state.shared.lock()?;
    let found = inner
        .data
        .get(&(state.vm_id.clone(), key.to_vec()))
        .cloned();
    drop(inner);
    let (value, cas) = found.ok_or(WasmResult::NotFound)?;
    let status = copy_out(caller, &value, vpp, vsp)?;
    if status != WasmResult::Ok {
        return Ok(status);
    }
    let (mem, _) = parts(caller);
    put_u32(mem, casp, cas)?;
    Ok(WasmResult::Ok)
}

fn set_data(
    caller: &mut Caller<'_, HostState>,
    kp: i32,
    ks: i32,
    vp: i32,
    vs: i32,
    cas: i32,
) -> Answer {
    let (mem, state) = parts(caller);
    let (key, value) = (guest(mem, kp, ks)?, guest(mem, vp, vs)?);
    let call = "proxy_set_shared_data";
    budget::copy(state, call, key.len().saturating_add(value.len()))?;
    let cas = cas as u32;
    let mut inner = state.shared.lock()?;
    let map_key = (state.vm_id.clone(), key.to_vec());
    let old = match inner.data.get(&map_key) {
        Some((_, current)) if cas != 0 && cas != *current => {
            return Ok(WasmResult::CasMismatch);
        }
        Some((old, _)) => budget::entry_bytes(&[key.len(), old.len()]),
        None => 0,
    };
    let new = budget::entry_bytes(&[key.len(), value.len()]);
    let kept = inner.bytes.saturating_sub(old);
    budget::shared(&state.budget, call, kept, new)?;
    inner.bytes = kept.saturating_add(new);
    let next = inner.next_cas.max(1);
    inner.next_cas = next.wrapping_add(1).max(1);
    inner.data.insert(map_key, (value.to_vec(), next));
    Ok(WasmResult::Ok)
}

fn register_queue(caller: &mut Caller<'_, HostState>, np: i32, ns: i32, tokp: i32) -> Answer {
    let (mem, state) = parts(caller);
    let name = guest(mem, np, ns)?;
    // `onQueueReady` goes to the root context.
    let context_id = crate::state::ROOT_CONTEXT_ID;
    let mut inner = state.shared.lock()?;
    let existing = inner
        .queues
        .iter_mut()
        .find(|(_, q)| q.vm_id == state.vm_id && q.name == name);
    let token = match existing {
        Some((token, q)) => {
            q.context_id = context_id;
            *token
        }
        None => {
            let token = inner.next_token.wrapping_add(1).max(1);
            inner.next_token = token;
            inner.queues.insert(
                token,
                SharedQueue {
                    vm_id: state.vm_id.clone(),
                    name: name.to_vec(),
                    context_id,
                    items: Default::default(),
                },
            );
            token
        }
    };
    drop(inner);
    put_u32(mem, tokp, token)?;
    Ok(WasmResult::Ok)
}

fn resolve_queue(
    caller: &mut Caller<'_, HostState>,
    vp: i32,
    vs: i32,
    np: i32,
    ns: i32,
    tokp: i32,
) -> Answer {
    let (mem, state) = parts(caller);
    let (vm_id, name) = (guest(mem, vp, vs)?, guest(mem, np, ns)?);
    let vm_id = if vm_id.is_empty() {
        state.vm_id.clone()
    } else {
        String::from_utf8_lossy(vm_id).into_owned()
    };
    let inner = state.shared.lock()?;
    let token = inner
        .queues
        .iter()
        .find(|(_, q)| q.vm_id == vm_id && q.name == name)
        .map(|(t, _)| *t);
    drop(inner);
    put_u32(mem, tokp, token.ok_or(WasmResult::NotFound)?)?;
    Ok(WasmResult::Ok)
}

fn dequeue(caller: &mut Caller<'_, HostState>, token: i32, dpp: i32, dsp: i32) -> Answer {
    let state = caller.data_mut();
    let mut guard = state.shared.lock()?;
    let inner = &mut *guard;
    let q = inner
        .queues
        .get_mut(&(token as u32))
        .ok_or(WasmResult::NotFound)?;
    let item = q.items.pop_front();
    if let Some(item) = &item {
        let bytes = budget::entry_bytes(&[item.len()]);
        inner.bytes = inner.bytes.saturating_sub(bytes);
    }
    drop(guard);
    let item = item.ok_or(WasmResult::Empty)?;
    Ok(copy_out(caller, &item, dpp, dsp)?)
}

fn enqueue(caller: &mut Caller<'_, HostState>, token: i32, dp: i32, ds: i32) -> Answer {
    let (mem, state) = parts(caller);
    let data = guest(mem, dp, ds)?;
    let call = "proxy_enqueue_shared_queue";
    budget::copy(state, call, data.len())?;
    let token = token as u32;
    let mut guard = state.shared.lock()?;
    let inner = &mut *guard;
    let q = inner.queues.get_mut(&token).ok_or(WasmResult::NotFound)?;
    let bytes = budget::entry_bytes(&[data.len()]);
    budget::shared(&state.budget, call, inner.bytes, bytes)?;
    inner.bytes = inner.bytes.saturating_add(bytes);
    q.items.push_back(data.to_vec());
    let context_id = (q.vm_id == state.vm_id).then_some(q.context_id);
    drop(guard);
    if let Some(context_id) = context_id {
        state.after.push(After::QueueReady(context_id, token));
    }
    Ok(WasmResult::Ok)
}
