//! Strings a regex matches, to stand for its class of requests. Written by
//! hand over `regex-syntax`'s HIR because the crates that generate strings
//! from a regex (`rand_regex`) draw at random; a diff needs the same short
//! samples on every run, one per alternative, so that its classes are stable.

use meshpolicy_engine::{Anchoring, compile_regex};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Longest sample kept (a regex with a large `{n}` gives no sample).
const MAX_LEN: usize = 256;

/// Up to `limit` strings the whole of `pattern` matches (as the engine
/// matches it), shortest forms first; none when the pattern does not parse.
pub fn samples(pattern: &str, limit: usize) -> Vec<String> {
    // As the engine compiles it: Unicode off (`compile_regex`).
    let parsed = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern);
    let Ok(hir) = parsed else {
        return Vec::new();
    };
    let Ok(re) = compile_regex(pattern, Anchoring::Full) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for s in walk(&hir, limit.max(1)) {
        if s.len() <= MAX_LEN && re.is_match(s.as_bytes()) && !out.contains(&s) {
            out.push(s);
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

/// Candidate strings for `hir`: each alternative, the fewest repetitions.
fn walk(hir: &Hir, limit: usize) -> Vec<String> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => vec![String::new()],
        HirKind::Literal(lit) => vec![String::from_utf8_lossy(&lit.0).into_owned()],
        HirKind::Class(class) => class_sample(class).into_iter().collect(),
        HirKind::Capture(cap) => walk(&cap.sub, limit),
        HirKind::Repetition(rep) => {
            let inner = walk(&rep.sub, limit);
            let min = usize::try_from(rep.min).unwrap_or(usize::MAX);
            let mut out = Vec::new();
            for s in inner.iter().take(limit) {
                if s.len().saturating_mul(min) > MAX_LEN {
                    continue;
                }
                out.push(s.repeat(min));
                // One more than the minimum also matches when allowed.
                if rep.max.is_none_or(|max| max > rep.min) && min == 0 {
                    out.push(s.clone());
                }
            }
            out
        }
        HirKind::Concat(parts) => {
            let mut acc = vec![String::new()];
            for part in parts {
                let next = walk(part, limit);
                let mut grown = Vec::new();
                for a in &acc {
                    for b in &next {
                        if grown.len() < limit {
                            grown.push(format!("{a}{b}"));
                        }
                    }
                }
                acc = grown;
            }
            acc
        }
        HirKind::Alternation(alts) => alts
            .iter()
            .flat_map(|a| walk(a, limit).into_iter().take(1))
            .take(limit.max(alts.len().min(8)))
            .collect(),
    }
}

/// A readable member of a class: a letter or digit when it has one.
fn class_sample(class: &Class) -> Option<String> {
    match class {
        Class::Unicode(c) => {
            let ranges: Vec<(char, char)> = c.iter().map(|r| (r.start(), r.end())).collect();
            ['a', 'x', '0', '1', 'A', '-', '_', '.']
                .into_iter()
                .find(|ch| ranges.iter().any(|(s, e)| s <= ch && ch <= e))
                .or_else(|| ranges.iter().map(|(s, _)| *s).find(|ch| !ch.is_control()))
                .map(String::from)
        }
        Class::Bytes(c) => {
            let ranges: Vec<(u8, u8)> = c.iter().map(|r| (r.start(), r.end())).collect();
            [b'a', b'x', b'0', b'A', b'-']
                .into_iter()
                .find(|b| ranges.iter().any(|(s, e)| s <= b && b <= e))
                .or_else(|| ranges.iter().map(|(s, _)| *s).find(u8::is_ascii_graphic))
                .map(|b| char::from(b).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_match_the_whole_pattern() {
        for pattern in [
            "/api/v[0-9]+/.*",
            "/(books|movies)/[a-z]{3}",
            "Bearer [A-Za-z0-9._-]+",
            "(?i)/Catalog",
            "/x/?",
        ] {
            let got = samples(pattern, 3);
            assert!(!got.is_empty(), "{pattern}: no sample");
            let re = compile_regex(pattern, Anchoring::Full).unwrap();
            for s in &got {
                assert!(re.is_match(s.as_bytes()), "{pattern}: {s:?} does not match");
            }
        }
    }

    #[test]
    fn each_alternative_gets_a_sample() {
        let got = samples("/(books|movies|music)", 3);
        assert_eq!(got, ["/books", "/movies", "/music"]);
    }

    #[test]
    fn a_pattern_that_does_not_parse_has_no_sample() {
        assert!(samples("/(", 3).is_empty());
    }
}
