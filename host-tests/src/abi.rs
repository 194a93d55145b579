//! The host functions a module may import, registered the way
//! proxy-wasm-cpp-host registers them (`WasmBase::registerCallbacks`,
//! `src/wasm.cc`): `env.proxy_*` for the ABI (plus the ABI-specific ones),
//! the WASI preview1 subset under both `wasi_unstable` and
//! `wasi_snapshot_preview1`, and two emscripten helpers.

mod answer;
mod buffers;
mod control;
mod headers;
mod http_calls;
mod logs;
mod metrics;
mod properties;
mod shared;

use std::collections::HashSet;

use wasmtime::{Caller, Engine, FuncType, InstancePre, Linker, Module, Val, ValType};

use crate::error::Error;
use crate::module::AbiVersion;
use crate::state::{HostState, Restriction};
use crate::status::WasmResult;

pub(crate) use answer::Outcome;
pub(crate) use headers::insert as insert_header;
pub(crate) use logs::realtime_nanos;

/// Host calls allowed while `_initialize` / `main` run
/// (proxy-wasm-cpp-host `WasmBase::startVm`, `src/wasm.cc`). Names are
/// module-less: the lists are the same for `wasi_unstable` and
/// `wasi_snapshot_preview1`.
const ALLOWED_IN_INITIALIZE: &[&str] = &[
    "emscripten_notify_memory_growth",
    "proxy_log",
    "fd_write",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "poll_oneoff",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_advise",
    "fd_allocate",
    "fd_datasync",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_pwrite",
    "fd_readdir",
    "fd_renumber",
    "fd_sync",
    "fd_tell",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Host calls allowed inside the guest's allocator
/// (`WasmBase::allocMemory`, `include/proxy-wasm/wasm.h`).
const ALLOWED_IN_ALLOCATE: &[&str] = &["proxy_log", "fd_write", "clock_time_get", "poll_oneoff"];

/// Traps (as cpp-host does with `restricted_callback`) when the guest calls
/// a host function it may not call now.
pub(crate) fn guard(caller: &Caller<'_, HostState>, name: &str) -> wasmtime::Result<()> {
    let allowed = match caller.data().restriction {
        Restriction::None => return Ok(()),
        Restriction::Initialize => ALLOWED_IN_INITIALIZE,
        Restriction::Allocate => ALLOWED_IN_ALLOCATE,
    };
    if allowed.contains(&name) {
        Ok(())
    } else {
        Err(wasmtime::Error::msg(format!(
            "restricted_callback: `{name}` may not be called during {}",
            match caller.data().restriction {
                Restriction::Initialize => "module initialization",
                _ => "memory allocation",
            }
        )))
    }
}

/// A linker plus the names it defines, so a missing import is reported by
/// name before wasmtime's own (less specific) error.
pub(crate) struct Registry {
    pub linker: Linker<HostState>,
    pub names: HashSet<(String, String)>,
}

impl Registry {
    pub fn defined(&mut self, module: &str, name: &str) {
        self.names.insert((module.to_string(), name.to_string()));
    }
}

/// Registers `$f(caller, args...)`, returning an `answer::Answer` or a
/// `wasmtime::Result<impl Into<i32>>`, as the import `$module.$name`,
/// behind the restriction guard.
macro_rules! register {
    ($reg:expr, $module:expr, $name:literal, $f:path, ($($a:ident : $t:ty),*)) => {{
        $reg.linker.func_wrap(
            $module,
            $name,
            |mut caller: wasmtime::Caller<'_, $crate::state::HostState>, $($a: $t),*| -> wasmtime::Result<i32> {
                $crate::abi::guard(&caller, $name)?;
                $crate::calls::record(&mut caller, $name);
                $crate::abi::Outcome::into_abi($f(&mut caller, $($a),*))
            },
        )?;
        $reg.defined($module, $name);
    }};
}
pub(crate) use register;

