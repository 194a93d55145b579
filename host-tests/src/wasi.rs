//! Envoy's WASI preview1 subset, registered under both `wasi_unstable` and
//! `wasi_snapshot_preview1`, with the errno values of proxy-wasm-cpp-host
//! `src/exports.cc` (`wasi_unstable_*`): stdout and stderr become info and
//! error logs, there is no file system, `proc_exit` does not trap.

use wasmtime::Caller;

use crate::abi::{Registry, guard};
use crate::memory::{parts, slice, write, write_u32, write_u64};
use crate::state::HostState;
use crate::types::Level;

const SUCCESS: i32 = 0;
const BADF: i32 = 8;
const FAULT: i32 = 21;
const ENOTDIR: i32 = 20;
const INVAL: i32 = 28;
const NOENT: i32 = 44;
const NOSYS: i32 = 52;
const NOTSUP: i32 = 58;

/// Largest `random_get` (cpp-host `PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES`).
const RANDOM_GET_MAX: u32 = 64 * 1024;

type C<'a, 'b> = &'a mut Caller<'b, HostState>;

macro_rules! wasi {
    ($reg:expr, $m:expr, $name:literal, |$c:ident $(, $a:ident : $t:ty)*| $body:expr) => {{
        $reg.linker.func_wrap(
            $m,
            $name,
            |mut caller: Caller<'_, HostState>, $($a: $t),*| -> wasmtime::Result<i32> {
                guard(&caller, $name)?;
                crate::calls::record(&mut caller, $name);
                #[allow(unused_variables)]
                let $c: C<'_, '_> = &mut caller;
                Ok($body)
            },
        )?;
        $reg.defined($m, $name);
    }};
}

fn std_fd(fd: i32) -> bool {
    fd == 1 || fd == 2
}

fn ok_if_std(fd: i32) -> i32 {
    if std_fd(fd) { SUCCESS } else { BADF }
}

fn set_word(c: C<'_, '_>, ptr: i32, value: u32) -> bool {
    let (mem, _) = parts(c);
    write_u32(mem, ptr, value)
}

/// The `(address, length)` pairs of `iovs_len` iovecs at `iovs`, each
/// checked against guest memory; `None` when one is out of bounds.
fn iovecs(mem: &[u8], iovs: i32, iovs_len: i32) -> Option<Vec<(i32, i32)>> {
    let mut out = Vec::new();
    for i in 0..(iovs_len as u32) {
        let at = (i as i32)
            .checked_mul(8)
            .and_then(|o| iovs.checked_add(o))?;
        let iov = slice(mem, at, 8)?;
        let mut word = [0u8; 4];
        word.copy_from_slice(iov.get(0..4)?);
        let buf = u32::from_le_bytes(word) as i32;
        word.copy_from_slice(iov.get(4..8)?);
        let len = u32::from_le_bytes(word) as i32;
        if len != 0 {
            slice(mem, buf, len)?;
            out.push((buf, len));
        }
    }
    Some(out)
}

/// `writevImpl`: gathers the iovecs and logs them, one trailing newline
/// stripped; stdout is info, stderr is error. The iovecs are checked and
/// their total measured before anything is copied: one `fd_write` copies
/// at most `Limits::max_copy_bytes` (however often the iovecs repeat one
/// region), else it traps.
fn fd_write(
    c: C<'_, '_>,
    fd: i32,
    iovs: i32,
    iovs_len: i32,
    nwritten: i32,
) -> wasmtime::Result<i32> {
    let level = match fd {
        1 => Level::Info,
        2 => Level::Error,
        _ => return Ok(BADF),
    };
    let (mem, state) = parts(c);
    let Some(iovecs) = iovecs(mem, iovs, iovs_len) else {
        return Ok(FAULT);
    };
    let total = iovecs.iter().fold(0usize, |sum, (_, len)| {
        sum.saturating_add(*len as u32 as usize)
    });
    crate::budget::copy(state, "fd_write", total)?;
    let mut text = Vec::with_capacity(total);
    for (buf, len) in iovecs {
        text.extend_from_slice(slice(mem, buf, len).unwrap_or_default());
    }
    let written = text.len();
    if written != 0 {
        if text.last() == Some(&b'\n') {
            text.pop();
        }
        state.log(level, String::from_utf8_lossy(&text).into_owned());
    }
    if !write_u32(mem, nwritten, u32::try_from(written).unwrap_or(u32::MAX)) {
        return Ok(FAULT);
    }
    Ok(SUCCESS)
}

fn environ_sizes(c: C<'_, '_>, count_ptr: i32, size_ptr: i32) -> i32 {
    let (mem, state) = parts(c);
    let count = state.envs.len() as u32;
    let size: usize = state.envs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    if !write_u32(mem, count_ptr, count) || !write_u32(mem, size_ptr, size as u32) {
        return FAULT;
    }
    SUCCESS
}

