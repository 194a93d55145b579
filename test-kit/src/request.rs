//! A request builder for the engine: the article's client (the productpage
//! sidecar in `prod`) calling `reviews:9080`, refined per test.

use meshpolicy_engine::{Decision, Policy, Request, SourceInfo, Trace};

/// A request under construction.
#[derive(Debug, Clone)]
pub struct Req {
    pub headers: Vec<(String, String)>,
    pub source: SourceInfo,
    pub port: Option<u32>,
    pub random: u64,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Self {
        Req {
            headers: vec![
                (":method".into(), method.into()),
                (":scheme".into(), "http".into()),
                (":authority".into(), "reviews:9080".into()),
                (":path".into(), path.into()),
            ],
            // the client (the productpage sidecar) runs in `prod`
            source: SourceInfo {
                namespace: Some("prod".into()),
                ..SourceInfo::default()
            },
            port: Some(9080),
            random: 0,
        }
    }

    pub fn get(path: &str) -> Self {
        Req::new("GET", path)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn set(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.header(name, value)
    }

    pub fn random(mut self, r: u64) -> Self {
        self.random = r;
        self
    }

    pub fn port(mut self, p: Option<u32>) -> Self {
        self.port = p;
        self
    }

    pub fn source(mut self, labels: &[(&str, &str)], namespace: Option<&str>) -> Self {
        self.source = SourceInfo {
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            namespace: namespace.map(Into::into),
        };
        self
    }

    pub fn request(&self) -> Request<'_> {
        Request {
            headers: &self.headers,
            source: &self.source,
            port: self.port,
            random: self.random,
            virtual_host: None,
        }
    }

    /// `decide`, checked against `explain`.
    pub fn decide(&self, p: &Policy) -> Decision {
        let fast = p.decide(&self.request());
        let (slow, _) = p.explain(&self.request());
        assert_eq!(fast, slow, "indexed decide and traced explain disagree");
        fast
    }

    pub fn request_explain(&self, p: &Policy) -> (Decision, Trace) {
        p.explain(&self.request())
    }

    pub fn explain(&self, p: &Policy) -> Trace {
        p.explain(&self.request()).1
    }
}
