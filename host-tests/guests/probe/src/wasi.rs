//! The `wasi` mode: Envoy's WASI preview1 subset, called directly.

use crate::abi::{self, Iovec};
use crate::calls::record;

fn write(fd: u32, parts: &[&[u8]]) -> (u16, usize) {
    let iovs: Vec<Iovec> = parts
        .iter()
        .map(|p| Iovec {
            buf: p.as_ptr(),
            len: p.len(),
        })
        .collect();
    let mut written = 0;
    // SAFETY: the iovecs describe live slices; out-pointer to a local.
    let errno = unsafe { abi::fd_write(fd, iovs.as_ptr(), iovs.len(), &mut written) };
    (errno, written)
}

pub fn probe() {
    let (errno, n) = write(1, &[b"hello ", b"stdout\n"]);
    record("fd_write_stdout", u32::from(errno), &n.to_string());
    let (errno, n) = write(2, &[b"oops on stderr\n"]);
    record("fd_write_stderr", u32::from(errno), &n.to_string());
    let (errno, _) = write(7, &[b"nowhere\n"]);
    record("fd_write_bad_fd", u32::from(errno), "");

    let mut buf = [0u8; 8];
    let iov = Iovec {
        buf: buf.as_mut_ptr(),
        len: buf.len(),
    };
    let mut n = 0;
    // SAFETY (stubs below): pointers to locals.
    let errno = unsafe { abi::fd_read(0, &iov, 1, &mut n) };
    record("fd_read", u32::from(errno), "");
    let errno = unsafe { abi::fd_close(3) };
    record("fd_close", u32::from(errno), "");
    let mut offset = 0;
    let errno = unsafe { abi::fd_seek(1, 0, 0, &mut offset) };
    record("fd_seek", u32::from(errno), "");
    let mut stat = [0u8; 24];
    let errno = unsafe { abi::fd_fdstat_get(1, stat.as_mut_ptr()) };
    record("fd_fdstat_get", u32::from(errno), "");
    let mut prestat = [0u8; 8];
    let errno = unsafe { abi::fd_prestat_get(3, prestat.as_mut_ptr()) };
    record("fd_prestat_get", u32::from(errno), "");

    let mut realtime = 0;
    let errno = unsafe { abi::clock_time_get(0, 1, &mut realtime) };
    record("clock_realtime", u32::from(errno), &realtime.to_string());
    let mut monotonic = 0;
    let errno = unsafe { abi::clock_time_get(1, 1, &mut monotonic) };
    record("clock_monotonic", u32::from(errno), &monotonic.to_string());

    let mut random = [0u8; 32];
    let errno = unsafe { abi::random_get(random.as_mut_ptr(), random.len()) };
    record(
        "random_get",
        u32::from(errno),
        &random.iter().any(|b| *b != 0).to_string(),
    );

    let (mut count, mut size) = (0, 0);
    let errno = unsafe { abi::environ_sizes_get(&mut count, &mut size) };
    record(
        "environ_sizes_get",
        u32::from(errno),
        &format!("{count} {size}"),
    );
    let mut pointers = vec![std::ptr::null_mut(); count];
    let mut strings = vec![0u8; size];
    let errno = unsafe { abi::environ_get(pointers.as_mut_ptr(), strings.as_mut_ptr()) };
    record(
        "environ_get",
        u32::from(errno),
        &String::from_utf8_lossy(&strings).replace('\0', "|"),
    );
    let errno = unsafe { abi::args_sizes_get(&mut count, &mut size) };
    record(
        "args_sizes_get",
        u32::from(errno),
        &format!("{count} {size}"),
    );
    let mut pointers = vec![std::ptr::null_mut(); count.max(1)];
    let mut strings = vec![0u8; size.max(1)];
    let errno = unsafe { abi::args_get(pointers.as_mut_ptr(), strings.as_mut_ptr()) };
    record("args_get", u32::from(errno), "");
    let errno = unsafe { abi::sched_yield() };
    record("sched_yield", u32::from(errno), "");

    // SAFETY: plain value argument. Envoy logs and returns (no trap).
    unsafe { abi::proc_exit(3) };
    record("after_proc_exit", 0, "");
}
