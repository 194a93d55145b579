//! `policy-cli push DIR REF`: pushes the image layout written by `package` to
//! a registry with the OCI distribution API.

use std::path::PathBuf;

use crate::ExitCode;
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
    let registry = Registry::new(&reference, args.plain_http);
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
