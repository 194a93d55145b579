//! How Envoy moves a stream through the filter: which callback runs when,
//! what a stop holds back, what `continue_stream` releases, what a local
//! reply does, and what a failed VM does (proxy-wasm-cpp-host
//! `src/context.cc` `CHECK_FAIL` and `convertVmCallResultTo*Status`;
//! envoy `source/extensions/common/wasm/context.cc` `decodeHeaders`,
//! `decodeData`, `failStream`).

use std::sync::Arc;

use crate::plugin::Plugin;
use crate::state::{After, Dir, Held, Queued, StreamState};
use crate::types::{Action, Callback, LocalResponse};

/// Response code details of a stream failed by a failed VM.
pub(crate) const FAIL_STREAM_DETAILS: &str = "wasm_fail_stream";

fn callback(dir: Dir, kind: Held) -> Callback {
    match (dir, kind) {
        (Dir::Request, Held::Headers) => Callback::RequestHeaders,
        (Dir::Request, Held::Body) => Callback::RequestBody,
        (Dir::Request, Held::Trailers) => Callback::RequestTrailers,
        (Dir::Response, Held::Headers) => Callback::ResponseHeaders,
        (Dir::Response, Held::Body) => Callback::ResponseBody,
        (Dir::Response, Held::Trailers) => Callback::ResponseTrailers,
    }
}

/// The local reply Envoy builds: `:status`, `content-length`,
/// `content-type: text/plain` for a body, then the filter's headers.
pub(crate) fn local_reply_headers(reply: &LocalResponse) -> crate::header_list::Headers {
    let mut h = vec![
        (b":status".to_vec(), reply.status.to_string().into_bytes()),
        (
            b"content-length".to_vec(),
            reply.body.len().to_string().into_bytes(),
        ),
    ];
    if !reply.body.is_empty() {
        h.push((b"content-type".to_vec(), b"text/plain".to_vec()));
    }
    h.extend(crate::header_list::bytes(&reply.headers));
    h
}

impl Plugin {
    fn stream_state(&mut self, id: u32) -> Option<&mut StreamState> {
        self.store.data_mut().streams.get_mut(&id)
    }

    /// Envoy's `onCreate`: `proxy_on_context_create(id, root)` once.
    pub(crate) fn ensure_created(&mut self, id: u32) {
        let Some(stream) = self.stream_state(id) else {
            return;
        };
        if stream.created {
            return;
        }
        stream.created = true;
        let ex = Arc::clone(&self.exports);
        if let Some(f) = ex.on_context_create.as_ref() {
            self.call(id, f, (id as i32, crate::state::ROOT_CONTEXT_ID as i32));
            self.run_after();
        }
    }

    /// `CHECK_FAIL_HTTP`: on a failed VM, fail-open passes, fail-closed
    /// sends one 503 local reply. `Some(action)` when the VM has failed.
    fn check_fail(&mut self, id: u32, stop: Action) -> Option<Action> {
        self.failure.as_ref()?;
        if self.fail_open {
            return Some(Action::Continue);
        }
        let first = match self.stream_state(id) {
            Some(s) if !s.stream_failed => {
                s.stream_failed = true;
                true
            }
            _ => false,
        };
        if first {
            self.local_reply(
                id,
                LocalResponse {
                    status: 503,
                    details: FAIL_STREAM_DETAILS.to_string(),
                    headers: Vec::new(),
                    body: Vec::new(),
                    grpc_status: 14, // UNAVAILABLE
                },
                false,
            );
        }
        Some(stop)
    }

    /// Headers arrived for `dir` (already stored in the stream).
    pub(crate) fn deliver_headers(&mut self, id: u32, dir: Dir, eos: bool) -> Action {
        let ex = Arc::clone(&self.exports);
        let f = match dir {
            Dir::Request => ex.on_request_headers.as_ref(),
            Dir::Response => ex.on_response_headers.as_ref(),
        };
        let count = self
            .stream_state(id)
            .map_or(0, |s| s.dir(dir).headers.len()) as i32;
        let result = self.run_callback(id, Action::StopAllIterationAndWatermark, |p| {
            let f = f?;
            p.call(id, f, (id as i32, count, i32::from(eos)))
        });
        let action = match result {
            Ok(0) => Action::Continue,
            Ok(2) => Action::StopAllIterationAndBuffer,
            // StopIteration on headers becomes StopAllIterationAndWatermark
            // in ABI 0.2.* (cpp-host issue 143), and so does anything
            // out of range.
            Ok(_) => Action::StopAllIterationAndWatermark,
            Err(a) => a,
        };
        self.settle(id, dir, Held::Headers, action, eos)
    }

