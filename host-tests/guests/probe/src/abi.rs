//! The raw proxy-wasm ABI 0.2.1 imports, declared by hand: the SDK panics on
//! statuses it does not expect, and this guest wants to see every status.
//! Signatures as in the spec (proxy-wasm/spec `abi-versions/v0.2.1`).

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    pub fn proxy_log(level: u32, data: *const u8, size: usize) -> u32;
    pub fn proxy_get_log_level(ret_level: *mut u32) -> u32;
    pub fn proxy_get_current_time_nanoseconds(ret_time: *mut u64) -> u32;
    pub fn proxy_set_tick_period_milliseconds(period: u32) -> u32;
    pub fn proxy_get_buffer_bytes(
        kind: u32,
        start: usize,
        max_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_buffer_bytes(
        kind: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    pub fn proxy_get_header_map_pairs(
        map: u32,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_header_map_pairs(map: u32, data: *const u8, size: usize) -> u32;
    pub fn proxy_get_header_map_size(map: u32, ret_size: *mut usize) -> u32;
    pub fn proxy_get_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_add_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_replace_header_map_value(
        map: u32,
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_remove_header_map_value(map: u32, key: *const u8, key_size: usize) -> u32;
    pub fn proxy_get_property(
        path: *const u8,
        path_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
    pub fn proxy_get_shared_data(
        key: *const u8,
        key_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
        ret_cas: *mut u32,
    ) -> u32;
    pub fn proxy_set_shared_data(
        key: *const u8,
        key_size: usize,
        value: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
    pub fn proxy_register_shared_queue(name: *const u8, name_size: usize, ret_id: *mut u32) -> u32;
    pub fn proxy_resolve_shared_queue(
        vm_id: *const u8,
        vm_id_size: usize,
        name: *const u8,
        name_size: usize,
        ret_id: *mut u32,
    ) -> u32;
    pub fn proxy_enqueue_shared_queue(id: u32, data: *const u8, size: usize) -> u32;
    pub fn proxy_dequeue_shared_queue(id: u32, ret_data: *mut *mut u8, ret_size: *mut usize)
    -> u32;
    pub fn proxy_continue_stream(stream: u32) -> u32;
    pub fn proxy_close_stream(stream: u32) -> u32;
    pub fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    pub fn proxy_http_call(
        upstream: *const u8,
        upstream_size: usize,
        headers: *const u8,
        headers_size: usize,
        body: *const u8,
        body_size: usize,
        trailers: *const u8,
        trailers_size: usize,
        timeout_ms: u32,
        ret_token: *mut u32,
    ) -> u32;
    pub fn proxy_define_metric(
        kind: u32,
        name: *const u8,
        name_size: usize,
        ret_id: *mut u32,
    ) -> u32;
    pub fn proxy_increment_metric(id: u32, offset: i64) -> u32;
    pub fn proxy_record_metric(id: u32, value: u64) -> u32;
    pub fn proxy_get_metric(id: u32, ret_value: *mut u64) -> u32;
    pub fn proxy_done() -> u32;
    pub fn proxy_set_effective_context(context_id: u32) -> u32;
    pub fn proxy_call_foreign_function(
        name: *const u8,
        name_size: usize,
        args: *const u8,
        args_size: usize,
        ret_data: *mut *mut u8,
        ret_size: *mut usize,
    ) -> u32;
    pub fn proxy_get_status(
        ret_code: *mut u32,
        ret_message: *mut *mut u8,
        ret_message_size: *mut usize,
    ) -> u32;
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    pub fn fd_write(fd: u32, iovs: *const Iovec, iovs_len: usize, ret_written: *mut usize) -> u16;
    pub fn fd_read(fd: u32, iovs: *const Iovec, iovs_len: usize, ret_read: *mut usize) -> u16;
    pub fn fd_close(fd: u32) -> u16;
    pub fn fd_seek(fd: u32, offset: i64, whence: u32, ret_offset: *mut u64) -> u16;
    pub fn fd_fdstat_get(fd: u32, ret_stat: *mut u8) -> u16;
    pub fn fd_prestat_get(fd: u32, ret_prestat: *mut u8) -> u16;
    pub fn clock_time_get(clock: u32, precision: u64, ret_time: *mut u64) -> u16;
    pub fn random_get(buf: *mut u8, len: usize) -> u16;
    pub fn environ_sizes_get(ret_count: *mut usize, ret_size: *mut usize) -> u16;
    pub fn environ_get(environ: *mut *mut u8, buf: *mut u8) -> u16;
    pub fn args_sizes_get(ret_count: *mut usize, ret_size: *mut usize) -> u16;
    pub fn args_get(argv: *mut *mut u8, buf: *mut u8) -> u16;
    pub fn sched_yield() -> u16;
    pub fn proc_exit(code: u32);
}

/// A WASI `ciovec`.
#[repr(C)]
pub struct Iovec {
    pub buf: *const u8,
    pub len: usize,
}

// Map, buffer, stream and metric kinds, numbered as the ABI numbers them.
pub const REQUEST_HEADERS: u32 = 0;
pub const REQUEST_TRAILERS: u32 = 1;
pub const RESPONSE_HEADERS: u32 = 2;
pub const RESPONSE_TRAILERS: u32 = 3;
pub const HTTP_CALL_RESPONSE_HEADERS: u32 = 6;
pub const REQUEST_BODY: u32 = 0;
pub const RESPONSE_BODY: u32 = 1;
pub const HTTP_CALL_RESPONSE_BODY: u32 = 4;
pub const VM_CONFIGURATION: u32 = 6;
pub const PLUGIN_CONFIGURATION: u32 = 7;
pub const STREAM_REQUEST: u32 = 0;
pub const STREAM_RESPONSE: u32 = 1;
pub const COUNTER: u32 = 0;
pub const GAUGE: u32 = 1;
pub const HISTOGRAM: u32 = 2;
pub const LOG_INFO: u32 = 2;
