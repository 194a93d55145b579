//! The filter as an OCI image layout that Istio's Wasm fetcher accepts.
//!
//! Format: the *compat* variant of the Wasm Image Specification
//! (solo-io/wasm `spec/spec-compat.md`): one `application/vnd.oci.image.layer.v1.tar+gzip`
//! layer holding `plugin.wasm`, a standard OCI image config, and the
//! `module.wasm.image/variant: compat` manifest annotation. Istio's
//! `pkg/wasm/imagefetcher.go` (`PrepareFetch`) tries exactly this variant first
//! (`extractOCIStandardImage`), before the *oci* variant with the custom
//! `application/vnd.module.wasm.content.layer.v1+wasm` layer type, which that
//! fetcher only accepts as a two-layer image. The compat variant also travels
//! through every registry and tool (skopeo, crane, docker) unchanged.
//!
//! What `WasmPlugin.spec.sha256` must hold: for `oci://` urls Istio compares it
//! with the hex of the *manifest* digest (`img.Digest()` in `PrepareFetch`,
//! compared in `pkg/wasm/cache.go`), not with the digest of the `.wasm` bytes
//! (that is what it compares for `http(s)://` urls).
//!
//! Reproducible: tar header fields are fixed (mtime 0, uid/gid 0, mode 0644),
//! gzip has mtime 0 and a fixed OS byte, and every JSON document is written
//! with its keys sorted, whatever serde_json's `preserve_order` feature says.
//! The JSON documents are built with `serde_json::json!` rather than `oci-spec`
//! types: they are three small literals, and `oci-spec` keeps annotations in a
//! `HashMap` whose order would change the digest run to run.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
pub const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The annotation the compat variant requires on an OCI-layer image.
pub const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";
/// The file name Istio looks for inside the layer (`extractWasmPluginBinary`).
pub const PLUGIN_FILE: &str = "plugin.wasm";
/// The annotation that names a manifest's tag inside an image layout.
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";

const WASM_MAGIC: &[u8] = b"\0asm";

#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("`{path}` is not a wasm module (it does not start with the `\\0asm` magic)")]
    NotWasm { path: String },
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid image layout: {reason}")]
    Layout { path: String, reason: String },
    #[error("blob `{digest}` in `{path}` does not match its digest")]
    Corrupt { path: String, digest: String },
    #[error("cannot build the layer: {0}")]
    Layer(std::io::Error),
    #[error("cannot encode json: {0}")]
    Json(#[from] serde_json::Error),
}

/// One content-addressed blob: its bytes and `sha256:<hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Blob {
    pub fn new(media_type: &'static str, bytes: Vec<u8>) -> Self {
        Self { media_type, bytes }
    }

    /// The digest as the OCI specs write it: `sha256:<64 hex>`.
    pub fn digest(&self) -> String {
        format!("sha256:{}", sha256_hex(&self.bytes))
    }

    fn descriptor(&self) -> Value {
        json!({
            "digest": self.digest(),
            "mediaType": self.media_type,
            "size": self.bytes.len(),
        })
    }
}

/// The image of one filter: layer, config and manifest blobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub layer: Blob,
    pub config: Blob,
    pub manifest: Blob,
}

impl Image {
    /// Builds the image of `wasm` (the module's bytes). Same input, same bytes.
    pub fn from_wasm(wasm: &[u8], source: &str) -> Result<Self, OciError> {
        if !wasm.starts_with(WASM_MAGIC) {
            return Err(OciError::NotWasm {
                path: source.to_owned(),
            });
        }
        let tar = plugin_tar(wasm).map_err(OciError::Layer)?;
        let diff_id = format!("sha256:{}", sha256_hex(&tar));
        let layer = Blob::new(LAYER_MEDIA_TYPE, gzip(&tar).map_err(OciError::Layer)?);
        // `wasm`/`wasip1` are Go's GOARCH/GOOS names for the target, which is
        // what the image spec asks `architecture` and `os` to use.
        let config = Blob::new(
            CONFIG_MEDIA_TYPE,
            canonical_json(json!({
                "architecture": "wasm",
                "os": "wasip1",
                "rootfs": { "type": "layers", "diff_ids": [diff_id] },
                "config": {},
            }))?,
        );
        let manifest = Blob::new(
            MANIFEST_MEDIA_TYPE,
            canonical_json(json!({
                "schemaVersion": 2,
                "mediaType": MANIFEST_MEDIA_TYPE,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
                "annotations": { VARIANT_ANNOTATION: "compat" },
            }))?,
        );
        Ok(Self {
            layer,
            config,
            manifest,
        })
    }

    /// The hex of the manifest digest: the value `WasmPlugin.spec.sha256` needs.
    pub fn wasm_plugin_sha256(&self) -> String {
        sha256_hex(&self.manifest.bytes)
    }

