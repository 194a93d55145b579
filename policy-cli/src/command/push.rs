//! `policy-cli push DIR REF`: pushes the image layout written by `package` to
//! a registry with the OCI distribution API, with the registry's credentials
//! from `--username` + `--password-stdin` or a docker config.json.

use std::path::PathBuf;

use crate::ExitCode;
use crate::gitops::credentials::{self, Credentials};
use crate::gitops::oci::read_layout;
use crate::gitops::reference::Reference;
use crate::gitops::registry::Registry;

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The image layout directory written by `policy-cli package`.
    pub layout: PathBuf,
    /// Where to push: `registry[:port]/repository[:tag]` (`oci://` allowed).
    pub reference: String,
    /// Speak HTTP instead of HTTPS (loopback registries always use HTTP).
    #[arg(long)]
    pub plain_http: bool,
    /// The registry user; the password is read from standard input.
    #[arg(long, requires = "password_stdin", conflicts_with = "registry_config")]
    pub username: Option<String>,
    /// Read the password for `--username` from standard input.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
    /// A docker config.json whose `auths` has the registry's credentials
    /// (default: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<PathBuf>,
}

/// The credentials the flags name, or the docker config's for `registry`.
fn credentials(args: &PushArgs, registry: &str) -> Result<Option<Credentials>, String> {
    if let Some(username) = &args.username {
        return Credentials::from_stdin(username, std::io::stdin().lock())
            .map(Some)
            .map_err(|e| e.to_string());
    }
    match credentials::config_path(args.registry_config.as_deref()) {
        Some(path) => credentials::from_config(&path, registry).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// Pushes and prints the manifest digest's hex (the `WasmPlugin.spec.sha256`).
pub fn run(args: PushArgs) -> ExitCode {
    let reference = match Reference::parse(&args.reference) {
        Ok(reference) => reference,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::Usage;
        }
    };
    let image = match read_layout(&args.layout) {
        Ok(image) => image,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::Usage;
        }
    };
    if let Some(digest) = &reference.digest
        && *digest != image.manifest_digest()
    {
        eprintln!(
            "error: `{}` names digest `{digest}` but the layout's manifest is `{}`",
            args.reference,
            image.manifest_digest()
        );
        return ExitCode::Usage;
    }
    let credentials = match credentials(&args, &reference.registry) {
        Ok(credentials) => credentials,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::Usage;
        }
    };
    let mut registry = Registry::new(&reference, args.plain_http).with_credentials(credentials);
    match registry.push(&image, reference.tag.as_deref()) {
        Ok(pushed) => {
            eprintln!(
                "pushed {reference} ({} blobs uploaded, {} already present)",
                pushed.uploaded, pushed.skipped
            );
            let hex = pushed
                .manifest_digest
                .strip_prefix("sha256:")
                .unwrap_or(&pushed.manifest_digest);
            println!("{hex}");
            ExitCode::Ok
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::Failure
        }
    }
}