fn environ_get(c: C<'_, '_>, mut array: i32, mut buf: i32) -> i32 {
    let (mem, state) = parts(c);
    for (k, v) in &state.envs {
        let entry = format!("{k}={v}\0");
        if !write_u32(mem, array, buf as u32) || !write(mem, buf, entry.as_bytes()) {
            return FAULT;
        }
        buf = buf.wrapping_add(entry.len() as i32);
        array = array.wrapping_add(4);
    }
    SUCCESS
}

fn clock_time_get(c: C<'_, '_>, id: i32, out: i32) -> i32 {
    let (mem, state) = parts(c);
    let nanos = match id {
        0 => crate::abi::realtime_nanos(state),
        1 => u64::try_from(state.clock.monotonic.as_nanos()).unwrap_or(u64::MAX),
        _ => return NOTSUP,
    };
    if !write_u64(mem, out, nanos) {
        return FAULT;
    }
    SUCCESS
}

fn clock_res_get(c: C<'_, '_>, id: i32, out: i32) -> i32 {
    if id != 0 && id != 1 {
        return NOTSUP;
    }
    let (mem, _) = parts(c);
    if !write_u64(mem, out, 1) {
        return FAULT;
    }
    SUCCESS
}

fn random_get(c: C<'_, '_>, ptr: i32, len: i32) -> i32 {
    let len = len as u32;
    if len > RANDOM_GET_MAX {
        return INVAL;
    }
    if len == 0 {
        return SUCCESS;
    }
    let (mem, state) = parts(c);
    let mut bytes = Vec::with_capacity(len as usize);
    while bytes.len() < len as usize {
        bytes.extend_from_slice(&state.next_random().to_le_bytes());
    }
    bytes.truncate(len as usize);
    if !write(mem, ptr, &bytes) {
        return FAULT;
    }
    SUCCESS
}

fn fd_fdstat_get(c: C<'_, '_>, fd: i32, out: i32) -> i32 {
    if !std_fd(fd) {
        return BADF;
    }
    let (mem, _) = parts(c);
    let mut stat = [0u8; 24];
    // fs_rights_base = __WASI_RIGHTS_FD_WRITE
    if let Some(rights) = stat.get_mut(8..16) {
        rights.copy_from_slice(&64u64.to_le_bytes());
    }
    // cpp-host ignores a failed write here.
    let _ = write(mem, out, &stat);
    SUCCESS
}

