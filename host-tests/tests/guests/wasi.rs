//! `guest-probe` in its `wasi` mode: Envoy's WASI preview1 subset
//! (proxy-wasm-cpp-host `src/exports.cc`, `wasi_unstable_*`).

use crate::abi_status::{probes, start_probe};
use host_tests::Level;

#[test]
fn fd_write_logs_without_the_trailing_newline() {
    let plugin = start_probe("wasi");
    let p = probes(&plugin);
    assert_eq!(p.get("fd_write_stdout").status, 0);
    assert_eq!(
        p.value("fd_write_stdout"),
        "13",
        "bytes written, newline included"
    );
    assert_eq!(p.get("fd_write_stderr").status, 0);
    assert_eq!(p.get("fd_write_bad_fd").status, 8, "EBADF for other fds");
    let logs = plugin.logs();
    assert!(
        logs.iter()
            .any(|l| l.level == Level::Info && l.message == "hello stdout"),
        "stdout is an info log: {logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l.level == Level::Error && l.message == "oops on stderr"),
        "stderr is an error log: {logs:?}"
    );
    assert!(!logs.iter().any(|l| l.message.contains("nowhere")));
}

#[test]
fn stubs_answer_like_envoy_and_proc_exit_returns() {
    let plugin = start_probe("wasi");
    let p = probes(&plugin);
    let errno = |name: &str| p.get(name).status;
    assert_eq!(errno("fd_read"), 52, "ENOSYS");
    assert_eq!(errno("fd_close"), 0);
    assert_eq!(errno("fd_seek"), 0);
    assert_eq!(errno("fd_fdstat_get"), 0, "stdout has a stat");
    assert_eq!(errno("fd_prestat_get"), 8, "EBADF: no preopened dirs");
    assert_eq!(errno("sched_yield"), 0);
    assert_eq!(errno("args_sizes_get"), 0);
    assert_eq!(p.value("args_sizes_get"), "0 0");
    assert_eq!(errno("args_get"), 0);
    assert_eq!(errno("environ_sizes_get"), 0);
    assert_eq!(errno("environ_get"), 0);
    // Envoy logs proc_exit and returns: the guest goes on and stays healthy.
    assert!(p.has("after_proc_exit"), "proc_exit must not trap");
    assert!(plugin.configured());
    assert!(!plugin.is_failed());
}

#[test]
fn clocks_and_randomness() {
    let plugin = start_probe("wasi");
    let p = probes(&plugin);
    assert_eq!(p.get("clock_realtime").status, 0);
    let realtime: u64 = p.value("clock_realtime").parse().unwrap();
    assert!(
        realtime > 1_500_000_000_000_000_000,
        "realtime in ns: {realtime}"
    );
    assert_eq!(p.get("clock_monotonic").status, 0);
    assert_eq!(p.get("random_get").status, 0);
    assert_eq!(
        p.value("random_get"),
        "true",
        "32 random bytes are not all zero"
    );
}
