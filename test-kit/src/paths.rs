//! Where the built artefacts are: the filter (`make build`) and the host's
//! test guests (`make guests`).

use std::path::{Path, PathBuf};

/// The project root (the workspace directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` in the root.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => root().join("target"),
    }
}

/// The built filter: `$MESHPOLICY_WASM`, else `target/meshpolicy.wasm` in
/// the project root (where `make build` writes it, whatever the target
/// directory). A missing file fails the test naming `make build`.
pub fn filter_wasm_path() -> PathBuf {
    let path = match std::env::var_os("MESHPOLICY_WASM") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => root().join("target").join("meshpolicy.wasm"),
    };
    assert!(
        path.is_file(),
        "the filter is not built: `{}` is missing; run `make build` in the project root \
         (or set MESHPOLICY_WASM)",
        path.display()
    );
    path
}

/// The built filter's bytes (see [`filter_wasm_path`]).
pub fn filter_wasm() -> Vec<u8> {
    let path = filter_wasm_path();
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the filter `{}` ({e}): run `make build`",
            path.display()
        )
    })
}

/// Where `make guests` puts a guest: `guest-<name>` becomes
/// `guest_<name>.wasm`; `nowasi` is the one built for `wasm32-unknown-unknown`.
pub fn guest_path(name: &str) -> PathBuf {
    let triple = if name == "nowasi" {
        "wasm32-unknown-unknown"
    } else {
        "wasm32-wasip1"
    };
    target_dir()
        .join(triple)
        .join("release")
        .join(format!("guest_{}.wasm", name.replace('-', "_")))
}

/// A guest's bytes; a guest that is not built fails the test naming
/// `make guests`.
pub fn guest_bytes(name: &str) -> Vec<u8> {
    let path = guest_path(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "guest `{name}` is not built at `{}` ({e}): run `make guests`",
            path.display()
        )
    })
}
