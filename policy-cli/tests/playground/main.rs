//! The playground in headless Chromium (issue 13): the page served by
//! `policy-cli playground`, driven through WebDriver like a person uses it,
//! and the differential test of its engine build against the native engine.
//! Needs `make setup` (Debian chromium, chromium-driver) and
//! `make playground` (the page); `make test` runs both first.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../support/browser.rs"]
mod browser;
mod differential;
mod page;

use browser::{Browser, Server};

/// The article's Istio YAML as a person pastes it: the rewrite's
/// VirtualService, then the canary's DestinationRule and VirtualService.
pub const ISTIO: &str = concat!(
    include_str!("../../../../shared/examples/istio/reviews-route.virtualservice.yaml"),
    "---\n",
    include_str!("../../../../shared/examples/istio/reviews-canary.yaml"),
);

/// The server and a browser on its page, ready.
pub async fn open() -> (Server, Browser) {
    let server = Server::start(env!("CARGO_BIN_EXE_policy-cli"));
    let browser = Browser::start().await;
    browser.open(&server.url).await;
    (server, browser)
}
