//! The playground in a real browser: `policy-cli playground --port 0` and a
//! headless Debian Chromium driven through chromedriver (WebDriver, with
//! `fantoccini`). Shared by the playground tests and its benchmark. Anything
//! missing fails with the command that provides it.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// `policy-cli playground --port 0`, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/`
    pub url: String,
}

impl Server {
    pub fn start(cli: &str) -> Server {
        let mut child = Command::new(cli)
            .args(["playground", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run `{cli} playground`: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let Some(url) = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let out = child
                .wait_with_output()
                .map(|o| o.stderr)
                .unwrap_or_default();
            panic!(
                "`policy-cli playground` did not start: {}\n\
                 build the page first: `make playground` (after `make setup`)",
                String::from_utf8_lossy(&out)
            );
        };
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

/// A program on PATH or in /usr/bin, or a failure naming `make setup`.
fn program(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed: run `make setup` (it installs the Debian package `{package}`)"
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// chromedriver and one headless Chromium session.
pub struct Browser {
    driver: Child,
    _profile: tempfile::TempDir,
    pub client: Client,
}

impl Browser {
    pub async fn start() -> Browser {
        let chromium = program("chromium", "chromium");
        let chromedriver = program("chromedriver", "chromium-driver");
        let port = free_port();
        // Its own process group, so that dropping it (even when a test
        // fails) ends the Chromium it started too.
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromedriver.display()));
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not listen on port {port} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1500,1100".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({
            "goog:chromeOptions": { "binary": chromium, "args": args }
        });
        let caps = caps.as_object().cloned().unwrap_or_default();
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap_or_else(|e| panic!("cannot start headless Chromium through chromedriver: {e}"));
        Browser {
            driver,
            _profile: profile,
            client,
        }
    }

    /// Closes the session (Chromium quits); dropping ends chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens the page and waits until the engine has made its first decision.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("the page loads");
        self.wait_for(
            "the engine to start",
            "return document.body.dataset.ready === 'true'",
        )
        .await;
    }

    /// Runs `script` (with `args`) until it returns something truthy.
    pub async fn wait_for(&self, what: &str, script: &str) -> Value {
        self.wait_for_with(what, script, Vec::new()).await
    }

    pub async fn wait_for_with(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let started = Instant::now();
        loop {
            let v = self
                .client
                .execute(script, args.clone())
                .await
                .expect("the script runs");
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0);
            if truthy {
                return v;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let notice = self.text("#notice").await.unwrap_or_default();
                panic!("waited 20 s for {what} (page notice: {notice:?})");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The text of the first element matching `css`, if any.
    pub async fn text(&self, css: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.text().await.ok()
    }

    /// Replaces an input's or textarea's value by typing `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}`: {e}"));
        el.clear().await.expect("the field clears");
        el.send_keys(text).await.expect("the field takes keys");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element `{css}`: {e}"))
            .click()
            .await
            .expect("the element takes a click");
    }

    /// The value of an input or textarea.
    pub async fn value(&self, css: &str) -> String {
        let v = self
            .client
            .execute(
                "return document.querySelector(arguments[0]).value",
                vec![json!(css)],
            )
            .await
            .expect("the script runs");
        v.as_str().unwrap_or_default().to_owned()
    }
}
