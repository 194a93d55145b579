//! A simulation of Envoy's router for an outbound sidecar listener.
//!
//! Given a [`RouteTable`] ([`crate::PluginOptions::route_table`]), the host
//! does what Envoy's HTTP connection manager and router filter do around
//! the wasm filter:
//!
//! * when the request headers arrive, before the filter runs, the route is
//!   resolved (`ConnectionManagerImpl::ActiveStream::refreshCachedRoute`)
//!   and recorded in the stream info, where `xds.virtual_host_name`,
//!   `xds.route_name` and `xds.cluster_name` read it (envoy
//!   `source/extensions/filters/common/expr/context.cc`, `XDSLookupValues`,
//!   reached from the wasm `Context::getProperty` / `findValue`);
//! * a request-header edit by an ABI <= 0.2.1 module clears the route
//!   cache (`Context::onHeadersModified` -> `clearRouteCache`); Envoy does
//!   not update the stream info then (envoyproxy/envoy#20157), so the
//!   `xds.*` properties keep answering the previous route until the route
//!   is resolved again;
//! * when the filter chain lets the request headers through, the router
//!   filter resolves the route again if the cache was cleared, then
//!   answers a 404 `route_not_found` (flag `NR`), a direct response or a
//!   redirect (`direct_response`) locally, or forwards the request to the
//!   route's cluster with its header edits, host rewrite and path rewrite
//!   (`Router::Filter::decodeHeaders`, `finalizeRequestHeaders`).

use std::sync::Arc;

mod action;
mod matchers;
mod select;
mod table;

pub use table::{
    ClusterWeight, DirectResponseAction, HeaderMatcher, HeaderValueOption, QueryParameterMatcher,
    RedirectAction, RegexRewrite, Route, RouteAction, RouteMatch, RouteTable, VirtualHost,
    WeightedClusters,
};

pub(crate) use select::{CompiledTable, Selection};

use crate::error::Error;
use crate::plugin::Plugin;
use crate::state::{HostState, StreamState};
use crate::status::WasmResult;

/// The router's view of one stream.
#[derive(Debug, Default)]
pub(crate) struct RouteState {
    /// Envoy's stream info: what the last route resolution found (`None`
    /// before any, or when no virtual host matched).
    pub info: Option<Selection>,
    /// The route cache holds `info`; a request-header edit clears it.
    pub cached: bool,
    /// The stream's random value (Envoy's `stream_id_`), which picks among
    /// weighted clusters.
    pub random: Option<u64>,
    /// The router filter ran (the request headers reached it).
    pub ran: bool,
    /// The router forwarded the request upstream.
    pub forwarded: bool,
    /// The response flag the router set (`NR`).
    pub flag: Option<&'static str>,
}

pub(crate) fn compile(table: &RouteTable) -> Result<Arc<CompiledTable>, Error> {
    CompiledTable::compile(table)
        .map(Arc::new)
        .map_err(Error::RouteTable)
}

/// `xds.virtual_host_name`, `xds.route_name`, `xds.cluster_name` from the
/// stream info, when the plugin has a route table. `None` leaves the path
/// to the ordinary property lookup.
pub(crate) fn xds_property(
    state: &HostState,
    parts: &[&[u8]],
) -> Option<Result<Vec<u8>, WasmResult>> {
    let table = state.router.as_ref()?;
    let [b"xds", leaf] = parts else {
        return None;
    };
    let leaf: &[u8] = leaf;
    if !matches!(leaf, b"virtual_host_name" | b"route_name" | b"cluster_name") {
        return None;
    }
    let info = state.stream().and_then(|s| s.route.info.as_ref());
    let value = info.and_then(|info| match leaf {
        b"virtual_host_name" => table.vhosts.get(info.vhost).map(|v| v.name.clone()),
        b"route_name" => table.route(info).map(|r| r.name.clone()),
        _ => info.cluster.clone(),
    });
    Some(value.map(String::into_bytes).ok_or(WasmResult::NotFound))
}

impl Plugin {
    /// Resolves the route from the stream's current request headers into
    /// the stream info and the route cache.
    pub(crate) fn resolve_route(&mut self, id: u32) {
        let st = self.store.data_mut();
        let Some(table) = st.router.clone() else {
            return;
        };
        let drawn = st.streams.get(&id).and_then(|s| s.route.random);
        let random = drawn.unwrap_or_else(|| st.next_random());
        let Some(stream) = st.streams.get_mut(&id) else {
            return;
        };
        stream.route.random = Some(random);
        stream.route.info = table.select(&stream.request.headers, random);
        stream.route.cached = true;
    }

    /// The router filter: the request headers went past the wasm filter.
    pub(crate) fn run_router(&mut self, id: u32) {
        let Some(table) = self.store.data().router.clone() else {
            return;
        };
        let needs_resolve = match self.store.data().streams.get(&id) {
            Some(s) if !s.route.ran => !s.route.cached,
            _ => return,
        };
        if needs_resolve {
            self.resolve_route(id);
        }
        let Some(stream) = self.store.data_mut().streams.get_mut(&id) else {
            return;
        };
        stream.route.ran = true;
        let headers = stream.request.seen_headers.clone().unwrap_or_default();
        let info = stream.route.info.clone();
        let route = info.as_ref().and_then(|s| table.route(s).map(|r| (s, r)));
        match action::decide(route, headers) {
            action::Verdict::Forward(upstream) => {
                stream.request.seen_headers = Some(upstream);
                stream.route.forwarded = true;
            }
            action::Verdict::Local(reply, flag) => {
                // The upstream never sees this request.
                stream.request.seen_headers = None;
                stream.route.flag = flag;
                self.local_reply(id, reply, true);
            }
        }
    }
}

/// Read-back of the router's work for [`crate::HttpStream`].
pub(crate) fn upstream_cluster(stream: &StreamState) -> Option<String> {
    if !stream.route.forwarded {
        return None;
    }
    stream.route.info.as_ref()?.cluster.clone()
}