pub(crate) fn register(reg: &mut Registry, m: &'static str) -> wasmtime::Result<()> {
    wasi!(
        reg,
        m,
        "fd_write",
        |c, fd: i32, iovs: i32, n: i32, out: i32| fd_write(c, fd, iovs, n, out)?
    );
    wasi!(
        reg,
        m,
        "fd_pwrite",
        |c, fd: i32, iovs: i32, n: i32, _off: i64, out: i32| {
            if std_fd(fd) {
                fd_write(c, fd, iovs, n, out)?
            } else {
                BADF
            }
        }
    );
    wasi!(reg, m, "fd_read", |c,
                              _fd: i32,
                              _iovs: i32,
                              _n: i32,
                              _out: i32| {
        NOSYS
    });
    wasi!(
        reg,
        m,
        "fd_pread",
        |c, _fd: i32, _iovs: i32, _n: i32, _off: i64, _out: i32| NOSYS
    );
    wasi!(reg, m, "fd_seek", |c,
                              _fd: i32,
                              _off: i64,
                              _whence: i32,
                              _out: i32| {
        SUCCESS
    });
    wasi!(reg, m, "fd_close", |c, _fd: i32| SUCCESS);
    wasi!(reg, m, "fd_fdstat_get", |c, fd: i32, out: i32| {
        fd_fdstat_get(c, fd, out)
    });
    wasi!(reg, m, "fd_fdstat_set_flags", |c, _fd: i32, _flags: i32| {
        NOSYS
    });
    wasi!(
        reg,
        m,
        "fd_fdstat_set_rights",
        |c, fd: i32, _b: i64, _i: i64| ok_if_std(fd)
    );
    wasi!(
        reg,
        m,
        "fd_advise",
        |c, _fd: i32, _off: i64, _len: i64, _adv: i32| SUCCESS
    );
    wasi!(reg, m, "fd_allocate", |c, fd: i32, _off: i64, _len: i64| {
        ok_if_std(fd)
    });
    wasi!(reg, m, "fd_datasync", |c, fd: i32| ok_if_std(fd));
    wasi!(reg, m, "fd_sync", |c, fd: i32| ok_if_std(fd));
    wasi!(reg, m, "fd_filestat_get", |c, _fd: i32, _out: i32| BADF);
    wasi!(reg, m, "fd_filestat_set_size", |c, fd: i32, _size: i64| {
        ok_if_std(fd)
    });
    wasi!(
        reg,
        m,
        "fd_filestat_set_times",
        |c, fd: i32, _a: i64, _m: i64, _f: i32| ok_if_std(fd)
    );
    wasi!(reg, m, "fd_prestat_get", |c, _fd: i32, _out: i32| BADF);
    wasi!(
        reg,
        m,
        "fd_prestat_dir_name",
        |c, _fd: i32, _p: i32, _l: i32| NOSYS
    );
    wasi!(
        reg,
        m,
        "fd_readdir",
        |c, _fd: i32, _b: i32, _l: i32, _cookie: i64, out: i32| {
            if set_word(c, out, 0) { ENOTDIR } else { FAULT }
        }
    );
    wasi!(reg, m, "fd_renumber", |c, fd: i32, to: i32| {
        if std_fd(fd) && std_fd(to) {
            NOTSUP
        } else {
            BADF
        }
    });
    wasi!(reg, m, "fd_tell", |c, fd: i32, out: i32| {
        if !std_fd(fd) {
            BADF
        } else {
            let (mem, _) = parts(c);
            if write_u64(mem, out, 0) {
                SUCCESS
            } else {
                FAULT
            }
        }
    });
    wasi!(
        reg,
        m,
        "path_open",
        |c,
         _fd: i32,
         _df: i32,
         _p: i32,
         _l: i32,
         _of: i32,
         _rb: i64,
         _ri: i64,
         _ff: i32,
         _out: i32| NOENT
    );
    wasi!(
        reg,
        m,
        "path_filestat_get",
        |c, _fd: i32, _f: i32, _p: i32, _l: i32, _out: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_create_directory",
        |c, _fd: i32, _p: i32, _l: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_filestat_set_times",
        |c, _fd: i32, _f: i32, _p: i32, _l: i32, _a: i64, _m: i64, _ff: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_link",
        |c, _a: i32, _b: i32, _p: i32, _l: i32, _d: i32, _np: i32, _nl: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_readlink",
        |c, _fd: i32, _p: i32, _l: i32, _b: i32, _bl: i32, out: i32| {
            if set_word(c, out, 0) { NOTSUP } else { FAULT }
        }
    );
    wasi!(
        reg,
        m,
        "path_remove_directory",
        |c, _fd: i32, _p: i32, _l: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_rename",
        |c, _fd: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_symlink",
        |c, _p: i32, _l: i32, _fd: i32, _np: i32, _nl: i32| NOTSUP
    );
    wasi!(
        reg,
        m,
        "path_unlink_file",
        |c, _fd: i32, _p: i32, _l: i32| NOTSUP
    );
    wasi!(reg, m, "sock_accept", |c, _fd: i32, _f: i32, out: i32| {
        if set_word(c, out, 0) { NOTSUP } else { FAULT }
    });
    wasi!(
        reg,
        m,
        "sock_recv",
        |c, _fd: i32, _d: i32, _l: i32, _f: i32, out0: i32, out1: i32| {
            let (mem, _) = parts(c);
            if write_u32(mem, out0, 0) && write(mem, out1, &[0, 0]) {
                NOTSUP
            } else {
                FAULT
            }
        }
    );
    wasi!(
        reg,
        m,
        "sock_send",
        |c, _fd: i32, _d: i32, _l: i32, _f: i32, out: i32| {
            if set_word(c, out, 0) { NOTSUP } else { FAULT }
        }
    );
    wasi!(reg, m, "sock_shutdown", |c, _fd: i32, _how: i32| NOTSUP);
    wasi!(reg, m, "environ_sizes_get", |c, count: i32, size: i32| {
        environ_sizes(c, count, size)
    });
    wasi!(
        reg,
        m,
        "environ_get",
        |c, array: i32, buf: i32| environ_get(c, array, buf)
    );
    wasi!(reg, m, "args_sizes_get", |c, argc: i32, size: i32| {
        let (mem, _) = parts(c);
        if write_u32(mem, argc, 0) && write_u32(mem, size, 0) {
            SUCCESS
        } else {
            FAULT
        }
    });
    wasi!(reg, m, "args_get", |c, _argv: i32, _buf: i32| SUCCESS);
    wasi!(
        reg,
        m,
        "clock_time_get",
        |c, id: i32, _precision: i64, out: i32| clock_time_get(c, id, out)
    );
    wasi!(reg, m, "clock_res_get", |c, id: i32, out: i32| {
        clock_res_get(c, id, out)
    });
    wasi!(reg, m, "random_get", |c, ptr: i32, len: i32| random_get(
        c, ptr, len
    ));
    wasi!(reg, m, "sched_yield", |c| SUCCESS);
    wasi!(
        reg,
        m,
        "poll_oneoff",
        |c, _in: i32, _out: i32, _n: i32, nevents: i32| {
            if set_word(c, nevents, 0) {
                SUCCESS
            } else {
                FAULT
            }
        }
    );
    // `proc_exit` returns to the guest (cpp-host only logs it).
    reg.linker.func_wrap(
        m,
        "proc_exit",
        |caller: Caller<'_, HostState>, _code: i32| -> wasmtime::Result<()> {
            guard(&caller, "proc_exit")
        },
    )?;
    reg.defined(m, "proc_exit");
    Ok(())
}
