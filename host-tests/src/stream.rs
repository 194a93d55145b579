//! Driving one HTTP stream, and reading back what Envoy would have done.

use crate::plugin::Plugin;
use crate::state::{Dir, Held, KEPT_COMPLETED_STREAMS, Queued, StreamState};
use crate::types::{Action, Callback, LocalResponse};

/// One HTTP stream of a [`Plugin`]. Borrowing the plugin mutably keeps one
/// stream driven at a time; keep its [`HttpStream::id`] and get it back with
/// [`Plugin::stream`] to interleave streams or to answer http calls.
pub struct HttpStream<'p> {
    plugin: &'p mut Plugin,
    id: u32,
}

impl std::fmt::Debug for HttpStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpStream").field("id", &self.id).finish()
    }
}

use crate::header_list::{Headers, lowered, strings};

impl<'p> HttpStream<'p> {
    pub(crate) fn new(plugin: &'p mut Plugin, id: u32) -> Self {
        HttpStream { plugin, id }
    }

    /// The stream's context id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The plugin, e.g. to answer an http call while the stream waits.
    pub fn plugin(&mut self) -> &mut Plugin {
        self.plugin
    }

    fn state(&self) -> Option<&StreamState> {
        self.plugin.store.data().streams.get(&self.id)
    }

    fn state_mut(&mut self) -> Option<&mut StreamState> {
        self.plugin.store.data_mut().streams.get_mut(&self.id)
    }

    fn headers(&mut self, dir: Dir, headers: Headers, eos: bool) -> Action {
        if dir == Dir::Request
            && self.state().is_some_and(|s| !s.request.headers_started)
            && let Some(refusal) = crate::codec::refuse_request(&headers, &self.plugin.limits)
        {
            return self.plugin.refuse(self.id, headers, refusal);
        }
        if dir == Dir::Request {
            self.plugin.ensure_created(self.id);
        }
        let Some(stream) = self.state_mut() else {
            return Action::NotDelivered;
        };
        if stream.ended() || stream.dir(dir).headers_started {
            return Action::NotDelivered;
        }
        if dir == Dir::Response && !stream.request.headers_started {
            // Envoy: `http_request_started_` is false, the filter is skipped.
            return Action::NotDelivered;
        }
        if dir == Dir::Request {
            let clock = self.plugin.store.data().clock;
            if let Some(stream) = self.state_mut() {
                stream.started = Some((clock.realtime, clock.monotonic));
            }
        }
        let Some(stream) = self.state_mut() else {
            return Action::NotDelivered;
        };
        let d = stream.dir_mut(dir);
        d.headers = headers;
        d.headers_started = true;
        d.headers_avail = true;
        if dir == Dir::Request {
            // The connection manager resolves the route before the filters run.
            self.plugin.resolve_route(self.id);
        }
        self.plugin.deliver_headers(self.id, dir, eos)
    }

    fn body(&mut self, dir: Dir, chunk: &[u8], eos: bool) -> Action {
        let Some(stream) = self.state_mut() else {
            return Action::NotDelivered;
        };
        if stream.ended() || !stream.request.headers_started {
            return Action::NotDelivered;
        }
        let received = chunk.len() as u64;
        match dir {
            Dir::Request => stream.request_bytes += received,
            Dir::Response => stream.response_bytes += received,
        }
        let d = stream.dir_mut(dir);
        if matches!(d.held, Some(Held::Headers | Held::Trailers)) || !d.queued.is_empty() {
            d.queued.push_back(Queued::Body(chunk.to_vec(), eos));
            return Action::NotDelivered;
        }
        self.plugin.deliver_body(self.id, dir, chunk.to_vec(), eos)
    }

    fn trailers(&mut self, dir: Dir, trailers: Headers) -> Action {
        let Some(stream) = self.state_mut() else {
            return Action::NotDelivered;
        };
        if stream.ended() || !stream.request.headers_started {
            return Action::NotDelivered;
        }
        let d = stream.dir_mut(dir);
        if matches!(d.held, Some(Held::Headers | Held::Trailers)) || !d.queued.is_empty() {
            d.queued.push_back(Queued::Trailers(trailers));
            return Action::NotDelivered;
        }
        d.trailers = trailers;
        d.trailers_started = true;
        d.trailers_avail = true;
        self.plugin.deliver_trailers(self.id, dir)
    }

    /// Request headers from the downstream (names are lower-cased, as
    /// Envoy's codecs do). The first call creates the guest context.
    pub fn request_headers(&mut self, headers: &[(&str, &str)], end_of_stream: bool) -> Action {
        self.headers(Dir::Request, lowered(headers), end_of_stream)
    }

    /// [`HttpStream::request_headers`] with names and values as bytes
    /// (`&[u8]`, `Vec<u8>`, `String`, ...): a value may carry obs-text
    /// bytes (`0x80..=0xFF`) that are not UTF-8, as Envoy delivers them.
    pub fn request_headers_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Action {
        self.headers(Dir::Request, lowered(headers), end_of_stream)
    }

