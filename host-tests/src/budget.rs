//! Host-side budgets, so that a module cannot exhaust the host: every
//! byte the host copies out of guest memory or keeps for the guest is
//! bounded. Envoy has none of these bounds (it trusts its modules); they
//! are this host's own, chosen far above what a real filter needs, and a
//! module that hits one gets a clear error: a trap naming the host call and
//! the limit (the VM fails, as on any trap), or, for logs, dropped lines
//! that [`crate::Plugin::dropped_logs`] counts.
//!
//! | what | bound | past it |
//! |---|---|---|
//! | one host call's copy out of guest memory (a log line, all iovecs of one `fd_write`, a header key plus value, a shared-data key plus value, a queue item, a local response, an http call, a buffer edit, a property, a metric name) | [`Limits::max_copy_bytes`] | trap |
//! | log lines kept | [`Limits::max_log_bytes`] and a million lines | dropped, counted |
//! | one header map, one body | [`Limits::max_copy_bytes`] | trap |
//! | shared data plus queued items of one [`crate::SharedStore`] | [`Limits::max_shared_bytes`] | trap |
//! | http calls waiting for an answer | [`MAX_PENDING_CALLS`] | trap |
//! | metrics defined | [`MAX_METRICS`] | trap |
//! | filter-state values of one stream | [`MAX_FILTER_STATE`] | trap |
//!
//! Fuel ([`Limits::fuel_per_call`]) is given once per event the host
//! delivers; what the guest chains from it (a `continue_stream`, a local
//! reply through its own response callbacks, `on_queue_ready` from its own
//! `enqueue`) spends what is left, so re-queueing cannot multiply it.

use crate::state::HostState;
use crate::types::Limits;

/// Most `proxy_http_call`s waiting for the test to answer them.
pub(crate) const MAX_PENDING_CALLS: usize = 10_000;

/// Most metrics a plugin defines (distinct ids; Envoy returns the same stat
/// for the same name, this host keeps one entry per name).
pub(crate) const MAX_METRICS: usize = 100_000;

/// Most `proxy_set_property` keys on one stream.
pub(crate) const MAX_FILTER_STATE: usize = 10_000;

/// What one shared-data entry or queued item costs beyond its bytes (so
/// empty items cannot grow a queue for free).
pub(crate) const ENTRY_OVERHEAD: usize = 64;

/// The error of a host call that went past a bound.
pub(crate) fn exceeded(call: &str, what: std::fmt::Arguments<'_>) -> wasmtime::Error {
    wasmtime::Error::msg(format!("host limit: `{call}` {what}"))
}

/// Refuses a host call that would copy more than
/// [`Limits::max_copy_bytes`] out of guest memory, before any copy.
pub(crate) fn copy(state: &HostState, call: &str, bytes: usize) -> wasmtime::Result<()> {
    let limit = state.budget.max_copy_bytes;
    if bytes > limit {
        return Err(exceeded(
            call,
            format_args!(
                "would copy {bytes} bytes out of guest memory (at most {limit} bytes per call)"
            ),
        ));
    }
    Ok(())
}

/// Refuses a header map or body that would hold more than
/// [`Limits::max_copy_bytes`].
pub(crate) fn held(limit: usize, call: &str, what: &str, bytes: usize) -> wasmtime::Result<()> {
    if bytes > limit {
        return Err(exceeded(
            call,
            format_args!("would grow {what} to {bytes} bytes (at most {limit})"),
        ));
    }
    Ok(())
}

/// Refuses a count past its bound.
pub(crate) fn count(call: &str, what: &str, count: usize, limit: usize) -> wasmtime::Result<()> {
    if count >= limit {
        return Err(exceeded(
            call,
            format_args!("would keep more than {limit} {what}"),
        ));
    }
    Ok(())
}

/// The defaults, in one place for the docs of [`Limits`].
pub(crate) const DEFAULT_MAX_COPY_BYTES: usize = 16 << 20;
pub(crate) const DEFAULT_MAX_LOG_BYTES: usize = 64 << 20;
pub(crate) const DEFAULT_MAX_SHARED_BYTES: usize = 64 << 20;

/// The bytes of a shared-data entry or queue item, as the budget counts them.
pub(crate) fn entry_bytes(parts: &[usize]) -> usize {
    parts
        .iter()
        .fold(ENTRY_OVERHEAD, |sum, n| sum.saturating_add(*n))
}

/// Refuses growing a shared store past [`Limits::max_shared_bytes`].
pub(crate) fn shared(
    limits: &Limits,
    call: &str,
    current: usize,
    added: usize,
) -> wasmtime::Result<()> {
    let limit = limits.max_shared_bytes;
    let after = current.saturating_add(added);
    if after > limit {
        return Err(exceeded(
            call,
            format_args!(
                "would grow shared data and queues to {after} bytes (at most {limit} per store)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_over_the_limit_names_the_call_and_the_limit() {
        let mut state = HostState::for_tests();
        state.budget.max_copy_bytes = 10;
        assert!(copy(&state, "proxy_log", 10).is_ok());
        let err = copy(&state, "proxy_log", 11).unwrap_err().to_string();
        assert_eq!(
            err,
            "host limit: `proxy_log` would copy 11 bytes out of guest memory (at most 10 bytes per call)"
        );
    }

    #[test]
    fn shared_bytes_count_an_overhead_per_entry() {
        assert_eq!(entry_bytes(&[]), ENTRY_OVERHEAD);
        assert_eq!(entry_bytes(&[1, 2]), ENTRY_OVERHEAD + 3);
        assert_eq!(entry_bytes(&[usize::MAX, 2]), usize::MAX);
        let limits = Limits {
            max_shared_bytes: 100,
            ..Limits::default()
        };
        assert!(shared(&limits, "x", 50, 50).is_ok());
        assert!(shared(&limits, "x", 50, 51).is_err());
        assert!(shared(&limits, "x", usize::MAX, 1).is_err());
    }

    #[test]
    fn counts_stop_at_the_bound() {
        assert!(count("c", "things", 9, 10).is_ok());
        assert!(count("c", "things", 10, 10).is_err());
    }
}
