//! Loading and caching, with tiny hand-assembled modules (the crate has no
//! WAT parser; these bytes are the binary format, spelled out).

use super::*;
use crate::{Action, Plugin, PluginOptions};

fn name(s: &str) -> Vec<u8> {
    let mut v = vec![s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

fn section(id: u8, content: Vec<u8>) -> Vec<u8> {
    let mut v = vec![id, content.len() as u8];
    v.extend(content);
    v
}

/// A module exporting `memory`, `malloc` (returns 1024) and the ABI
/// marker, optionally importing `env.<import>` (a `() -> ()` function),
/// with a custom section `tag` to vary its sha256.
fn module(abi_export: Option<&str>, import: Option<&str>, tag: u8) -> Vec<u8> {
    let mut m = vec![0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    // types: 0 = (i32) -> i32, 1 = () -> ()
    m.extend(section(1, vec![2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 0]));
    let imported = u8::from(import.is_some());
    if let Some(import) = import {
        let mut c = vec![1];
        c.extend(name("env"));
        c.extend(name(import));
        c.extend([0x00, 1]);
        m.extend(section(2, c));
    }
    m.extend(section(3, vec![2, 0, 1]));
    m.extend(section(5, vec![1, 0x00, 1]));
    let mut exports = vec![];
    exports.extend(name("memory"));
    exports.extend([0x02, 0]);
    exports.extend(name("malloc"));
    exports.extend([0x00, imported]);
    let mut count = 2;
    if let Some(abi) = abi_export {
        exports.extend(name(abi));
        exports.extend([0x00, imported + 1]);
        count += 1;
    }
    let mut c = vec![count];
    c.extend(exports);
    m.extend(section(7, c));
    m.extend(section(
        10,
        vec![2, 5, 0, 0x41, 0x80, 0x08, 0x0b, 2, 0, 0x0b],
    ));
    let mut custom = name("t");
    custom.push(tag);
    m.extend(section(0, custom));
    m
}

const ABI: Option<&str> = Some("proxy_abi_version_0_2_1");

#[test]
fn a_module_is_compiled_once_then_shared_in_process() {
    let host = Host::without_disk_cache().unwrap();
    let bytes = module(ABI, None, 1);
    let first = host.load_bytes(&bytes).unwrap();
    assert_eq!(first.source(), ModuleSource::Compiled);
    assert_eq!(first.abi_version(), AbiVersion::V0_2_1);
    assert_eq!(first.sha256(), hex::encode(Sha256::digest(&bytes)));
    let second = Host::without_disk_cache()
        .unwrap()
        .load_bytes(&bytes)
        .unwrap();
    assert_eq!(second.source(), ModuleSource::Memory);
}

#[test]
fn the_disk_cache_serves_a_second_compile() {
    let dir = tempfile::tempdir().unwrap();
    let host = Host::with_cache_dir(dir.path()).unwrap();
    let engine = engine().unwrap();
    let bytes = module(ABI, None, 2);
    let (_, first) = host.compile_cached(&engine, &bytes, "k").unwrap();
    assert_eq!(first, ModuleSource::Compiled);
    assert!(dir.path().join("k.cwasm").is_file());
    let (_, second) = host.compile_cached(&engine, &bytes, "k").unwrap();
    assert_eq!(second, ModuleSource::DiskCache);
}

#[test]
fn a_corrupt_cache_file_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.cwasm"), b"not a compiled module").unwrap();
    let host = Host::with_cache_dir(dir.path()).unwrap();
    let (_, source) = host
        .compile_cached(&engine().unwrap(), &module(ABI, None, 3), "bad")
        .unwrap();
    assert_eq!(source, ModuleSource::Compiled);
}

/// Why the host refuses to load `module(abi_export, import, tag)`.
fn load_error(abi_export: Option<&str>, import: Option<&str>, tag: u8) -> Error {
    let host = Host::without_disk_cache().unwrap();
    host.load_bytes(&module(abi_export, import, tag))
        .unwrap_err()
}

#[test]
fn a_missing_import_fails_the_load_naming_it() {
    let err = load_error(ABI, Some("proxy_does_not_exist"), 4);
    assert!(
        matches!(&err, Error::MissingImport { module, name } if module == "env" && name == "proxy_does_not_exist"),
        "{err}"
    );
    assert!(err.to_string().contains("`env.proxy_does_not_exist`"));
}

#[test]
fn an_import_with_the_wrong_signature_is_named() {
    // proxy_log takes three i32 and returns one; this one is () -> ().
    let err = load_error(ABI, Some("proxy_log"), 5);
    assert!(
        matches!(&err, Error::ImportSignature { name, .. } if name == "proxy_log"),
        "{err}"
    );
}

#[test]
fn the_abi_version_is_required() {
    let err = load_error(None, None, 6);
    assert!(matches!(err, Error::UnknownAbi), "{err}");
    let err = load_error(Some("proxy_abi_version_0_1_0"), None, 7);
    assert!(matches!(err, Error::UnsupportedAbi), "{err}");
    let host = Host::without_disk_cache().unwrap();
    let ok = host
        .load_bytes(&module(Some("proxy_abi_version_0_2_0"), None, 8))
        .unwrap();
    assert_eq!(ok.abi_version(), AbiVersion::V0_2_0);
}

#[test]
fn garbage_is_a_compile_error_not_a_panic() {
    let host = Host::without_disk_cache().unwrap();
    let err = host.load_bytes(b"\0asm\x01\0\0\0\x05\xff").unwrap_err();
    assert!(matches!(err, Error::Compile(_)), "{err}");
}

#[test]
fn a_module_without_callbacks_lets_streams_pass() {
    let host = Host::without_disk_cache().unwrap();
    let module = host.load_bytes(&module(ABI, None, 9)).unwrap();
    let mut plugin = Plugin::start(&module, PluginOptions::default()).unwrap();
    assert!(plugin.vm_started());
    assert!(plugin.configured());
    let mut stream = plugin.new_stream();
    let action = stream.request_headers(&[(":path", "/"), ("X-A", "1")], false);
    assert_eq!(action, Action::Continue);
    assert_eq!(stream.request_body(b"abc", true), Action::Continue);
    assert_eq!(
        stream.request_headers_seen_upstream(),
        Some(vec![
            (":path".to_string(), "/".to_string()),
            ("x-a".to_string(), "1".to_string())
        ])
    );
    assert_eq!(stream.request_body_seen_upstream(), b"abc");
    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        Action::Continue
    );
    stream.complete();
    assert!(!plugin.is_failed());
    // without proxy_on_done the root context goes at once
    assert!(plugin.shutdown());
}
