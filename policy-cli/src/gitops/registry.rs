//! Pushes an image to a registry with the OCI distribution API
//! (opencontainers/distribution-spec `spec.md`, "Push"): for every blob a
//! `HEAD` to skip what the registry has, else a monolithic upload (`POST`
//! `/v2/<name>/blobs/uploads/`, then `PUT <location>?digest=`); then the
//! manifest (`PUT /v2/<name>/manifests/<tag or digest>`).
//!
//! Authentication (distribution `docs/spec/auth/token.md`): a `GET /v2/`
//! answered 401 names the scheme in `WWW-Authenticate`. `Basic` (a
//! registry with htpasswd auth) gets the credentials on every request;
//! `Bearer` (ghcr.io, Docker Hub, most hosted registries) trades them, or
//! nothing for anonymous access, for a token scoped to `pull,push` on the
//! repository at the `realm`.

use std::time::Duration;

use ureq::Agent;

use super::credentials::Credentials;
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
    #[error(
        "`{url}` requires credentials: pass `--username` with `--password-stdin`, or `--registry-config` (a docker config.json with `auths`)"
    )]
    NeedsCredentials { url: String },
    #[error("`{url}` rejected the credentials of `{username}` (answered {status})")]
    Rejected {
        url: String,
        username: String,
        status: u16,
    },
    #[error("`{url}` answered 401 with a challenge policy-cli cannot answer: `{challenge}`")]
    Challenge { url: String, challenge: String },
    #[error("the token service `{url}` answered without a token")]
    NoToken { url: String },
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
    credentials: Option<Credentials>,
    /// The `Authorization` header every request carries once authenticated.
    authorization: Option<String>,
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
            credentials: None,
            authorization: None,
        }
    }

    /// Uses `credentials` when the registry asks for them.
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Answers the registry's challenge, if it has one, so that every later
    /// request carries the right `Authorization` header.
    pub fn authenticate(&mut self) -> Result<(), PushError> {
        let url = format!("{}/v2/", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| transport(&url, e))?;
        if response.status().as_u16() != 401 {
            return expect_status(&mut response, "GET", &url, &[200]);
        }
        let challenge = header(&response, "www-authenticate").unwrap_or_default();
        let (scheme, params) = parse_challenge(&challenge);
        let authorization = match scheme.to_ascii_lowercase().as_str() {
            "basic" => match &self.credentials {
                Some(credentials) => credentials.basic(),
                None => return Err(PushError::NeedsCredentials { url }),
            },
            "bearer" => format!("Bearer {}", self.token(&params)?),
            _ => return Err(PushError::Challenge { url, challenge }),
        };
        let mut response = self
            .agent
            .get(&url)
            .header("Authorization", &authorization)
            .call()
            .map_err(|e| transport(&url, e))?;
        match (response.status().as_u16(), &self.credentials) {
            (200, _) => {
                self.authorization = Some(authorization);
                Ok(())
            }
            (status @ (401 | 403), Some(credentials)) => Err(PushError::Rejected {
                url,
                username: credentials.username.clone(),
                status,
            }),
            (401 | 403, None) => Err(PushError::NeedsCredentials { url }),
            _ => expect_status(&mut response, "GET", &url, &[200]),
        }
    }

    /// A token for `pull,push` on the repository from the challenge's realm.
    fn token(&self, params: &[(String, String)]) -> Result<String, PushError> {
        let param = |name: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.as_str())
        };
        let realm = param("realm").unwrap_or_default().to_owned();
        let mut request = self
            .agent
            .get(&realm)
            .query("scope", format!("repository:{}:pull,push", self.repository));
        if let Some(service) = param("service") {
            request = request.query("service", service);
        }
        if let Some(credentials) = &self.credentials {
            request = request.header("Authorization", credentials.basic());
        }
        let mut response = request.call().map_err(|e| transport(&realm, e))?;
        match (response.status().as_u16(), &self.credentials) {
            (200, _) => {}
            (status @ (401 | 403), Some(credentials)) => {
                return Err(PushError::Rejected {
                    url: realm,
                    username: credentials.username.clone(),
                    status,
                });
            }
            (401 | 403, None) => return Err(PushError::NeedsCredentials { url: realm }),
            _ => expect_status(&mut response, "GET", &realm, &[200])?,
        }
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| transport(&realm, e))?;
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        ["token", "access_token"]
            .iter()
            .find_map(|key| body.get(key).and_then(serde_json::Value::as_str))
            .filter(|token| !token.is_empty())
            .map(str::to_owned)
            .ok_or(PushError::NoToken { url: realm })
    }

    fn auth<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.authorization {
            Some(value) => request.header("Authorization", value),
            None => request,
        }
    }

    /// Pushes `image`, tagging the manifest `tag` (or addressing it by digest).
    pub fn push(&mut self, image: &LayoutImage, tag: Option<&str>) -> Result<Pushed, PushError> {
        self.authenticate()?;
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
            .auth(self.agent.put(&url))
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
            .auth(self.agent.head(&url))
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
            .auth(self.agent.post(&url))
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
            .auth(self.agent.put(&put_url))
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

/// `Bearer realm="https://r.io/token",service="r.io"` → (`Bearer`, pairs).
fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        params.push((key, value.to_owned()));
        rest = after.trim().trim_start_matches(',').trim();
    }
    (scheme.to_owned(), params)
}

fn transport(url: &str, source: ureq::Error) -> PushError {
    PushError::Transport {
        url: url.to_owned(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests;
