//! Envoy's route matchers, compiled once per table: the path matchers of
//! `PrefixRouteEntryImpl` / `PathRouteEntryImpl` / `RegexRouteEntryImpl` /
//! `PathSeparatedPrefixRouteEntryImpl` (envoy
//! `source/common/router/config_impl.cc`), `HeaderUtility::matchHeaders`
//! (`source/common/http/header_utility.cc`) and
//! `ConfigUtility::QueryParameterMatcher` (`config_utility.cc`).

use regex::bytes::{Regex, RegexBuilder};

use super::table::{HeaderMatcher, QueryParameterMatcher, RouteMatch};

/// Envoy's RE2 program size bound is ~100; this host bounds patterns by
/// compiled size instead.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
const REGEX_NEST_LIMIT: u32 = 100;

/// A regex that must match the whole input (RE2 `FullMatch`).
pub(crate) fn full_regex(pattern: &str) -> Result<Regex, String> {
    let anchored = format!("^(?:{pattern})$");
    compile(&anchored)
}

/// A regex used as is (for rewrites: every match replaced).
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .map_err(|e| format!("invalid regex `{pattern}`: {e}"))
}

/// Envoy's `StringMatcherImpl`.
#[derive(Debug, Clone)]
pub(crate) enum StringMatcher {
    Exact(String, bool),
    Prefix(String, bool),
    Suffix(String, bool),
    Contains(String, bool),
    Regex(Regex),
}

impl StringMatcher {
    /// `field` names the matcher in errors.
    fn build(
        field: &str,
        exact: &Option<String>,
        prefix: &Option<String>,
        suffix: &Option<String>,
        contains: &Option<String>,
        safe_regex: &Option<String>,
        ignore_case: bool,
    ) -> Result<Option<StringMatcher>, String> {
        let mut found = Vec::new();
        if let Some(v) = exact {
            found.push(StringMatcher::Exact(v.clone(), ignore_case));
        }
        if let Some(v) = prefix {
            found.push(StringMatcher::Prefix(v.clone(), ignore_case));
        }
        if let Some(v) = suffix {
            found.push(StringMatcher::Suffix(v.clone(), ignore_case));
        }
        if let Some(v) = contains {
            found.push(StringMatcher::Contains(v.clone(), ignore_case));
        }
        if let Some(v) = safe_regex {
            found.push(StringMatcher::Regex(
                full_regex(v).map_err(|e| format!("{field}.safe_regex: {e}"))?,
            ));
        }
        if found.len() > 1 {
            return Err(format!(
                "{field}: set at most one of `exact`, `prefix`, `suffix`, `contains`, `safe_regex`"
            ));
        }
        Ok(found.pop())
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        match self {
            StringMatcher::Exact(p, false) => value == p,
            StringMatcher::Exact(p, true) => value.eq_ignore_ascii_case(p),
            StringMatcher::Prefix(p, false) => value.starts_with(p.as_str()),
            StringMatcher::Prefix(p, true) => starts_with_ignore_case(value, p),
            StringMatcher::Suffix(p, false) => value.ends_with(p.as_str()),
            StringMatcher::Suffix(p, true) => value
                .len()
                .checked_sub(p.len())
                .and_then(|start| value.get(start..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(p)),
            StringMatcher::Contains(p, false) => value.contains(p.as_str()),
            StringMatcher::Contains(p, true) => {
                value.to_ascii_lowercase().contains(&p.to_ascii_lowercase())
            }
            StringMatcher::Regex(re) => re.is_match(value.as_bytes()),
        }
    }
}

fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    value
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `Http::PathUtil::removeQueryAndFragment`.
pub(crate) fn path_without_query(path: &str) -> &str {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    path.get(..end).unwrap_or(path)
}

/// The path specifier of a route.
#[derive(Debug, Clone)]
pub(crate) enum PathMatcher {
    Prefix(String, bool),
    Exact(String, bool),
    Regex(Regex),
    SeparatedPrefix(String, bool),
}

impl PathMatcher {
    pub(crate) fn build(field: &str, m: &RouteMatch) -> Result<PathMatcher, String> {
        let case_sensitive = m.case_sensitive.unwrap_or(true);
        let mut found = Vec::new();
        if let Some(p) = &m.prefix {
            found.push(PathMatcher::Prefix(p.clone(), case_sensitive));
        }
        if let Some(p) = &m.path {
            found.push(PathMatcher::Exact(p.clone(), case_sensitive));
        }
        if let Some(p) = &m.safe_regex {
            found.push(PathMatcher::Regex(
                full_regex(p).map_err(|e| format!("{field}.safe_regex: {e}"))?,
            ));
        }
        if let Some(p) = &m.path_separated_prefix {
            if p.ends_with('/') || p.contains(['?', '#']) {
                return Err(format!(
                    "{field}.path_separated_prefix: `{p}` may not end with `/` nor hold `?` or `#`"
                ));
            }
            found.push(PathMatcher::SeparatedPrefix(p.clone(), case_sensitive));
        }
        if found.len() > 1 {
            return Err(format!(
                "{field}: set one of `prefix`, `path`, `safe_regex`, `path_separated_prefix`"
            ));
        }
        Ok(found
            .pop()
            .unwrap_or_else(|| PathMatcher::Prefix("/".to_string(), case_sensitive)))
    }

