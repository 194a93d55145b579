//! Hostile guests never crash nor hang the host: a trap fails the VM (then
//! fail-open or fail-closed as in Envoy), loops run out of fuel, memory
//! growth stops at the limit, a missing import fails the load by name.

use crate::abi_status::{probes, probes_after};
use crate::support::guest;
use host_tests::{Limits, Plugin, PluginOptions};

const REQUEST: &[(&str, &str)] = &[(":method", "GET"), (":path", "/p"), (":authority", "h")];

fn start(mode: &str, fail_open: bool, limits: Limits) -> Plugin {
    let plugin = Plugin::start(
        &guest("probe"),
        PluginOptions {
            plugin_config: mode.as_bytes().to_vec(),
            fail_open,
            limits,
            ..PluginOptions::default()
        },
    )
    .expect("guest-probe starts");
    assert!(plugin.configured());
    plugin
}

fn assert_fail_stream(plugin: &mut Plugin) {
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(REQUEST, true);
    assert!(action.is_stop(), "fail-closed stops the stream: {action:?}");
    let local = stream
        .local_response()
        .expect("fail-closed answers")
        .clone();
    assert!(stream.request_headers_seen_upstream().is_none());
    assert_eq!(local.status, 503);
    assert_eq!(local.details, "wasm_fail_stream");
}

#[test]
fn a_trap_fails_the_vm_and_later_streams_fail_closed() {
    let mut plugin = start("trap", false, Limits::default());
    assert_fail_stream(&mut plugin);
    assert!(plugin.is_failed(), "a trap marks the vm failed");
    let calls_before = probes(&plugin).names().len();
    assert_fail_stream(&mut plugin);
    assert_eq!(
        probes(&plugin).names().len(),
        calls_before,
        "a failed vm is not called again"
    );
}

#[test]
fn fail_open_lets_streams_pass_untouched() {
    let mut plugin = start("trap", true, Limits::default());
    for _ in 0..2 {
        let mut stream = plugin.new_stream();
        stream.request_headers(REQUEST, true);
        assert!(
            stream.local_response().is_none(),
            "fail-open sends no reply"
        );
        let upstream = stream.request_headers_seen_upstream().expect("passes");
        assert_eq!(upstream.len(), REQUEST.len());
    }
    assert!(plugin.is_failed());
}

#[test]
fn an_infinite_loop_runs_out_of_fuel() {
    let limits = Limits {
        fuel_per_call: 20_000_000,
        ..Limits::default()
    };
    let mut plugin = start("loop", false, limits);
    let started = std::time::Instant::now();
    assert_fail_stream(&mut plugin);
    assert!(plugin.is_failed());
    // Not a timing test: a bound that only a hang can miss.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// `guest-probe` in `mode` with guest memory limited to 32 MiB.
fn with_32_mib(mode: &str) -> Plugin {
    let limits = Limits {
        max_memory_bytes: 32 << 20,
        ..Limits::default()
    };
    start(mode, false, limits)
}

#[test]
fn memory_growth_stops_at_the_limit() {
    let mut plugin = with_32_mib("grow");
    let p = probes_after(&mut plugin, REQUEST);
    let value = p.value("grow_refused").to_string();
    let pages: usize = value.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(
        pages * 65536 <= 32 << 20,
        "memory stayed under the limit: {value}"
    );
    assert!(
        pages * 65536 > 16 << 20,
        "growth was allowed up to near the limit: {value}"
    );
    assert!(
        !plugin.is_failed(),
        "a refused memory.grow is not a failure"
    );
}

#[test]
fn an_allocation_past_the_limit_traps_without_hurting_the_host() {
    let mut plugin = with_32_mib("huge-alloc");
    assert_fail_stream(&mut plugin);
    assert!(plugin.is_failed());
}