    /// A body chunk for `dir` (not held back).
    pub(crate) fn deliver_body(&mut self, id: u32, dir: Dir, chunk: Vec<u8>, eos: bool) -> Action {
        let Some(stream) = self.stream_state(id) else {
            return Action::NotDelivered;
        };
        let d = stream.dir_mut(dir);
        if d.buffering {
            d.body.extend_from_slice(&chunk);
        } else {
            d.body = chunk;
        }
        d.body_avail = true;
        d.body_eos = eos;
        let size = d.body.len() as i32;
        let ex = Arc::clone(&self.exports);
        let f = match dir {
            Dir::Request => ex.on_request_body.as_ref(),
            Dir::Response => ex.on_response_body.as_ref(),
        };
        let result = self.run_callback(id, Action::StopIterationNoBuffer, |p| {
            let f = f?;
            p.call(id, f, (id as i32, size, i32::from(eos)))
        });
        let action = match result {
            Ok(0) => Action::Continue,
            Ok(1) => Action::StopIterationAndBuffer,
            Ok(2) => Action::StopIterationAndWatermark,
            Ok(_) => Action::StopIterationNoBuffer,
            Err(a) => a,
        };
        self.settle(id, dir, Held::Body, action, eos)
    }

    /// Trailers for `dir` (already stored in the stream).
    pub(crate) fn deliver_trailers(&mut self, id: u32, dir: Dir) -> Action {
        let count = self
            .stream_state(id)
            .map_or(0, |s| s.dir(dir).trailers.len()) as i32;
        let ex = Arc::clone(&self.exports);
        let f = match dir {
            Dir::Request => ex.on_request_trailers.as_ref(),
            Dir::Response => ex.on_response_trailers.as_ref(),
        };
        let result = self.run_callback(id, Action::StopIteration, |p| {
            let f = f?;
            p.call(id, f, (id as i32, count))
        });
        let action = match result {
            Ok(0) => Action::Continue,
            Ok(_) => Action::StopIteration,
            Err(a) => a,
        };
        self.settle(id, dir, Held::Trailers, action, true)
    }

    /// Runs one stream callback with Envoy's checks around it. `Err` is an
    /// action decided without (or despite) the guest; `Ok(None)` means no
    /// such export.
    fn run_callback(
        &mut self,
        id: u32,
        fail_stop: Action,
        call: impl FnOnce(&mut Plugin) -> Option<i32>,
    ) -> Result<i32, Action> {
        if let Some(action) = self.check_fail(id, fail_stop) {
            return Err(action);
        }
        let result = call(self);
        if let Some(action) = self.check_fail(id, fail_stop) {
            return Err(action);
        }
        let Some(r) = result else {
            return Err(Action::Continue);
        };
        if self.store.data().stop_next_iteration {
            self.store.data_mut().stop_next_iteration = false;
            return Err(fail_stop);
        }
        Ok(r)
    }

    /// Applies a callback's action: forward on Continue, hold on a stop,
    /// then run the deferred actions.
    fn settle(&mut self, id: u32, dir: Dir, kind: Held, action: Action, eos: bool) -> Action {
        if let Some(stream) = self.stream_state(id) {
            stream.actions.push((callback(dir, kind), action));
            if action == Action::Continue {
                forward(stream, dir, kind, eos);
            } else {
                let d = stream.dir_mut(dir);
                d.held_eos = eos;
                match (action, kind) {
                    (
                        Action::StopIterationAndBuffer | Action::StopIterationAndWatermark,
                        Held::Body,
                    ) => {
                        d.buffering = true;
                        d.held = Some(Held::Body);
                    }
                    (Action::StopIterationNoBuffer, Held::Body) => {
                        // Not buffered by Envoy: the chunk is the filter's to keep.
                        d.buffering = false;
                        d.body.clear();
                        d.held = Some(Held::Body);
                    }
                    _ => d.held = Some(kind),
                }
            }
        }
        if action == Action::Continue && dir == Dir::Request && kind == Held::Headers {
            self.run_router(id);
        }
        self.run_after();
        action
    }

