//! `policy-cli package WASM -o DIR`: the filter as an OCI image layout that
//! Istio's Wasm fetcher accepts (see `gitops::oci` for the format).

use std::path::PathBuf;

use crate::ExitCode;
use crate::gitops::oci::Image;

#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// The filter module, e.g. `target/meshpolicy.wasm` (built by `make build`).
    pub wasm: PathBuf,
    /// The directory to write the image layout to (created if missing).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Names the manifest in the layout's `index.json` (`org.opencontainers.image.ref.name`).
    #[arg(long)]
    pub tag: Option<String>,
}

/// Writes the layout and prints the manifest digest's hex on stdout: the value
/// of `WasmPlugin.spec.sha256` for an `oci://` url.
pub fn run(args: PackageArgs) -> ExitCode {
    let wasm = match std::fs::read(&args.wasm) {
        Ok(wasm) => wasm,
        Err(err) => {
            eprintln!("error: cannot read `{}`: {err}", args.wasm.display());
            return ExitCode::Usage;
        }
    };
    let result = Image::from_wasm(&wasm, &args.wasm.display().to_string()).and_then(|image| {
        image.write_layout(&args.output, args.tag.as_deref())?;
        Ok(image)
    });
    match result {
        Ok(image) => {
            eprintln!(
                "wrote {} (manifest sha256:{}, layer {} bytes)",
                args.output.display(),
                image.wasm_plugin_sha256(),
                image.layer.bytes.len()
            );
            println!("{}", image.wasm_plugin_sha256());
            ExitCode::Ok
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::Usage
        }
    }
}