    /// A request body chunk. While the filter holds the request headers the
    /// chunk waits (returns [`Action::NotDelivered`]) and is delivered on
    /// `continue_stream`; after a body stop that buffers, the filter sees
    /// the whole buffered body again, as in Envoy.
    pub fn request_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Action {
        self.body(Dir::Request, chunk, end_of_stream)
    }

    /// Request trailers (they end the request).
    pub fn request_trailers(&mut self, trailers: &[(&str, &str)]) -> Action {
        self.trailers(Dir::Request, lowered(trailers))
    }

    /// Request trailers with names and values as bytes.
    pub fn request_trailers_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Action {
        self.trailers(Dir::Request, lowered(trailers))
    }

    /// Response headers from the upstream.
    pub fn response_headers(&mut self, headers: &[(&str, &str)], end_of_stream: bool) -> Action {
        self.headers(Dir::Response, lowered(headers), end_of_stream)
    }

    /// Response headers with names and values as bytes.
    pub fn response_headers_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        headers: &[(K, V)],
        end_of_stream: bool,
    ) -> Action {
        self.headers(Dir::Response, lowered(headers), end_of_stream)
    }

    /// A response body chunk.
    pub fn response_body(&mut self, chunk: &[u8], end_of_stream: bool) -> Action {
        self.body(Dir::Response, chunk, end_of_stream)
    }

    /// Response trailers.
    pub fn response_trailers(&mut self, trailers: &[(&str, &str)]) -> Action {
        self.trailers(Dir::Response, lowered(trailers))
    }

    /// Response trailers with names and values as bytes.
    pub fn response_trailers_bytes<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        &mut self,
        trailers: &[(K, V)],
    ) -> Action {
        self.trailers(Dir::Response, lowered(trailers))
    }

    /// Ends the stream as Envoy does: `proxy_on_log` (access log, maps
    /// read-only), then `proxy_on_done` and `proxy_on_delete`. The plugin
    /// keeps the last 256 completed streams for read-back.
    pub fn complete(&mut self) {
        let id = self.id;
        let Some(stream) = self.state_mut() else {
            return;
        };
        if stream.completed {
            return;
        }
        self.plugin.ensure_created(id);
        let ex = std::sync::Arc::clone(&self.plugin.exports);
        let exports = (
            ex.on_log.as_ref(),
            ex.on_done.as_ref(),
            ex.on_delete.as_ref(),
        );
        if let Some(s) = self.state_mut() {
            s.in_log = true;
        }
        if let Some(f) = exports.0 {
            self.plugin.call(id, f, id as i32);
        }
        if let Some(s) = self.state_mut() {
            s.in_log = false;
            s.request.headers_avail = false;
            s.request.body_avail = false;
            s.request.trailers_avail = false;
            s.response.headers_avail = false;
            s.response.body_avail = false;
            s.response.trailers_avail = false;
        }
        if let Some(f) = exports.1 {
            self.plugin.call(id, f, id as i32);
        }
        if let Some(f) = exports.2 {
            self.plugin.call(id, f, id as i32);
        }
        if let Some(s) = self.state_mut() {
            s.completed = true;
        }
        self.plugin.run_after();
        let st = self.plugin.store.data_mut();
        st.completed.push_back(id);
        while st.completed.len() > KEPT_COMPLETED_STREAMS {
            if let Some(old) = st.completed.pop_front() {
                st.streams.remove(&old);
            }
        }
    }

    /// The request headers as the upstream sees them; `None` until the
    /// filter lets them pass (never, after a local response). Text with
    /// invalid UTF-8 replaced; [`HttpStream::request_headers_seen_upstream_bytes`]
    /// has the bytes.
    pub fn request_headers_seen_upstream(&self) -> Option<Vec<(String, String)>> {
        Some(strings(self.state()?.request.seen_headers.as_ref()?))
    }

    /// The request headers as the upstream sees them, as bytes.
    pub fn request_headers_seen_upstream_bytes(&self) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        self.state()?.request.seen_headers.clone()
    }

    /// The request body the upstream received so far.
    pub fn request_body_seen_upstream(&self) -> Vec<u8> {
        self.state()
            .map(|s| s.request.seen_body.clone())
            .unwrap_or_default()
    }

    /// The request trailers the upstream received.
    pub fn request_trailers_seen_upstream(&self) -> Option<Vec<(String, String)>> {
        Some(strings(self.state()?.request.seen_trailers.as_ref()?))
    }

    /// The response headers the downstream sees (a local response's, when
    /// there is one); `None` until they pass the filter.
    pub fn response_headers_seen_downstream(&self) -> Option<Vec<(String, String)>> {
        Some(strings(self.state()?.response.seen_headers.as_ref()?))
    }

    /// The response headers the downstream sees, as bytes.
    pub fn response_headers_seen_downstream_bytes(&self) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
        self.state()?.response.seen_headers.clone()
    }

    /// The response body the downstream received so far.
    pub fn response_body_seen_downstream(&self) -> Vec<u8> {
        self.state()
            .map(|s| s.response.seen_body.clone())
            .unwrap_or_default()
    }

    /// The response trailers the downstream received.
    pub fn response_trailers_seen_downstream(&self) -> Option<Vec<(String, String)>> {
        Some(strings(self.state()?.response.seen_trailers.as_ref()?))
    }

    /// The request headers as they are now in the filter's hands.
    pub fn request_headers_now(&self) -> Vec<(String, String)> {
        self.state()
            .map(|s| strings(&s.request.headers))
            .unwrap_or_default()
    }

    /// The local response, if the filter (or a failed VM) sent one.
    pub fn local_response(&self) -> Option<LocalResponse> {
        self.state()?.local_response.clone()
    }

    /// How many times the filter's edits of the request headers made
    /// Envoy clear the route cache.
    pub fn route_cache_clears(&self) -> u32 {
        self.state().map_or(0, |s| s.route_cache_clears)
    }

    /// Every callback the guest ran for this stream and what it returned.
    pub fn actions(&self) -> Vec<(Callback, Action)> {
        self.state().map(|s| s.actions.clone()).unwrap_or_default()
    }

    /// The filter holds the request (a stop not yet continued).
    pub fn is_request_paused(&self) -> bool {
        self.state().is_some_and(|s| s.request.held.is_some())
    }

    /// The filter holds the response.
    pub fn is_response_paused(&self) -> bool {
        self.state().is_some_and(|s| s.response.held.is_some())
    }

    /// How many `continue_stream` calls resumed the request / the response.
    pub fn resumed(&self) -> (u32, u32) {
        self.state()
            .map_or((0, 0), |s| (s.request.resumed, s.response.resumed))
    }

    /// The filter reset the stream (`proxy_close_stream`), or Envoy's
    /// codec did ([`HttpStream::refused_by_codec`]).
    pub fn was_reset(&self) -> bool {
        self.state().is_some_and(|s| s.reset)
    }

    /// Sets the stream's random value (Envoy's stream id), which picks
    /// among weighted clusters as `value % total_weight`. Call it before
    /// the request headers; otherwise the host draws one from the
    /// plugin's seeded generator.
    pub fn set_route_random(&mut self, value: u64) {
        if let Some(s) = self.state_mut() {
            s.route.random = Some(value);
        }
    }

    /// The stream's random value used for weighted clusters, once drawn.
    pub fn route_random(&self) -> Option<u64> {
        self.state()?.route.random
    }

    /// The cluster Envoy's router sent the request to; `None` without a
    /// route table, before the router ran, or when it answered locally.
    pub fn upstream_cluster(&self) -> Option<String> {
        crate::router::upstream_cluster(self.state()?)
    }

    /// The Host (`:authority`) sent upstream, after the route's host rewrite.
    pub fn upstream_host(&self) -> Option<String> {
        let seen = self.state()?.request.seen_headers.as_ref()?;
        crate::header_list::text(seen, ":authority").map(|v| v.into_owned())
    }

    /// The name of the route in the stream info (what `xds.route_name`
    /// answers now).
    pub fn route_name(&self) -> Option<String> {
        let st = self.plugin.store.data();
        let info = self.state()?.route.info.as_ref()?;
        Some(st.router.as_ref()?.route(info)?.name.clone())
    }

    /// The name of the virtual host in the stream info.
    pub fn virtual_host_name(&self) -> Option<String> {
        let st = self.plugin.store.data();
        let info = self.state()?.route.info.as_ref()?;
        Some(st.router.as_ref()?.vhosts.get(info.vhost)?.name.clone())
    }

    /// The selected route as given in the table, with the options Envoy's
    /// router and filters enforce (timeout, retry policy, mirrors,
    /// per-filter configuration).
    pub fn selected_route(&self) -> Option<crate::router::Route> {
        let st = self.plugin.store.data();
        let info = self.state()?.route.info.as_ref()?;
        st.router.as_ref()?.source_route(info).cloned()
    }

    /// The response flag the router set (`NR` when no route matched).
    pub fn response_flag(&self) -> Option<&'static str> {
        self.state()?.route.flag
    }

    /// Envoy's codec refused the request before any filter saw it (a
    /// control character, CR, LF or NUL in a header value; a pseudo-header
    /// sent twice): the response code details of its answer, a `400` local
    /// response ([`HttpStream::local_response`]) or a reset.
    pub fn refused_by_codec(&self) -> Option<String> {
        self.state()?.refused.clone()
    }

    /// A value the filter stored with `proxy_set_property`.
    pub fn filter_state(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.state()?
            .filter_state
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v.clone())
    }
}
