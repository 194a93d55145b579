//! A request as the CLI describes it (explain's flags, a test case), turned
//! into the header list Envoy would hand the filter.

use serde::{Deserialize, Serialize};

/// One HTTP request. Header names are lower-cased when the request is built.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default = "default_method")]
    pub method: String,
    pub path: String,
    /// `:authority` (default `localhost`, or the `host` header when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default = "default_scheme")]
    pub scheme: String,
    /// Headers in order; a name may repeat.
    #[serde(default, with = "header_list", skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".to_owned()
}

fn default_scheme() -> String {
    "http".to_owned()
}

/// Headers as a YAML mapping (`x-user-id: "7"`) or, when a name repeats, a
/// list of single-entry mappings.
mod header_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::collections::BTreeMap;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Map(BTreeMap<String, String>),
        List(Vec<BTreeMap<String, String>>),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        Ok(match Form::deserialize(d)? {
            Form::Map(m) => m.into_iter().collect(),
            Form::List(l) => l.into_iter().flatten().collect(),
        })
    }

    pub fn serialize<S: Serializer>(h: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let list: Vec<BTreeMap<&str, &str>> = h
            .iter()
            .map(|(k, v)| BTreeMap::from([(k.as_str(), v.as_str())]))
            .collect();
        list.serialize(s)
    }
}

impl RequestSpec {
    /// Parses `GET /path?q=1` (or just `/path`, a GET).
    pub fn parse_line(line: &str) -> Result<RequestSpec, String> {
        let mut parts = line.split_whitespace();
        let (method, path) = match (parts.next(), parts.next(), parts.next()) {
            (Some(path), None, None) if path.starts_with('/') => ("GET", path),
            (Some(method), Some(path), None) => (method, path),
            _ => return Err(format!("`{line}` is not `METHOD /path`")),
        };
        if !path.starts_with('/') {
            return Err(format!("path `{path}` must start with `/`"));
        }
        if !method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("method `{method}` is not a word"));
        }
        Ok(RequestSpec {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            ..RequestSpec::default()
        })
    }

    /// Parses one `-H 'name: value'`.
    pub fn parse_header(text: &str) -> Result<(String, String), String> {
        let (name, value) = text
            .split_once(':')
            .filter(|(n, _)| !n.trim().is_empty())
            .ok_or_else(|| format!("header `{text}` is not `name: value`"))?;
        Ok((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
    }

    /// `:authority`: explicit, else the `host` header, else `localhost`.
    pub fn authority(&self) -> String {
        self.authority
            .clone()
            .or_else(|| {
                self.headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("host"))
                    .map(|(_, v)| v.clone())
            })
            .unwrap_or_else(|| "localhost".to_owned())
    }

    /// The header map Envoy gives the filter: pseudo-headers first, names
    /// lower-cased, `host` folded into `:authority` (as Envoy's codecs do).
    pub fn wire_headers(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (":authority".to_owned(), self.authority()),
            (":path".to_owned(), self.path.clone()),
            (":method".to_owned(), self.method.clone()),
            (":scheme".to_owned(), self.scheme.clone()),
        ];
        for (k, v) in &self.headers {
            let k = k.to_ascii_lowercase();
            if k != "host" {
                out.push((k, v.clone()));
            }
        }
        if let Some(body) = &self.body
            && !self
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            out.push(("content-length".to_owned(), body.len().to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_lines_and_headers() {
        let r = RequestSpec::parse_line("get /wpcatalog/x?y=1").unwrap();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            ("GET", "/wpcatalog/x?y=1")
        );
        assert_eq!(RequestSpec::parse_line("/a").unwrap().method, "GET");
        assert!(RequestSpec::parse_line("GET wp").is_err());
        assert!(RequestSpec::parse_line("GET /a extra").is_err());
        assert_eq!(
            RequestSpec::parse_header("X-User-Id: 7").unwrap(),
            ("x-user-id".to_owned(), "7".to_owned())
        );
        assert!(RequestSpec::parse_header(": 7").is_err());
    }

    #[test]
    fn host_becomes_the_authority() {
        let r = RequestSpec {
            headers: vec![
                ("Host".into(), "reviews".into()),
                ("x-a".into(), "1".into()),
            ],
            ..RequestSpec::parse_line("/").unwrap()
        };
        let wire = r.wire_headers();
        assert_eq!(wire[0], (":authority".to_owned(), "reviews".to_owned()));
        assert_eq!(wire.len(), 5);
    }
}
