//! JUnit XML for CI systems: one `<testsuite>` per test file, one
//! `<testcase>` per case, the diff of a failure as the failure's text.
//! Written with quick-xml, which escapes every attribute and text.

use std::io::Write;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::testrun::CaseResult;

/// The results of one test file.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub cases: Vec<CaseResult>,
}

/// XML 1.0 allows no C0 control character but tab, LF and CR (nor U+FFFE,
/// U+FFFF): quick-xml escapes markup, not these, so a test name with an
/// escape sequence would make the document ill-formed. They are written as
/// `\u{1b}` instead.
fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        (c.is_control() && !matches!(c, '\t' | '\n' | '\r') && (c as u32) < 0x20)
            || c == '\u{7f}'
            || c == '\u{fffe}'
            || c == '\u{ffff}'
    };
    if !text.chars().any(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if bad(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

/// The JUnit document for every suite.
pub fn render(suites: &[Suite]) -> Result<Vec<u8>, std::io::Error> {
    render_with(suites, &[])
}

/// The JUnit document, with `<properties>` on the root (coverage figures).
pub fn render_with(
    suites: &[Suite],
    properties: &[(String, String)],
) -> Result<Vec<u8>, std::io::Error> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failed: usize = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| !c.passed)
        .count();
    let time: std::time::Duration = suites
        .iter()
        .flat_map(|s| &s.cases)
        .map(|c| c.duration)
        .sum();
    let mut root = BytesStart::new("testsuites");
    root.push_attribute(("name", "policy-cli test"));
    root.push_attribute(("tests", total.to_string().as_str()));
    root.push_attribute(("failures", failed.to_string().as_str()));
    root.push_attribute(("errors", "0"));
    root.push_attribute(("time", secs(time).as_str()));
    w.write_event(Event::Start(root))?;
    if !properties.is_empty() {
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for (name, value) in properties {
            let mut p = BytesStart::new("property");
            p.push_attribute(("name", xml_safe(name).as_ref()));
            p.push_attribute(("value", xml_safe(value).as_ref()));
            w.write_event(Event::Empty(p))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
    }
    for suite in suites {
        let failures = suite.cases.iter().filter(|c| !c.passed).count();
        let time: std::time::Duration = suite.cases.iter().map(|c| c.duration).sum();
        let mut s = BytesStart::new("testsuite");
        s.push_attribute(("name", xml_safe(&suite.name).as_ref()));
        s.push_attribute(("tests", suite.cases.len().to_string().as_str()));
        s.push_attribute(("failures", failures.to_string().as_str()));
        s.push_attribute(("errors", "0"));
        s.push_attribute(("skipped", "0"));
        s.push_attribute(("time", secs(time).as_str()));
        w.write_event(Event::Start(s))?;
        for case in &suite.cases {
            let mut c = BytesStart::new("testcase");
            c.push_attribute(("name", xml_safe(&case.name).as_ref()));
            c.push_attribute(("classname", xml_safe(&suite.name).as_ref()));
            c.push_attribute(("time", secs(case.duration).as_str()));
            if case.passed {
                w.write_event(Event::Empty(c))?;
                continue;
            }
            w.write_event(Event::Start(c))?;
            let mut f = BytesStart::new("failure");
            f.push_attribute(("message", "expected and actual differ"));
            f.push_attribute(("type", "mismatch"));
            w.write_event(Event::Start(f))?;
            w.write_event(Event::Text(BytesText::new(&xml_safe(&case.diff))))?;
            w.write_event(Event::End(BytesEnd::new("failure")))?;
            w.write_event(Event::End(BytesEnd::new("testcase")))?;
        }
        w.write_event(Event::End(BytesEnd::new("testsuite")))?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))?;
    let mut out = w.into_inner();
    out.write_all(b"\n")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_in_names_keep_the_document_well_formed() {
        let suite = Suite {
            name: "tests\u{1b}[31m.yaml".to_owned(),
            cases: vec![CaseResult {
                name: "case \u{0}\u{1b}]0;title\u{7}".to_owned(),
                passed: false,
                diff: "-a\u{8}\n+b\n".to_owned(),
                duration: std::time::Duration::ZERO,
            }],
        };
        let xml = String::from_utf8(render(&[suite]).unwrap()).unwrap();
        assert!(
            !xml.chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')),
            "{xml:?}"
        );
        assert!(xml.contains("case \\u{0}\\u{1b}]0;title\\u{7}"), "{xml}");
        let mut reader = quick_xml::Reader::from_str(&xml);
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("ill-formed: {e}\n{xml}"),
            }
        }
    }
}