    /// A deferred action from the last VM call.
    pub(crate) fn apply(&mut self, action: After) {
        match action {
            After::Continue(id, dir) => self.resume(id, dir),
            After::LocalReply(id, reply) => self.local_reply(id, reply, true),
            After::DeleteRoot => self.delete_root(),
            After::Reset(id) => {
                if let Some(stream) = self.stream_state(id) {
                    stream.reset = true;
                }
            }
            After::QueueReady(ctx, token) => {
                let ex = Arc::clone(&self.exports);
                if let Some(f) = ex.on_queue_ready.as_ref() {
                    self.call(ctx, f, (ctx as i32, token as i32));
                }
            }
        }
    }

    /// `continueDecoding` / `continueEncoding`: release what is held, then
    /// deliver what queued up behind it.
    pub(crate) fn resume(&mut self, id: u32, dir: Dir) {
        let Some(stream) = self.stream_state(id) else {
            return;
        };
        if stream.ended() {
            return;
        }
        let Some(kind) = stream.dir(dir).held else {
            return;
        };
        stream.dir_mut(dir).resumed += 1;
        let eos = stream.dir(dir).held_eos;
        forward(stream, dir, kind, eos);
        if dir == Dir::Request && kind == Held::Headers {
            self.run_router(id);
        }
        while let Some(next) = self
            .stream_state(id)
            .filter(|s| !s.ended() && s.dir(dir).held.is_none())
            .and_then(|s| s.dir_mut(dir).queued.pop_front())
        {
            match next {
                Queued::Body(chunk, eos) => {
                    self.deliver_body(id, dir, chunk, eos);
                }
                Queued::Trailers(trailers) => {
                    if let Some(s) = self.stream_state(id) {
                        let d = s.dir_mut(dir);
                        d.trailers = trailers;
                        d.trailers_started = true;
                        d.trailers_avail = true;
                    }
                    self.deliver_trailers(id, dir);
                }
            }
        }
    }

    /// Envoy's `sendLocalReply`. In the request phase the reply goes
    /// through the filter's response callbacks, as Envoy encodes it
    /// through the filter chain; later it replaces the response.
    pub(crate) fn local_reply(&mut self, id: u32, reply: LocalResponse, through_filter: bool) {
        let vm_failed = self.failure.is_some();
        let Some(stream) = self.stream_state(id) else {
            return;
        };
        if stream.ended() {
            return;
        }
        let headers = local_reply_headers(&reply);
        let body = reply.body.clone();
        let response_started = stream.response.headers_started;
        stream.local_response = Some(reply);
        stream.request.held = None;
        stream.request.queued.clear();
        stream.request.headers_avail = false;
        stream.request.body_avail = false;
        stream.request.trailers_avail = false;
        let r = &mut stream.response;
        r.held = None;
        r.queued.clear();
        r.buffering = false;
        r.headers = headers.clone();
        r.headers_started = true;
        if response_started || !through_filter || vm_failed {
            r.seen_headers = Some(headers);
            r.seen_body = body;
            r.seen_end = true;
            r.headers_avail = false;
            r.body_avail = false;
            return;
        }
        r.headers_avail = true;
        stream.in_local_reply = true;
        let eos = body.is_empty();
        self.deliver_headers(id, Dir::Response, eos);
        if !eos {
            let held = self
                .stream_state(id)
                .is_some_and(|s| s.response.held == Some(Held::Headers));
            if held {
                if let Some(s) = self.stream_state(id) {
                    s.response.queued.push_back(Queued::Body(body, true));
                }
            } else {
                self.deliver_body(id, Dir::Response, body, true);
            }
        }
        if let Some(s) = self.stream_state(id) {
            s.in_local_reply = false;
        }
    }
}

/// What goes past the filter when a direction continues.
fn forward(stream: &mut StreamState, dir: Dir, kind: Held, eos: bool) {
    let d = stream.dir_mut(dir);
    d.held = None;
    match kind {
        Held::Headers => {
            d.seen_headers = Some(d.headers.clone());
            d.headers_avail = false;
        }
        Held::Body => {
            let body = std::mem::take(&mut d.body);
            d.seen_body.extend_from_slice(&body);
            d.buffering = false;
            d.body_avail = false;
            if eos && d.trailers_started {
                // Trailers the filter added in its last body callback.
                d.seen_trailers = Some(d.trailers.clone());
                d.trailers_avail = false;
            }
        }
        Held::Trailers => {
            // Trailers end the stream: a buffered body goes first.
            let body = std::mem::take(&mut d.body);
            d.seen_body.extend_from_slice(&body);
            d.buffering = false;
            d.body_avail = false;
            d.seen_trailers = Some(d.trailers.clone());
            d.trailers_avail = false;
        }
    }
    if eos || kind == Held::Trailers {
        d.seen_end = true;
    }
}
