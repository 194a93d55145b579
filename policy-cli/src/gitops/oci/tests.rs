use std::io::Read as _;

use super::*;

const WASM: &[u8] = b"\0asm\x01\0\0\0tiny module body";

#[test]
fn same_module_gives_identical_bytes() {
    let a = Image::from_wasm(WASM, "a.wasm").unwrap();
    let b = Image::from_wasm(WASM, "b.wasm").unwrap();
    assert_eq!(a, b);
    assert_eq!(a.wasm_plugin_sha256(), b.wasm_plugin_sha256());
}

#[test]
fn different_module_gives_a_different_digest() {
    let a = Image::from_wasm(WASM, "a.wasm").unwrap();
    let b = Image::from_wasm(b"\0asm\x01\0\0\0other", "b.wasm").unwrap();
    assert_ne!(a.wasm_plugin_sha256(), b.wasm_plugin_sha256());
}

#[test]
fn rejects_a_file_that_is_not_wasm() {
    let err = Image::from_wasm(b"not wasm", "x.txt").unwrap_err();
    assert_eq!(
        err.to_string(),
        "`x.txt` is not a wasm module (it does not start with the `\\0asm` magic)"
    );
}

#[test]
fn layer_is_a_gzipped_tar_with_plugin_wasm() {
    let image = Image::from_wasm(WASM, "a.wasm").unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&image.layer.bytes[..]));
    let mut entries = archive.entries().unwrap();
    let mut entry = entries.next().unwrap().unwrap();
    assert_eq!(entry.path().unwrap().to_str(), Some("plugin.wasm"));
    assert_eq!(entry.header().mtime().unwrap(), 0);
    let mut body = Vec::new();
    entry.read_to_end(&mut body).unwrap();
    assert_eq!(body, WASM);
    drop(entry);
    assert!(entries.next().is_none());
}

#[test]
fn manifest_is_the_compat_variant() {
    let image = Image::from_wasm(WASM, "a.wasm").unwrap();
    let manifest: Value = serde_json::from_slice(&image.manifest.bytes).unwrap();
    assert_eq!(manifest["mediaType"], MANIFEST_MEDIA_TYPE);
    assert_eq!(manifest["annotations"][VARIANT_ANNOTATION], "compat");
    assert_eq!(manifest["config"]["mediaType"], CONFIG_MEDIA_TYPE);
    assert_eq!(manifest["config"]["digest"], image.config.digest());
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["layers"][0]["mediaType"], LAYER_MEDIA_TYPE);
    assert_eq!(manifest["layers"][0]["size"], image.layer.bytes.len());
    let config: Value = serde_json::from_slice(&image.config.bytes).unwrap();
    let tar = plugin_tar(WASM).unwrap();
    assert_eq!(
        config["rootfs"]["diff_ids"][0],
        format!("sha256:{}", sha256_hex(&tar))
    );
}

#[test]
fn json_keys_are_sorted() {
    let bytes = canonical_json(json!({"b": 1, "a": {"d": 2, "c": 3}})).unwrap();
    assert_eq!(bytes, br#"{"a":{"c":3,"d":2},"b":1}"#);
}

#[test]
fn layout_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::from_wasm(WASM, "a.wasm").unwrap();
    image.write_layout(dir.path(), Some("v1")).unwrap();
    let read = read_layout(dir.path()).unwrap();
    assert_eq!(read.manifest.bytes, image.manifest.bytes);
    assert_eq!(read.blobs.len(), 2);
    assert_eq!(read.blobs[0].bytes, image.config.bytes);
    assert_eq!(read.blobs[1].bytes, image.layer.bytes);
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["annotations"][REF_NAME_ANNOTATION],
        "v1"
    );
}

#[test]
fn corrupt_blob_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let image = Image::from_wasm(WASM, "a.wasm").unwrap();
    image.write_layout(dir.path(), None).unwrap();
    let layer = dir
        .path()
        .join("blobs/sha256")
        .join(sha256_hex(&image.layer.bytes));
    std::fs::write(&layer, b"tampered").unwrap();
    let err = read_layout(dir.path()).unwrap_err();
    assert!(matches!(err, OciError::Corrupt { .. }), "{err}");
}

#[test]
fn sha256_hex_form() {
    assert!(is_sha256_hex(&"a".repeat(64)));
    assert!(!is_sha256_hex(&"A".repeat(64)));
    assert!(!is_sha256_hex(&"a".repeat(63)));
    assert!(!is_sha256_hex(&"g".repeat(64)));
}
