//! Registry credentials for `push`: `--username` with `--password-stdin`, or
//! the `auths` of a docker `config.json` (`--registry-config`, else
//! `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`), the file
//! `docker login`, `podman login --authfile` and `skopeo login` write.
//!
//! An `auths` entry is `{"auth": base64("user:password")}` or
//! `{"username": …, "password": …}`, keyed by the registry host, with or
//! without a scheme and path (`https://ghcr.io/v1/`). Credential helpers
//! (`credsStore`, `credHelpers`) run programs: they are not supported, and a
//! registry that only has one is reported rather than pushed to anonymously.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

// The password never reaches a log through `{:?}`.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CredentialsError {
    #[error("cannot read the registry config `{path}`: {reason}")]
    Read { path: String, reason: String },
    #[error("the registry config `{path}` is not JSON: {reason}")]
    Json { path: String, reason: String },
    #[error("`{path}`: `auths.{key}.auth` is not base64 of `user:password`")]
    Auth { path: String, key: String },
    #[error(
        "`{path}`: the credentials for `{registry}` are kept by the credential helper `{helper}`, which policy-cli does not run; use `--username` and `--password-stdin`"
    )]
    Helper {
        path: String,
        registry: String,
        helper: String,
    },
    #[error("`--password-stdin`: {0}")]
    Stdin(String),
}

impl Credentials {
    /// `Authorization: Basic …`.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.password))
        )
    }

    /// The password from standard input (one line, the newline dropped).
    pub fn from_stdin(username: &str, input: impl std::io::Read) -> Result<Self, CredentialsError> {
        let mut text = String::new();
        let mut input = input;
        input
            .read_to_string(&mut text)
            .map_err(|err| CredentialsError::Stdin(err.to_string()))?;
        let password = text.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            return Err(CredentialsError::Stdin("the password is empty".to_owned()));
        }
        Ok(Self {
            username: username.to_owned(),
            password,
        })
    }
}

/// The docker config to read: `explicit`, else `$DOCKER_CONFIG/config.json`,
/// else `$HOME/.docker/config.json`; `None` when none is given and the
/// default does not exist.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = explicit {
        return Some(path.to_owned());
    }
    let default = std::env::var_os("DOCKER_CONFIG")
        .map(|dir| PathBuf::from(dir).join("config.json"))
        .or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
        })?;
    default.is_file().then_some(default)
}

/// The credentials `config` holds for `registry` (`host[:port]`), if any.
pub fn from_config(config: &Path, registry: &str) -> Result<Option<Credentials>, CredentialsError> {
    let path = config.display().to_string();
    let text = std::fs::read_to_string(config).map_err(|err| CredentialsError::Read {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let json: Value = serde_json::from_str(&text).map_err(|err| CredentialsError::Json {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let entry = json
        .get("auths")
        .and_then(Value::as_object)
        .and_then(|auths| auths.iter().find(|(key, _)| host_of(key) == registry));
    if let Some((key, entry)) = entry {
        if let Some(auth) = entry.get("auth").and_then(Value::as_str)
            && !auth.is_empty()
        {
            let bad = || CredentialsError::Auth {
                path: path.clone(),
                key: key.clone(),
            };
            let decoded = STANDARD.decode(auth).map_err(|_| bad())?;
            let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
            let (username, password) = decoded.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_owned);
        if let (Some(username), Some(password)) = (field("username"), field("password")) {
            return Ok(Some(Credentials { username, password }));
        }
    }
    let helper = json
        .get("credHelpers")
        .and_then(|helpers| helpers.get(registry))
        .or_else(|| json.get("credsStore"))
        .and_then(Value::as_str);
    match helper {
        Some(helper) => Err(CredentialsError::Helper {
            path,
            registry: registry.to_owned(),
            helper: helper.to_owned(),
        }),
        None => Ok(None),
    }
}

/// `https://ghcr.io/v1/` → `ghcr.io`; `127.0.0.1:5000` stays as it is.
fn host_of(key: &str) -> &str {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests;
