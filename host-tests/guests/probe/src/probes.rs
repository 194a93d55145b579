//! The `abi` mode: probes of every host function from the callbacks where
//! Envoy gives a particular answer. Each result is logged by `record`.

use crate::abi;
use crate::calls::{self, record, show, show_pairs};

pub fn vm_start(vm_config_size: usize) {
    let (status, config) = calls::get_buffer(abi::VM_CONFIGURATION, 0, vm_config_size);
    record("vm_configuration", status, &show(&config));
    let mut level = 99;
    // SAFETY: out-pointer to a local.
    let status = unsafe { abi::proxy_get_log_level(&mut level) };
    record("get_log_level", status, &level.to_string());
    let mut now = 0;
    // SAFETY: out-pointer to a local.
    let status = unsafe { abi::proxy_get_current_time_nanoseconds(&mut now) };
    record("current_time", status, &now.to_string());
}

pub fn configure(context_id: u32) {
    metrics();
    shared_data();
    queues();
    let (status, value) = calls::get_property(&["no_such", "property"]);
    record("property_missing", status, &show(&value));
    let (status, value) = calls::get_property(&["plugin_name"]);
    record("property_plugin_name", status, &show(&value));
    let status = calls::set_property(&["probe", "root"], b"x");
    record("set_property_root", status, "");
    let (status, value) = calls::foreign("probe_no_such_function", b"args");
    record("foreign_missing", status, &show(&value));
    // SAFETY: no arguments.
    let status = unsafe { abi::proxy_done() };
    record("done_outside_on_done", status, "");
    // SAFETY: plain value argument.
    let status = unsafe { abi::proxy_set_effective_context(987_654) };
    record("set_effective_context_unknown", status, "");
    // SAFETY: plain value argument.
    let status = unsafe { abi::proxy_set_effective_context(context_id) };
    record("set_effective_context_root", status, "");
    // SAFETY: plain value argument.
    let status = unsafe { abi::proxy_set_tick_period_milliseconds(0) };
    record("set_tick_period", status, "0");
    let (status, value) = calls::get_buffer(abi::REQUEST_BODY, 0, 100);
    record("request_body_in_configure", status, &show(&value));
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, ":path");
    record("request_header_in_configure", status, &show(&value));
    let (status, token) = calls::http_call("auth-cluster", &[(":path", "/")], "", 100);
    record("http_call_without_method", status, &token.to_string());
}

fn metrics() {
    let (status, counter) = calls::define_metric(abi::COUNTER, "probe_counter");
    record("define_counter", status, &counter.to_string());
    let (status, again) = calls::define_metric(abi::COUNTER, "probe_counter");
    record(
        "define_counter_again",
        status,
        &(again == counter).to_string(),
    );
    // SAFETY (all below): plain value arguments.
    let status = unsafe { abi::proxy_increment_metric(counter, 3) };
    record("counter_increment_3", status, "");
    let status = unsafe { abi::proxy_increment_metric(counter, 0) };
    record("counter_increment_0", status, "");
    let status = unsafe { abi::proxy_increment_metric(counter, -1) };
    record("counter_increment_negative", status, "");
    let (status, value) = calls::get_metric(counter);
    record("counter_get", status, &value.to_string());
    let status = unsafe { abi::proxy_record_metric(counter, 10) };
    record("counter_record_10", status, "");
    let (status, value) = calls::get_metric(counter);
    record("counter_get_after_record", status, &value.to_string());

    let (status, gauge) = calls::define_metric(abi::GAUGE, "probe_gauge");
    record("define_gauge", status, "");
    let status = unsafe { abi::proxy_record_metric(gauge, 7) };
    record("gauge_record_7", status, "");
    let status = unsafe { abi::proxy_increment_metric(gauge, -2) };
    record("gauge_increment_negative", status, "");
    let (status, value) = calls::get_metric(gauge);
    record("gauge_get", status, &value.to_string());

    let (status, histogram) = calls::define_metric(abi::HISTOGRAM, "probe_histogram");
    record("define_histogram", status, "");
    let status = unsafe { abi::proxy_record_metric(histogram, 42) };
    record("histogram_record", status, "");
    let status = unsafe { abi::proxy_increment_metric(histogram, 1) };
    record("histogram_increment", status, "");
    let (status, _) = calls::get_metric(histogram);
    record("histogram_get", status, "");

    let (status, _) = calls::define_metric(7, "probe_bad_kind");
    record("define_bad_kind", status, "");
    let status = unsafe { abi::proxy_increment_metric(counter ^ 0x7ff0, 1) };
    record("increment_unknown", status, "");
    let (status, _) = calls::get_metric(counter ^ 0x7ff0);
    record("get_unknown", status, "");
}