    /// Envoy's `PathMatcher::match`: the path without query and fragment.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let path = path_without_query(path);
        match self {
            PathMatcher::Prefix(p, true) => path.starts_with(p.as_str()),
            PathMatcher::Prefix(p, false) => starts_with_ignore_case(path, p),
            PathMatcher::Exact(p, true) => path == p,
            PathMatcher::Exact(p, false) => path.eq_ignore_ascii_case(p),
            PathMatcher::Regex(re) => re.is_match(path.as_bytes()),
            PathMatcher::SeparatedPrefix(p, sensitive) => {
                let head = if *sensitive {
                    path.starts_with(p.as_str())
                } else {
                    starts_with_ignore_case(path, p)
                };
                head && matches!(path.as_bytes().get(p.len()), None | Some(b'/'))
            }
        }
    }

    /// The part of the path a `prefix_rewrite` replaces
    /// (`currentUrlPathAfterRewriteWithMatchedPath`): the configured
    /// prefix or exact path, or the whole path for a regex.
    pub(crate) fn matched_len(&self, path: &str) -> usize {
        match self {
            PathMatcher::Prefix(p, _) | PathMatcher::Exact(p, _) => p.len(),
            PathMatcher::SeparatedPrefix(p, _) => p.len(),
            PathMatcher::Regex(_) => path_without_query(path).len(),
        }
    }
}

/// `HeaderUtility::HeaderData`.
#[derive(Debug, Clone)]
pub(crate) struct HeaderData {
    name: String,
    kind: HeaderKind,
    invert: bool,
    treat_missing_as_empty: bool,
}

#[derive(Debug, Clone)]
enum HeaderKind {
    Present(bool),
    Value(StringMatcher),
}

impl HeaderData {
    pub(crate) fn build(field: &str, h: &HeaderMatcher) -> Result<HeaderData, String> {
        if h.name.is_empty() {
            return Err(format!("{field}.name: a header matcher needs a name"));
        }
        let value = StringMatcher::build(
            field,
            &h.exact,
            &h.prefix,
            &h.suffix,
            &h.contains,
            &h.safe_regex,
            h.ignore_case,
        )?;
        let kind = match (value, h.present) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{field}: `present` cannot be combined with a value matcher"
                ));
            }
            (Some(m), None) => HeaderKind::Value(m),
            (None, Some(p)) => HeaderKind::Present(p),
            (None, None) => HeaderKind::Present(true),
        };
        Ok(HeaderData {
            name: h.name.to_ascii_lowercase(),
            kind,
            invert: h.invert_match,
            treat_missing_as_empty: h.treat_missing_header_as_empty,
        })
    }

    /// `HeaderUtility::matchHeaders`: several values of a header are
    /// joined with `,` (`getAllOfHeaderAsString`).
    pub(crate) fn matches(&self, headers: &[crate::header_list::Header]) -> bool {
        let mut joined: Option<String> = None;
        for (_, v) in headers
            .iter()
            .filter(|(k, _)| k.as_slice() == self.name.as_bytes())
        {
            let v = String::from_utf8_lossy(v);
            match &mut joined {
                Some(j) => {
                    j.push(',');
                    j.push_str(&v);
                }
                None => joined = Some(v.into_owned()),
            }
        }
        let value = match joined {
            Some(v) => v,
            None if self.treat_missing_as_empty => String::new(),
            None => {
                return match self.kind {
                    HeaderKind::Present(present) => present == self.invert,
                    HeaderKind::Value(_) => false,
                };
            }
        };
        let matched = match &self.kind {
            HeaderKind::Present(present) => *present,
            HeaderKind::Value(m) => m.matches(&value),
        };
        matched != self.invert
    }
}

/// `ConfigUtility::QueryParameterMatcher`.
#[derive(Debug, Clone)]
pub(crate) struct QueryData {
    name: String,
    matcher: Option<StringMatcher>,
    present: bool,
}

impl QueryData {
    pub(crate) fn build(field: &str, q: &QueryParameterMatcher) -> Result<QueryData, String> {
        if q.name.is_empty() {
            return Err(format!(
                "{field}.name: a query parameter matcher needs a name"
            ));
        }
        let matcher = StringMatcher::build(
            field,
            &q.exact,
            &q.prefix,
            &q.suffix,
            &q.contains,
            &q.safe_regex,
            q.ignore_case,
        )?;
        if matcher.is_some() && q.present.is_some() {
            return Err(format!(
                "{field}: `present` cannot be combined with a value matcher"
            ));
        }
        Ok(QueryData {
            name: q.name.clone(),
            matcher,
            present: q.present.unwrap_or(true),
        })
    }

    /// The first value of the parameter, undecoded
    /// (`QueryParamsMulti::parseQueryString` + `getFirstValue`); a missing
    /// parameter never matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        let Some(value) = first_query_value(path, &self.name) else {
            return false;
        };
        match &self.matcher {
            Some(m) => m.matches(value),
            None => self.present,
        }
    }
}

fn first_query_value<'a>(path: &'a str, name: &str) -> Option<&'a str> {
    let (_, query) = path.split_once('?')?;
    let query = query.split('#').next().unwrap_or(query);
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests;