    /// Writes the image layout (`oci-layout`, `index.json`, `blobs/sha256/*`) to
    /// `dir`, naming the manifest `tag` in the index when given.
    pub fn write_layout(&self, dir: &Path, tag: Option<&str>) -> Result<(), OciError> {
        let blobs = dir.join("blobs").join("sha256");
        create_dir(&blobs)?;
        for blob in [&self.layer, &self.config, &self.manifest] {
            write(&blobs.join(sha256_hex(&blob.bytes)), &blob.bytes)?;
        }
        let mut descriptor = self.manifest.descriptor();
        if let (Some(tag), Value::Object(map)) = (tag, &mut descriptor) {
            map.insert(
                "annotations".to_owned(),
                json!({ REF_NAME_ANNOTATION: tag }),
            );
        }
        let index = canonical_json(json!({
            "schemaVersion": 2,
            "mediaType": INDEX_MEDIA_TYPE,
            "manifests": [descriptor],
        }))?;
        write(&dir.join("index.json"), &index)?;
        write(
            &dir.join("oci-layout"),
            &canonical_json(json!({ "imageLayoutVersion": "1.0.0" }))?,
        )
    }
}

/// An image read back from a layout: the manifest and every blob it names,
/// each checked against its digest.
#[derive(Debug, Clone)]
pub struct LayoutImage {
    pub manifest: Blob,
    /// Config first, then the layers, in manifest order.
    pub blobs: Vec<Blob>,
}

impl LayoutImage {
    pub fn manifest_digest(&self) -> String {
        self.manifest.digest()
    }
}

/// Reads the single image of the layout at `dir`.
pub fn read_layout(dir: &Path) -> Result<LayoutImage, OciError> {
    let layout_error = |reason: &str| OciError::Layout {
        path: dir.display().to_string(),
        reason: reason.to_owned(),
    };
    let index: Value = serde_json::from_slice(&read(&dir.join("index.json"))?)?;
    let manifests = index
        .get("manifests")
        .and_then(Value::as_array)
        .ok_or_else(|| layout_error("`index.json` has no `manifests` list"))?;
    let [descriptor] = manifests.as_slice() else {
        return Err(layout_error(&format!(
            "`index.json` lists {} manifests, push takes exactly one",
            manifests.len()
        )));
    };
    let manifest_digest = descriptor_digest(descriptor)
        .ok_or_else(|| layout_error("`index.json` `manifests[0].digest` is missing"))?;
    let manifest = read_blob(dir, manifest_digest, MANIFEST_MEDIA_TYPE)?;
    let parsed: Value = serde_json::from_slice(&manifest.bytes)?;
    let mut blobs = Vec::new();
    let config = parsed
        .get("config")
        .ok_or_else(|| layout_error("the manifest has no `config`"))?;
    let layers = parsed
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| layout_error("the manifest has no `layers` list"))?;
    for descriptor in std::iter::once(config).chain(layers) {
        let digest = descriptor_digest(descriptor)
            .ok_or_else(|| layout_error("a descriptor in the manifest has no `digest`"))?;
        blobs.push(read_blob(dir, digest, "")?);
    }
    Ok(LayoutImage { manifest, blobs })
}

fn descriptor_digest(descriptor: &Value) -> Option<&str> {
    descriptor.get("digest").and_then(Value::as_str)
}

fn read_blob(dir: &Path, digest: &str, media_type: &'static str) -> Result<Blob, OciError> {
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|hex| is_sha256_hex(hex))
        .ok_or_else(|| OciError::Layout {
            path: dir.display().to_string(),
            reason: format!("digest `{digest}` is not `sha256:` and 64 lowercase hex digits"),
        })?;
    let path = dir.join("blobs").join("sha256").join(hex);
    let bytes = read(&path)?;
    if sha256_hex(&bytes) != hex {
        return Err(OciError::Corrupt {
            path: dir.display().to_string(),
            digest: digest.to_owned(),
        });
    }
    Ok(Blob::new(media_type, bytes))
}

/// A tar archive with one regular file, `plugin.wasm`, and fixed metadata.
fn plugin_tar(wasm: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut header = tar::Header::new_ustar();
    header.set_path(PLUGIN_FILE)?;
    header.set_size(wasm.len() as u64);
    header.set_mode(0o644);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, wasm)?;
    builder.into_inner()
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    // OS byte 255 is "unknown" (RFC 1952), so the host does not leak into the bytes.
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// JSON with every object's keys sorted, however serde_json was built.
pub fn canonical_json(mut value: Value) -> Result<Vec<u8>, serde_json::Error> {
    value.sort_all_objects();
    serde_json::to_vec(&value)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// 64 lowercase hex digits, the form `WasmPlugin.spec.sha256` takes.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn read(path: &Path) -> Result<Vec<u8>, OciError> {
    std::fs::read(path).map_err(|source| OciError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn write(path: &PathBuf, bytes: &[u8]) -> Result<(), OciError> {
    std::fs::write(path, bytes).map_err(|source| OciError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn create_dir(path: &Path) -> Result<(), OciError> {
    std::fs::create_dir_all(path).map_err(|source| OciError::Write {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests;
