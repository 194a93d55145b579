//! Image references: `registry[:port]/repository[:tag]`, optionally written
//! with the `oci://` scheme that `WasmPlugin.spec.url` uses.
//!
//! Parsed by hand: the grammar is the small subset of the distribution
//! reference grammar (distribution/reference `regexp.go`) that push needs, and
//! no maintained Rust crate parses it without pulling a whole client.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host` or `host:port`.
    pub registry: String,
    /// `name/space/image`.
    pub repository: String,
    /// The tag, when the reference names one.
    pub tag: Option<String>,
    /// The `sha256:<hex>` digest, when the reference names one.
    pub digest: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid image reference `{input}`: {reason}")]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let fail = |reason: &str| ReferenceError {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = input.strip_prefix("oci://").unwrap_or(input);
        let (rest, digest) = match rest.split_once('@') {
            Some((rest, digest)) => {
                let hex = digest
                    .strip_prefix("sha256:")
                    .ok_or_else(|| fail("the digest after `@` must start with `sha256:`"))?;
                if !crate::gitops::oci::is_sha256_hex(hex) {
                    return Err(fail(
                        "the digest must be `sha256:` and 64 lowercase hex digits",
                    ));
                }
                (rest, Some(digest.to_owned()))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| fail("expected `registry/repository[:tag]`"))?;
        if registry.is_empty() || !registry.bytes().all(is_registry_byte) {
            return Err(fail(
                "the registry must be a host name with an optional `:port`",
            ));
        }
        // A colon after the last slash separates the tag.
        let (repository, tag) = match path.rsplit_once(':') {
            Some((repository, tag)) if !tag.contains('/') => (repository, Some(tag)),
            _ => (path, None),
        };
        if !repository.split('/').all(is_path_component) {
            return Err(fail(
                "repository components must be lowercase letters and digits separated by `.`, `_` or `-`",
            ));
        }
        if let Some(tag) = tag
            && !is_tag(tag)
        {
            return Err(fail(
                "a tag is 1 to 128 of letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            ));
        }
        Ok(Self {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// Loopback registries speak plain HTTP, as Docker and Istio's fetcher
    /// (`pkg/wasm/imagefetcher.go` falls back to HTTP) treat them.
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => self.registry.as_str(),
        };
        matches!(host, "localhost" | "[::1]") || host.starts_with("127.")
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn is_registry_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
}

fn is_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let separator = |b: &u8| matches!(b, b'.' | b'_' | b'-');
    bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || separator(b))
}

fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    (1..=128).contains(&bytes.len())
        && bytes.first().is_some_and(word)
        && bytes.iter().all(|b| word(b) || matches!(b, b'.' | b'-'))
}

#[cfg(test)]
mod tests;
