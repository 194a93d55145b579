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

fn secs(d: std::time::Duration) -> String {
    format!("{:.6}", d.as_secs_f64())
}

/// The JUnit document for every suite.
pub fn render(suites: &[Suite]) -> Result<Vec<u8>, std::io::Error> {
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
    for suite in suites {
        let failures = suite.cases.iter().filter(|c| !c.passed).count();
        let time: std::time::Duration = suite.cases.iter().map(|c| c.duration).sum();
        let mut s = BytesStart::new("testsuite");
        s.push_attribute(("name", suite.name.as_str()));
        s.push_attribute(("tests", suite.cases.len().to_string().as_str()));
        s.push_attribute(("failures", failures.to_string().as_str()));
        s.push_attribute(("errors", "0"));
        s.push_attribute(("skipped", "0"));
        s.push_attribute(("time", secs(time).as_str()));
        w.write_event(Event::Start(s))?;
        for case in &suite.cases {
            let mut c = BytesStart::new("testcase");
            c.push_attribute(("name", case.name.as_str()));
            c.push_attribute(("classname", suite.name.as_str()));
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
            w.write_event(Event::Text(BytesText::new(&case.diff)))?;
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
