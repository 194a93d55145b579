//! An environment's pin: the `release.env` of a kustomize overlay
//! (`manifests/overlays/<env>/release.env`), which the overlay reads into
//! the WasmPlugin's `url` (`REPOSITORY@sha256:SHA256`) and `sha256`.
//!
//! ```text
//! REPOSITORY=oci://ghcr.io/meshpolicy/meshpolicy-filter
//! SHA256=<64 hex: the manifest digest `policy-cli package` prints>
//! PUBLISHED=false   # true: a pushed release, not checked against the build
//! ```

use std::path::Path;

use super::oci::{Image, is_sha256_hex};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The image repository, without tag or digest (`oci://` allowed).
    pub repository: String,
    /// The manifest digest's 64 hex digits.
    pub sha256: String,
    /// The digest is a published release: it need not be the local build's.
    pub published: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReleaseError {
    #[error("cannot read `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("{path}:{line}: `{text}` is not `KEY=value`")]
    Syntax {
        path: String,
        line: usize,
        text: String,
    },
    #[error("{path}: `{key}` is missing")]
    Missing { path: String, key: &'static str },
    #[error(
        "{path}: `SHA256={value}` must be 64 lowercase hex digits (`policy-cli package` prints it)"
    )]
    Sha256 { path: String, value: String },
    #[error("{path}: `REPOSITORY={value}` must name a repository without a tag or digest")]
    Repository { path: String, value: String },
    #[error("{path}: `PUBLISHED={value}` must be `true` or `false`")]
    Published { path: String, value: String },
    #[error("cannot package `{path}`: {reason}")]
    Wasm { path: String, reason: String },
    #[error(
        "{path}: pins sha256 `{pinned}`, but `policy-cli package {wasm}` gives `{built}`: run `make manifests` to pin this build, or set PUBLISHED=true if `{pinned}` is a published release"
    )]
    NotTheBuild {
        path: String,
        pinned: String,
        wasm: String,
        built: String,
    },
}

impl Release {
    /// Parses the `KEY=value` lines of `text` (`#` comments, blank lines).
    pub fn parse(text: &str, path: &str) -> Result<Self, ReleaseError> {
        let mut repository = None;
        let mut sha256 = None;
        let mut published = None;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(ReleaseError::Syntax {
                    path: path.to_owned(),
                    line: i + 1,
                    text: line.to_owned(),
                });
            };
            let value = value.trim().to_owned();
            match key.trim() {
                "REPOSITORY" => repository = Some(value),
                "SHA256" => sha256 = Some(value),
                "PUBLISHED" => published = Some(value),
                _ => {}
            }
        }
        let missing = |key| ReleaseError::Missing {
            path: path.to_owned(),
            key,
        };
        let repository = repository.ok_or_else(|| missing("REPOSITORY"))?;
        let sha256 = sha256.ok_or_else(|| missing("SHA256"))?;
        let published = published.ok_or_else(|| missing("PUBLISHED"))?;
        let last = repository.rsplit('/').next().unwrap_or_default();
        if repository.is_empty() || repository.contains('@') || last.contains(':') {
            return Err(ReleaseError::Repository {
                path: path.to_owned(),
                value: repository,
            });
        }
        if !is_sha256_hex(&sha256) {
            return Err(ReleaseError::Sha256 {
                path: path.to_owned(),
                value: sha256,
            });
        }
        let published = match published.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ReleaseError::Published {
                    path: path.to_owned(),
                    value: published,
                });
            }
        };
        Ok(Self {
            repository,
            sha256,
            published,
        })
    }

    pub fn read(path: &Path) -> Result<Self, ReleaseError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| ReleaseError::Read {
            path: display.clone(),
            reason: err.to_string(),
        })?;
        Self::parse(&text, &display)
    }

    /// The url that pins the module by digest: `REPOSITORY@sha256:SHA256`.
    pub fn url(&self) -> String {
        format!("{}@sha256:{}", self.repository, self.sha256)
    }

    /// Checks the pin against the filter module at `wasm`: its digest must
    /// be what `policy-cli package` gives, unless the release is published.
    pub fn check_build(&self, path: &str, wasm: &Path) -> Result<(), ReleaseError> {
        if self.published {
            return Ok(());
        }
        let built = built_digest(wasm)?;
        if built == self.sha256 {
            Ok(())
        } else {
            Err(ReleaseError::NotTheBuild {
                path: path.to_owned(),
                pinned: self.sha256.clone(),
                wasm: wasm.display().to_string(),
                built,
            })
        }
    }
}

/// The manifest digest `policy-cli package` prints for the module at `wasm`.
pub fn built_digest(wasm: &Path) -> Result<String, ReleaseError> {
    let display = wasm.display().to_string();
    let bytes = std::fs::read(wasm).map_err(|err| ReleaseError::Wasm {
        path: display.clone(),
        reason: format!("{err} (run `make build`)"),
    })?;
    Image::from_wasm(&bytes, &display)
        .map(|image| image.wasm_plugin_sha256())
        .map_err(|err| ReleaseError::Wasm {
            path: display,
            reason: err.to_string(),
        })
}

#[cfg(test)]
mod tests;