fn shared_data() {
    let (status, value, _) = calls::get_shared("probe-missing");
    record("shared_get_missing", status, &show(&value));
    let status = calls::set_shared("probe-key", "v1", 0);
    record("shared_set", status, "");
    let (status, value, cas) = calls::get_shared("probe-key");
    record("shared_get", status, &show(&value));
    let status = calls::set_shared("probe-key", "v2", cas.wrapping_add(1000));
    record("shared_set_stale_cas", status, "");
    let status = calls::set_shared("probe-key", "v2", cas);
    record("shared_set_cas", status, "");
    let (status, value, cas2) = calls::get_shared("probe-key");
    record(
        "shared_get_after_cas",
        status,
        &format!("{} {}", show(&value), cas2 != cas),
    );
}

fn queues() {
    let (status, id) = calls::register_queue("probe-queue");
    record("queue_register", status, "");
    let (status, again) = calls::register_queue("probe-queue");
    record("queue_register_again", status, &(again == id).to_string());
    let (status, _) = calls::resolve_queue("no-such-vm", "no-such-queue");
    record("queue_resolve_missing", status, "");
    // The tests start this guest in the vm `probe-vm`.
    let (status, resolved) = calls::resolve_queue("probe-vm", "probe-queue");
    record("queue_resolve_own", status, &(resolved == id).to_string());
    let (status, value) = calls::dequeue(id);
    record("queue_dequeue_empty", status, &show(&value));
    let status = calls::enqueue(id, "m1");
    record("queue_enqueue", status, "");
    let (status, value) = calls::dequeue(id);
    record("queue_dequeue", status, &show(&value));
    let status = calls::enqueue(id ^ 0x7ff0, "x");
    record("queue_enqueue_unknown", status, "");
    let (status, value) = calls::dequeue(id ^ 0x7ff0);
    record("queue_dequeue_unknown", status, &show(&value));
}

pub fn request_headers() -> u32 {
    let (status, pairs) = calls::get_pairs(abi::REQUEST_HEADERS);
    record("request_pairs", status, &show_pairs(&pairs));
    let (status, size) = calls::map_size(abi::REQUEST_HEADERS);
    record("request_size", status, &size.to_string());
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, "x-missing");
    record("get_missing", status, &show(&value));
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, "X-Probe");
    record("get_mixed_case", status, &show(&value));
    let (status, value) = calls::get_header(abi::RESPONSE_HEADERS, ":status");
    record("response_header_in_request", status, &show(&value));
    let (status, pairs) = calls::get_pairs(abi::RESPONSE_HEADERS);
    record("response_pairs_in_request", status, &show_pairs(&pairs));
    let status = calls::add_header(abi::RESPONSE_HEADERS, "x-a", "1");
    record("add_response_in_request", status, "");
    let (status, size) = calls::map_size(abi::REQUEST_TRAILERS);
    record("trailers_size_in_request", status, &size.to_string());
    let status = calls::add_header(abi::REQUEST_HEADERS, "X-Added", "1");
    record("add", status, "");
    let status = calls::add_header(abi::REQUEST_HEADERS, "x-added", "2");
    record("add_second", status, "");
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, "x-added");
    record("get_added", status, &show(&value));
    let status = calls::replace_header(abi::REQUEST_HEADERS, "x-probe", "replaced");
    record("replace", status, "");
    let status = calls::replace_header(abi::REQUEST_HEADERS, "x-new", "fresh");
    record("replace_absent", status, "");
    let status = calls::remove_header(abi::REQUEST_HEADERS, "x-remove-me");
    record("remove", status, "");
    let status = calls::remove_header(abi::REQUEST_HEADERS, "x-absent");
    record("remove_absent", status, "");
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, "x-remove-me");
    record("get_removed", status, &show(&value));
    let (status, value) = calls::get_buffer(abi::REQUEST_BODY, 0, 100);
    record("request_body_in_headers", status, &show(&value));
    // Envoy keeps a set property in filter state under the whole path but
    // looks a read up by its first segment: only one-segment paths round-trip.
    let status = calls::set_property(&["probe_prop"], b"pv");
    record("set_property", status, "");
    let (status, value) = calls::get_property(&["probe_prop"]);
    record("get_set_property", status, &show(&value));
    let (status, value) = calls::get_property(&["request", "path"]);
    record("property_request_path", status, &show(&value));
    let (status, pairs) = calls::get_pairs(abi::REQUEST_HEADERS);
    record("request_pairs_after", status, &show_pairs(&pairs));
    0
}

