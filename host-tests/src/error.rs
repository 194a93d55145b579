//! Errors of loading and starting a module. Guest misbehaviour during a
//! callback is not an error of the API: it fails the VM, as in Envoy.

use std::path::PathBuf;

/// Why a module could not be loaded or a plugin started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read module `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot compile the wasm module: {0}")]
    Compile(String),
    #[error(
        "module is missing or has an unknown proxy-wasm abi version (export `proxy_abi_version_0_2_1` or `proxy_abi_version_0_2_0`)"
    )]
    UnknownAbi,
    #[error("proxy-wasm abi `0.1.0` is not supported by this host")]
    UnsupportedAbi,
    #[error("module is missing an import the host does not provide: `{module}.{name}`")]
    MissingImport { module: String, name: String },
    #[error(
        "module imports `{module}.{name}` with a signature the host does not provide: {reason}"
    )]
    ImportSignature {
        module: String,
        name: String,
        reason: String,
    },
    #[error("module is missing the `malloc` or `proxy_on_memory_allocate` export")]
    MissingAllocator,
    #[error("module does not export its linear memory as `memory`")]
    MissingMemory,
    #[error("module export `{0}` has the wrong signature")]
    ExportSignature(String),
    #[error("cannot instantiate the module: {0}")]
    Instantiate(String),
    #[error("the vm failed while starting: {0}")]
    StartFailed(String),
    #[error("invalid route table: {0}")]
    RouteTable(String),
    #[error("the compiled-module cache at `{path}` failed: {source}")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
