//! Pushes an image to a registry with the OCI distribution API
//! (opencontainers/distribution-spec `spec.md`, "Push"): for every blob a
//! `HEAD` to skip what the registry has, else a monolithic upload (`POST`
//! `/v2/<name>/blobs/uploads/`, then `PUT <location>?digest=`); then the
//! manifest (`PUT /v2/<name>/manifests/<tag or digest>`).
//!
//! Anonymous access only: the registries this pushes to in tests and in CI
//! (a loopback `docker-registry`) take no credentials.

use std::time::Duration;

use ureq::Agent;

use super::oci::{Blob, LayoutImage, MANIFEST_MEDIA_TYPE};
use super::reference::Reference;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("cannot reach `{url}`: {source}")]
    Transport {
        url: String,
        source: Box<ureq::Error>,
    },
    #[error("`{method} {url}` answered {status}: {body}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
    #[error("`POST {url}` answered 202 without a `Location` header")]
    NoLocation { url: String },
    #[error("the registry stored the manifest as `{actual}`, expected `{expected}`")]
    DigestMismatch { expected: String, actual: String },
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `sha256:<hex>` of the manifest, as the registry confirmed it.
    pub manifest_digest: String,
    /// Blobs uploaded (the others were already there).
    pub uploaded: usize,
    /// Blobs the registry already had.
    pub skipped: usize,
}

pub struct Registry {
    agent: Agent,
    base: String,
    repository: String,
}

impl Registry {
    /// A client for `reference`'s repository; `plain_http` (or a loopback
    /// registry) speaks HTTP, otherwise HTTPS.
    pub fn new(reference: &Reference, plain_http: bool) -> Self {
        let scheme = if plain_http || reference.is_loopback() {
            "http"
        } else {
            "https"
        };
        let agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Self {
            agent,
            base: format!("{scheme}://{}", reference.registry),
            repository: reference.repository.clone(),
        }
    }

    /// Pushes `image`, tagging the manifest `tag` (or addressing it by digest).
    pub fn push(&self, image: &LayoutImage, tag: Option<&str>) -> Result<Pushed, PushError> {
        let mut pushed = Pushed {
            manifest_digest: String::new(),
            uploaded: 0,
            skipped: 0,
        };
        for blob in &image.blobs {
            if self.has_blob(&blob.digest())? {
                pushed.skipped += 1;
            } else {
                self.upload_blob(blob)?;
                pushed.uploaded += 1;
            }
        }
        let expected = image.manifest_digest();
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.base,
            self.repository,
            tag.unwrap_or(&expected)
        );
        let mut response = self
            .agent
            .put(&url)
            .header("Content-Type", MANIFEST_MEDIA_TYPE)
            .send(&image.manifest.bytes[..])
            .map_err(|e| transport(&url, e))?;
        expect_status(&mut response, "PUT", &url, &[201])?;
        // Registries report the digest they computed; a proxy that re-encoded
        // the manifest would change it, and Istio would then reject the pin.
        let actual = header(&response, "docker-content-digest").unwrap_or(expected.clone());
        if actual != expected {
            return Err(PushError::DigestMismatch { expected, actual });
        }
        pushed.manifest_digest = actual;
        Ok(pushed)
    }

    fn has_blob(&self, digest: &str) -> Result<bool, PushError> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let mut response = self
            .agent
            .head(&url)
            .call()
            .map_err(|e| transport(&url, e))?;
        match response.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => expect_status(&mut response, "HEAD", &url, &[200]).map(|()| false),
        }
    }

    fn upload_blob(&self, blob: &Blob) -> Result<(), PushError> {
        let url = format!("{}/v2/{}/blobs/uploads/", self.base, self.repository);
        let mut response = self
            .agent
            .post(&url)
            .send_empty()
            .map_err(|e| transport(&url, e))?;
        expect_status(&mut response, "POST", &url, &[202])?;
        let location = header(&response, "location")
            .ok_or_else(|| PushError::NoLocation { url: url.clone() })?;
        let location = self.absolute(&location);
        // The location may carry the upload's state as a query already.
        let separator = if location.contains('?') { '&' } else { '?' };
        let put_url = format!("{location}{separator}digest={}", blob.digest());
        let mut response = self
            .agent
            .put(&put_url)
            .header("Content-Type", "application/octet-stream")
            .send(&blob.bytes[..])
            .map_err(|e| transport(&put_url, e))?;
        expect_status(&mut response, "PUT", &put_url, &[201])
    }

    /// Upload locations may be relative to the registry (distribution-spec).
    fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            format!("{}{location}", self.base)
        }
    }
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

fn expect_status(
    response: &mut ureq::http::Response<ureq::Body>,
    method: &'static str,
    url: &str,
    ok: &[u16],
) -> Result<(), PushError> {
    let status = response.status().as_u16();
    if ok.contains(&status) {
        return Ok(());
    }
    let body = response
        .body_mut()
        .read_to_string()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Err(PushError::Status {
        method,
        url: url.to_owned(),
        status,
        body,
    })
}

fn transport(url: &str, source: ureq::Error) -> PushError {
    PushError::Transport {
        url: url.to_owned(),
        source: Box::new(source),
    }
}
