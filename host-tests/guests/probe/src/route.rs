//! The `route` mode: reads Envoy's `xds.*` route properties, edits a
//! request header (which clears Envoy's route cache for an ABI 0.2.1
//! module), reads them again, and reads them once more in the response.

use crate::abi;
use crate::calls::{self, record, show};

const PROPERTIES: [&str; 3] = ["virtual_host_name", "route_name", "cluster_name"];

/// Logs `probe <phase>_<property> <status> <value>` for each property.
pub fn properties(phase: &str) {
    for name in PROPERTIES {
        let (status, value) = calls::get_property(&["xds", name]);
        record(&format!("{phase}_{name}"), status, &show(&value));
    }
}

pub fn request_headers() -> u32 {
    properties("route_before");
    let status = calls::replace_header(abi::REQUEST_HEADERS, "x-probe-route", "edited");
    record("route_edit", status, "");
    properties("route_after");
    0
}