/// Registers `env.$name`, taking `params` `i32`s, as a call that answers
/// `status` whatever its arguments (a feature this host does not have),
/// behind the restriction guard.
fn register_fixed(
    reg: &mut Registry,
    name: &'static str,
    params: usize,
    status: WasmResult,
) -> wasmtime::Result<()> {
    let ty = FuncType::new(
        reg.linker.engine(),
        vec![ValType::I32; params],
        [ValType::I32],
    );
    reg.linker
        .func_new("env", name, ty, move |mut caller, _args, results| {
            guard(&caller, name)?;
            crate::calls::record(&mut caller, name);
            if let Some(result) = results.first_mut() {
                *result = Val::I32(status.code());
            }
            Ok(())
        })?;
    reg.defined("env", name);
    Ok(())
}

fn build(engine: &Engine, abi: AbiVersion) -> wasmtime::Result<Registry> {
    let mut reg = Registry {
        linker: Linker::new(engine),
        names: HashSet::new(),
    };
    headers::register(&mut reg)?;
    buffers::register(&mut reg)?;
    properties::register(&mut reg)?;
    metrics::register(&mut reg)?;
    logs::register(&mut reg, abi)?;
    http_calls::register(&mut reg)?;
    shared::register(&mut reg)?;
    control::register(&mut reg, abi)?;
    crate::wasi::register(&mut reg, "wasi_snapshot_preview1")?;
    crate::wasi::register(&mut reg, "wasi_unstable")?;
    reg.linker.func_wrap(
        "env",
        "pthread_equal",
        |_caller: Caller<'_, HostState>, a: i32, b: i32| -> i32 { i32::from(a == b) },
    )?;
    reg.defined("env", "pthread_equal");
    reg.linker.func_wrap(
        "env",
        "emscripten_notify_memory_growth",
        |caller: Caller<'_, HostState>, _index: i32| -> wasmtime::Result<()> {
            guard(&caller, "emscripten_notify_memory_growth")
        },
    )?;
    reg.defined("env", "emscripten_notify_memory_growth");
    Ok(reg)
}

/// Links a module once; every plugin instantiates from the result.
pub(crate) fn instantiate_pre(
    engine: &Engine,
    module: &Module,
    abi: AbiVersion,
) -> Result<InstancePre<HostState>, Error> {
    let reg = build(engine, abi).map_err(|e| Error::Instantiate(format!("{e:#}")))?;
    for import in module.imports() {
        let key = (import.module().to_string(), import.name().to_string());
        if !reg.names.contains(&key) {
            return Err(Error::MissingImport {
                module: key.0,
                name: key.1,
            });
        }
    }
    reg.linker.instantiate_pre(module).map_err(|e| {
        let message = format!("{e:#}");
        match module.imports().find(|i| {
            message.contains(&format!("{}::{}", i.module(), i.name()))
                || message.contains(&format!("`{}`", i.name()))
        }) {
            Some(i) => Error::ImportSignature {
                module: i.module().to_string(),
                name: i.name().to_string(),
                reason: message,
            },
            None => Error::Instantiate(message),
        }
    })
}

/// A WAT module that imports every host function a module linked for `abi`
/// may import, with its signature: what a module generator (the host fuzz
/// target's `wasm-smith` `available_imports`) may draw from. Sorted by
/// module and name, so the text is stable.
pub(crate) fn imports_wat(engine: &Engine, abi: AbiVersion) -> Result<String, Error> {
    let reg = build(engine, abi).map_err(|e| Error::Instantiate(format!("{e:#}")))?;
    let state = crate::plugin::host_state(crate::PluginOptions::default(), None);
    let mut store = wasmtime::Store::new(engine, state);
    let funcs: Vec<(String, String, wasmtime::Func)> = reg
        .linker
        .iter(&mut store)
        .filter_map(|(module, name, item)| {
            Some((module.to_string(), name.to_string(), item.into_func()?))
        })
        .collect();
    let mut imports: Vec<(String, String, wasmtime::FuncType)> = funcs
        .into_iter()
        .map(|(module, name, func)| (module, name, func.ty(&store)))
        .collect();
    imports.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let mut wat = String::from("(module\n");
    for (module, name, ty) in imports {
        let params: Vec<String> = ty.params().map(|t| t.to_string()).collect();
        let results: Vec<String> = ty.results().map(|t| t.to_string()).collect();
        wat.push_str(&format!(
            "  (import \"{module}\" \"{name}\" (func (param {}) (result {})))\n",
            params.join(" "),
            results.join(" ")
        ));
    }
    wat.push_str(")\n");
    Ok(wat)
}
