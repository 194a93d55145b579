//! Compiling a module once: an in-process cache shared by every `Host` in
//! the process, and an on-disk cache of compiled artifacts keyed by the
//! sha256 of the module bytes and wasmtime's compatibility hash.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use wasmtime::{Config, Engine, InstancePre, Module};

use crate::abi;
use crate::error::Error;
use crate::state::HostState;

/// The proxy-wasm ABI a module declares by exporting
/// `proxy_abi_version_0_2_1` (or `_0_2_0`), as proxy-wasm-cpp-host
/// `src/bytecode_util.cc` (`getAbiVersion`) detects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AbiVersion {
    V0_2_0,
    V0_2_1,
}

/// Where a [`LoadedModule`]'s compiled code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleSource {
    /// Compiled now (and written to the disk cache).
    Compiled,
    /// Deserialized from the on-disk cache.
    DiskCache,
    /// Already loaded in this process.
    Memory,
}

/// A compiled module, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct LoadedModule {
    pub(crate) inner: Arc<ModuleInner>,
    source: ModuleSource,
}

pub(crate) struct ModuleInner {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) abi: AbiVersion,
    sha256: String,
}

impl std::fmt::Debug for LoadedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedModule")
            .field("sha256", &self.inner.sha256)
            .field("abi", &self.inner.abi)
            .field("source", &self.source)
            .finish()
    }
}

impl LoadedModule {
    /// Where the compiled code came from.
    pub fn source(&self) -> ModuleSource {
        self.source
    }
    /// The sha256 of the module bytes, lower-case hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }
    /// The ABI the module declares.
    pub fn abi_version(&self) -> AbiVersion {
        self.inner.abi
    }
}

/// Loads and compiles modules. All hosts of a process share one wasmtime
/// engine and one in-process module cache; the disk cache directory is per
/// host.
#[derive(Debug, Clone)]
pub struct Host {
    cache_dir: Option<PathBuf>,
}

/// Most compiled modules the in-process cache keeps.
const MAX_CACHED_MODULES: usize = 256;

type MemoryCache = Mutex<HashMap<String, Arc<ModuleInner>>>;

fn memory_cache() -> &'static MemoryCache {
    static CACHE: OnceLock<MemoryCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

fn engine() -> Result<Engine, Error> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(|| {
            let mut config = Config::new();
            // Fuel bounds the execution time of every call into the guest.
            config.consume_fuel(true);
            Engine::new(&config).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(Error::Compile)
}

/// The default disk cache: `$HOST_TESTS_CACHE`, else
/// `<workspace>/target/host-tests-cache`.
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os("HOST_TESTS_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("target")
            .join("host-tests-cache"),
    }
}

impl Host {
    /// A host with the default disk cache directory.
    pub fn new() -> Result<Host, Error> {
        engine()?;
        Ok(Host {
            cache_dir: Some(default_cache_dir()),
        })
    }

    /// A host with the given disk cache directory (created when needed).
    pub fn with_cache_dir(dir: impl Into<PathBuf>) -> Result<Host, Error> {
        engine()?;
        Ok(Host {
            cache_dir: Some(dir.into()),
        })
    }

    /// A host that never reads nor writes a disk cache.
    pub fn without_disk_cache() -> Result<Host, Error> {
        engine()?;
        Ok(Host { cache_dir: None })
    }

    /// A WAT module importing every host function a module declaring `abi`
    /// may import, each with the signature the host gives it (what a
    /// module generator may draw imports from).
    pub fn imports_wat(&self, abi: AbiVersion) -> Result<String, Error> {
        abi::imports_wat(&engine()?, abi)
    }

    /// Loads a module from a file.
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<LoadedModule, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes)
    }

    /// Loads a module from its bytes (binary wasm).
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<LoadedModule, Error> {
        let engine = engine()?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let key = format!("{sha256}-{}", compat_hash(&engine));
        if let Ok(cache) = memory_cache().lock()
            && let Some(inner) = cache.get(&key)
        {
            return Ok(LoadedModule {
                inner: Arc::clone(inner),
                source: ModuleSource::Memory,
            });
        }
        let (module, source) = self.compile_cached(&engine, bytes, &key)?;
        let abi = detect_abi(&module)?;
        let pre = abi::instantiate_pre(&engine, &module, abi)?;
        let inner = Arc::new(ModuleInner {
            engine,
            pre,
            abi,
            sha256,
        });
        if let Ok(mut cache) = memory_cache().lock() {
            // A process that loads module after module (a fuzzer) must not
            // keep every one: past the bound the cache starts over.
            if cache.len() >= MAX_CACHED_MODULES {
                cache.clear();
            }
            cache.insert(key, Arc::clone(&inner));
        }
        Ok(LoadedModule { inner, source })
    }

    fn compile_cached(
        &self,
        engine: &Engine,
        bytes: &[u8],
        key: &str,
    ) -> Result<(Module, ModuleSource), Error> {
        let Some(dir) = &self.cache_dir else {
            return Ok((compile(engine, bytes)?, ModuleSource::Compiled));
        };
        let file = dir.join(format!("{key}.cwasm"));
        if file.is_file() {
            // SAFETY: the file is one this host wrote with
            // `Module::serialize` under a name that includes wasmtime's
            // compatibility hash; wasmtime re-checks its header and engine
            // settings and refuses a mismatch (then we recompile).
            if let Ok(module) = unsafe { Module::deserialize_file(engine, &file) } {
                return Ok((module, ModuleSource::DiskCache));
            }
        }
        let module = compile(engine, bytes)?;
        let serialized = module
            .serialize()
            .map_err(|e| Error::Compile(e.to_string()))?;
        write_atomically(dir, &file, &serialized)?;
        Ok((module, ModuleSource::Compiled))
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Module, Error> {
    Module::from_binary(engine, bytes).map_err(|e| Error::Compile(format!("{e:#}")))
}

fn compat_hash(engine: &Engine) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Writes through a unique temporary file and a rename, so concurrent test
/// binaries never read a half-written artifact.
fn write_atomically(dir: &Path, file: &Path, data: &[u8]) -> Result<(), Error> {
    let cache_err = |source| Error::Cache {
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(cache_err)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{:?}-{}",
        std::process::id(),
        std::thread::current().id(),
        file.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("module")
    ));
    std::fs::write(&tmp, data).map_err(cache_err)?;
    std::fs::rename(&tmp, file).map_err(cache_err)
}

/// Finds the `proxy_abi_version_*` export.
fn detect_abi(module: &Module) -> Result<AbiVersion, Error> {
    let has = |n: &str| module.exports().any(|e| e.name() == n);
    if has("proxy_abi_version_0_2_1") {
        Ok(AbiVersion::V0_2_1)
    } else if has("proxy_abi_version_0_2_0") {
        Ok(AbiVersion::V0_2_0)
    } else if has("proxy_abi_version_0_1_0") {
        Err(Error::UnsupportedAbi)
    } else {
        Err(Error::UnknownAbi)
    }
}

#[cfg(test)]
mod tests;