pub fn request_body(size: usize, end_of_stream: bool) -> u32 {
    let (status, value) = calls::get_buffer(abi::REQUEST_BODY, 0, size);
    record("request_body", status, &show(&value));
    let (status, value) = calls::get_buffer(abi::REQUEST_BODY, 2, 3);
    record("request_body_slice", status, &show(&value));
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, ":path");
    record("request_header_in_body", status, &show(&value));
    if !end_of_stream {
        // Buffer until the whole body is here.
        return 1;
    }
    let status = calls::set_buffer(abi::REQUEST_BODY, 0, size, b"REPLACED");
    record("request_body_replace", status, "");
    let (status, value) = calls::get_buffer(abi::REQUEST_BODY, 0, usize::MAX >> 1);
    record("request_body_after", status, &show(&value));
    0
}

pub fn request_trailers() {
    let (status, size) = calls::map_size(abi::REQUEST_TRAILERS);
    record("request_trailers_size", status, &size.to_string());
    let (status, pairs) = calls::get_pairs(abi::REQUEST_TRAILERS);
    record("request_trailers_pairs", status, &show_pairs(&pairs));
    let status = calls::add_header(abi::REQUEST_TRAILERS, "x-trailer-added", "t");
    record("request_trailers_add", status, "");
}

pub fn response_headers() -> u32 {
    let (status, value) = calls::get_header(abi::RESPONSE_HEADERS, ":status");
    record("response_status", status, &show(&value));
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, ":path");
    record("request_header_in_response", status, &show(&value));
    let status = calls::add_header(abi::RESPONSE_HEADERS, "X-Probe-Response", "1");
    record("response_add", status, "");
    let (status, value) = calls::get_header(abi::RESPONSE_HEADERS, "x-probe-set-pairs");
    if status == 0 && value.is_some() {
        let status = calls::set_pairs(
            abi::RESPONSE_HEADERS,
            &[(":status", "202"), ("X-All", "new")],
        );
        record("response_set_pairs", status, "");
    }
    let (status, pairs) = calls::get_pairs(abi::RESPONSE_HEADERS);
    record("response_pairs", status, &show_pairs(&pairs));
    0
}

pub fn response_body(size: usize, end_of_stream: bool) -> u32 {
    let (status, value) = calls::get_buffer(abi::RESPONSE_BODY, 0, size);
    record("response_body", status, &show(&value));
    if !end_of_stream {
        return 1;
    }
    let status = calls::set_buffer(abi::RESPONSE_BODY, 0, 0, b"pre-");
    record("response_body_prepend", status, "");
    let status = calls::set_buffer(abi::RESPONSE_BODY, usize::MAX >> 1, 0, b"-post");
    record("response_body_append", status, "");
    let status = calls::set_buffer(abi::RESPONSE_BODY, 1, 1, b"middle");
    record("response_body_middle", status, "");
    let (status, value) = calls::get_buffer(abi::RESPONSE_BODY, 0, usize::MAX >> 1);
    record("response_body_after", status, &show(&value));
    0
}

pub fn response_trailers() {
    let (status, size) = calls::map_size(abi::RESPONSE_TRAILERS);
    record("response_trailers_size", status, &size.to_string());
    let (status, pairs) = calls::get_pairs(abi::RESPONSE_TRAILERS);
    record("response_trailers_pairs", status, &show_pairs(&pairs));
}

pub fn on_log() {
    let (status, value) = calls::get_header(abi::REQUEST_HEADERS, ":path");
    record("log_request_header", status, &show(&value));
    let (status, value) = calls::get_header(abi::RESPONSE_HEADERS, ":status");
    record("log_response_header", status, &show(&value));
    let status = calls::add_header(abi::REQUEST_HEADERS, "x-late", "1");
    record("log_add_request_header", status, "");
}
