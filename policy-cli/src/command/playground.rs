//! `policy-cli playground [--port N]`: serves the playground page on
//! 127.0.0.1. The page is read from its build directory (`make playground`
//! writes target/playground), not embedded: the CLI then builds without the
//! wasm toolchain, and a rebuilt page is served without rebuilding the CLI.
//! Nothing is stored: the page runs the engine in the browser.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ExitCode;
use crate::diagnostic::Diagnostic;
use crate::input::{DiagArgs, usage_error};

#[derive(Debug, clap::Args)]
pub struct PlaygroundArgs {
    /// The port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The built page (default: `target/playground` of the build this
    /// binary belongs to, else `./target/playground`).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub diag: DiagArgs,
}

/// The longest request head read (the page only sends short GETs).
const MAX_HEAD_BYTES: u64 = 16 * 1024;

pub fn run(args: PlaygroundArgs) -> ExitCode {
    let format = args.diag.error_format;
    let dir = match page_dir(args.dir.as_deref()) {
        Ok(dir) => dir,
        Err(d) => return usage_error(d, format),
    };
    let listener = match TcpListener::bind(("127.0.0.1", args.port)) {
        Ok(l) => l,
        Err(e) => {
            return usage_error(
                Diagnostic::error(
                    "cannot-listen",
                    format!("cannot listen on 127.0.0.1:{}: {e}", args.port),
                )
                .with_help("choose another port with `--port N` (0 picks a free one)"),
                format,
            );
        }
    };
    let addr = listener
        .local_addr()
        .map_or_else(|_| format!("127.0.0.1:{}", args.port), |a| a.to_string());
    println!(
        "serving the playground on http://{addr}/ (from {})",
        dir.display()
    );
    let _ = std::io::stdout().flush();
    for stream in listener.incoming().flatten() {
        let dir = dir.clone();
        std::thread::spawn(move || serve(stream, &dir));
    }
    ExitCode::Ok
}

/// The built page's directory; an error says how to build it.
fn page_dir(explicit: Option<&Path>) -> Result<PathBuf, Diagnostic> {
    let candidates: Vec<PathBuf> = match explicit {
        Some(dir) => vec![dir.to_path_buf()],
        None => {
            // target/<profile>/policy-cli -> target/playground
            let beside = std::env::current_exe()
                .ok()
                .and_then(|exe| Some(exe.parent()?.parent()?.join("playground")));
            beside
                .into_iter()
                .chain([PathBuf::from("target/playground")])
                .collect()
        }
    };
    candidates
        .iter()
        .find(|d| d.join("index.html").is_file() && d.join("pkg/playground_bg.wasm").is_file())
        .cloned()
        .ok_or_else(|| {
            let tried: Vec<String> = candidates
                .iter()
                .map(|d| format!("`{}`", d.display()))
                .collect();
            Diagnostic::error(
                "playground-not-built",
                format!(
                    "the playground page is not built (looked in {})",
                    tried.join(", ")
                ),
            )
            .with_help("run `make playground` (after `make setup`), or pass `--dir DIR`")
        })
}

fn serve(mut stream: TcpStream, dir: &Path) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut line = String::new();
    {
        let mut reader = BufReader::new(&stream).take(MAX_HEAD_BYTES);
        if reader.read_line(&mut line).is_err() {
            return;
        }
        // Skip the rest of the head: the answer depends on the request line only.
        let mut header = String::new();
        while reader.read_line(&mut header).is_ok_and(|n| n > 0) && !header.trim_end().is_empty() {
            header.clear();
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let response = match method {
        "GET" | "HEAD" => {
            match resolve(dir, target).and_then(|p| std::fs::read(&p).ok().map(|b| (p, b))) {
                Some((path, body)) => Response::ok(content_type(&path), body),
                None => Response::text(404, "Not Found", "not found\n"),
            }
        }
        _ => Response::text(405, "Method Not Allowed", "only GET and HEAD\n"),
    };
    let _ = response.write(&mut stream, method == "HEAD");
}

/// The file a request target names inside `dir`: `/` is `index.html`;
/// only plain names (`[A-Za-z0-9._-]`, not starting with `.`) in each
/// segment, so nothing outside `dir` can be reached.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let rel = path.strip_prefix('/')?;
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let mut out = dir.to_path_buf();
    for seg in rel.split('/') {
        let plain = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !plain {
            return None;
        }
        out.push(seg);
    }
    out.is_file().then_some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("yaml" | "yml" | "txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn ok(content_type: &'static str, body: Vec<u8>) -> Response {
        Response {
            status: 200,
            reason: "OK",
            content_type,
            body,
        }
    }

    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }

    fn write(&self, stream: &mut TcpStream, head_only: bool) -> std::io::Result<()> {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
             Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n\
             Connection: close\r\n\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        stream.write_all(head.as_bytes())?;
        if !head_only {
            stream.write_all(&self.body)?;
        }
        stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_inside_the_directory_resolve() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "x").unwrap();
        std::fs::create_dir(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("pkg/a.js"), "x").unwrap();
        let p = dir.path();
        assert_eq!(resolve(p, "/"), Some(p.join("index.html")));
        assert_eq!(resolve(p, "/?x=1#y"), Some(p.join("index.html")));
        assert_eq!(resolve(p, "/pkg/a.js"), Some(p.join("pkg/a.js")));
        assert_eq!(resolve(p, "/../index.html"), None);
        assert_eq!(resolve(p, "/pkg/../index.html"), None);
        assert_eq!(resolve(p, "/.hidden"), None);
        assert_eq!(resolve(p, "/pkg//a.js"), None);
        assert_eq!(resolve(p, "/missing.js"), None);
        assert_eq!(resolve(p, "index.html"), None);
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
    }

    #[test]
    fn a_missing_page_says_how_to_build_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = page_dir(Some(dir.path())).unwrap_err();
        assert_eq!(err.code, "playground-not-built");
        assert!(
            err.help
                .as_deref()
                .unwrap_or("")
                .contains("make playground")
        );
    }
}
