//! Events a test drives into a running plugin: shutdown, shared queues,
//! http call answers, and the clock that fires ticks.

use std::sync::Arc;
use std::time::Duration;

use super::Plugin;
use crate::state::ROOT_CONTEXT_ID;
use crate::status::WasmResult;
use crate::types::{HttpCallRequest, HttpCallResponse};

impl Plugin {
    /// Tears the plugin down as Envoy does when its config goes away:
    /// `proxy_on_done` on the root context, then `proxy_on_delete` — at
    /// once if `on_done` returned true, else when the guest calls
    /// `proxy_done`. Returns whether the root context is deleted.
    pub fn shutdown(&mut self) -> bool {
        if self.root_deleted {
            return true;
        }
        let ex = Arc::clone(&self.exports);
        let done = match ex.on_done.as_ref() {
            Some(f) => self
                .call(ROOT_CONTEXT_ID, f, ROOT_CONTEXT_ID as i32)
                .is_none_or(|r| r != 0),
            None => true,
        };
        if done {
            self.delete_root();
        } else {
            self.store.data_mut().root_done_pending = true;
        }
        self.run_after();
        self.root_deleted
    }

    pub(crate) fn delete_root(&mut self) {
        if self.root_deleted {
            return;
        }
        self.root_deleted = true;
        let ex = Arc::clone(&self.exports);
        if let Some(f) = ex.on_delete.as_ref() {
            self.call(ROOT_CONTEXT_ID, f, ROOT_CONTEXT_ID as i32);
        }
    }

    /// Puts an item on one of this VM's shared queues, as another VM or
    /// worker would, and runs `proxy_on_queue_ready` for the context that
    /// registered it. False when no queue has that name.
    pub fn enqueue_shared_queue(&mut self, name: &str, item: impl Into<Vec<u8>>) -> bool {
        let vm_id = self.store.data().vm_id.clone();
        let found = match self.store.data().shared.0.lock() {
            Ok(mut inner) => inner
                .queues
                .iter_mut()
                .find(|(_, q)| q.vm_id == vm_id && q.name == name.as_bytes())
                .map(|(token, q)| {
                    q.items.push_back(item.into());
                    (*token, q.context_id)
                }),
            Err(_) => None,
        };
        let Some((token, context_id)) = found else {
            return false;
        };
        self.apply(crate::state::After::QueueReady(context_id, token));
        self.run_after();
        true
    }

    /// The current tick period (`proxy_set_tick_period_milliseconds`).
    pub fn tick_period(&self) -> Option<Duration> {
        self.store.data().tick_period
    }

    /// The http calls waiting for an answer.
    pub fn http_calls(&self) -> &[HttpCallRequest] {
        &self.store.data().pending_calls
    }

    /// Answers an http call: `proxy_on_http_call_response` runs on the root
    /// context with the response's headers, body and trailers readable.
    /// False when no call has that token.
    pub fn respond_http_call(&mut self, token: u32, response: HttpCallResponse) -> bool {
        let Some(call) = self.take_call(token) else {
            return false;
        };
        let (h, b, t) = (
            response.headers.len() as i32,
            response.body.len() as i32,
            response.trailers.len() as i32,
        );
        self.store.data_mut().call_response = Some(response.into());
        let ex = Arc::clone(&self.exports);
        if let Some(f) = ex.on_http_call_response.as_ref() {
            self.call(
                call.context_id,
                f,
                (call.context_id as i32, token as i32, h, b, t),
            );
        }
        self.store.data_mut().call_response = None;
        self.run_after();
        true
    }

    /// Fails an http call as Envoy does on a reset: status
    /// `BROKEN_CONNECTION` / "reset", no headers, no body.
    pub fn fail_http_call(&mut self, token: u32) -> bool {
        let Some(call) = self.take_call(token) else {
            return false;
        };
        self.store.data_mut().status = (WasmResult::BrokenConnection as u32, b"reset".to_vec());
        let ex = Arc::clone(&self.exports);
        if let Some(f) = ex.on_http_call_response.as_ref() {
            self.call(
                call.context_id,
                f,
                (call.context_id as i32, token as i32, 0, 0, 0),
            );
        }
        self.store.data_mut().status = (0, Vec::new());
        self.run_after();
        true
    }

    fn take_call(&mut self, token: u32) -> Option<HttpCallRequest> {
        let calls = &mut self.store.data_mut().pending_calls;
        let pos = calls.iter().position(|c| c.token == token)?;
        Some(calls.remove(pos))
    }

    /// Moves both clocks forward, firing `proxy_on_tick` on the root
    /// context once per elapsed tick period (at most
    /// [`Limits::max_ticks_per_advance`]). Returns the number of ticks.
    pub fn advance_clock(&mut self, by: Duration) -> u32 {
        let start = self.store.data().clock.monotonic;
        let end = start.saturating_add(by);
        let mut ticks = 0;
        loop {
            self.sync_tick(start);
            let (Some(period), Some(next)) = (self.store.data().tick_period, self.next_tick) else {
                break;
            };
            if next > end || ticks >= self.limits.max_ticks_per_advance {
                break;
            }
            self.set_clock(next);
            self.next_tick = Some(next.saturating_add(period));
            ticks += 1;
            let ex = Arc::clone(&self.exports);
            if let Some(f) = ex.on_tick.as_ref() {
                self.call(ROOT_CONTEXT_ID, f, ROOT_CONTEXT_ID as i32);
                self.run_after();
            }
            if self.failure.is_some() {
                break;
            }
        }
        self.set_clock(end);
        self.sync_tick(end);
        ticks
    }

    fn set_clock(&mut self, monotonic: Duration) {
        let clock = &mut self.store.data_mut().clock;
        let delta = monotonic.saturating_sub(clock.monotonic);
        clock.monotonic = monotonic;
        clock.realtime = clock.realtime.checked_add(delta).unwrap_or(clock.realtime);
    }

    /// Re-arms the tick timer after the guest changed the period.
    fn sync_tick(&mut self, now: Duration) {
        let st = self.store.data_mut();
        if st.tick_reset {
            st.tick_reset = false;
            self.next_tick = st.tick_period.map(|p| now.saturating_add(p));
        }
        if st.tick_period.is_none() {
            self.next_tick = None;
        }
    }
}
