//! The diff as people read it (text, markdown for a pull-request comment)
//! and as tools read it (JSON).

use std::fmt::Write as _;

use serde::Serialize;

use super::classes::Probe;
use super::outcome::Verdict;
use super::replay::Replay;
use super::sticky::StickyReport;

/// Request classes whose decision changes the same way (rewritten paths
/// aside: each request carries its own).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub before: Verdict,
    pub after: Verdict,
    pub requests: Vec<ChangedRequest>,
}

/// One request of a change, with the paths it is rewritten to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedRequest {
    #[serde(flatten)]
    pub request: Probe,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_path: Option<String>,
}

impl ChangedRequest {
    /// The request, and where its path goes on each side when rewritten.
    pub fn line(&self) -> String {
        let mut line = self.request.line();
        if self.before_path.is_some() || self.after_path.is_some() {
            let show = |p: &Option<String>| p.clone().unwrap_or_else(|| "as sent".to_owned());
            line.push_str(&format!(
                " (path: {} ⇒ {})",
                show(&self.before_path),
                show(&self.after_path)
            ));
        }
        line
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiffReport {
    pub old: String,
    pub new: String,
    /// Request classes generated from both policies' match predicates.
    pub classes: usize,
    /// How many of them change.
    pub changed: usize,
    pub changes: Vec<Change>,
    pub sticky: Vec<StickyReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<Replay>,
}

impl DiffReport {
    /// Whether anything a request sees changes.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
            || self.sticky.iter().any(|s| s.moved > 0)
            || self.replay.as_ref().is_some_and(|r| !r.changes.is_empty())
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Human,
    Json,
    Markdown,
}

/// Requests listed per change before "and N more".
const SHOWN: usize = 5;

pub fn render(report: &DiffReport, format: Format) -> String {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Human => human(report),
        Format::Markdown => markdown(report),
    }
}

fn percent(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn shares(m: &std::collections::BTreeMap<String, f64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k} {}", percent(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn human(r: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "meshpolicy diff: {} → {}", r.old, r.new);
    if r.changes.is_empty() {
        let _ = writeln!(
            out,
            "{} request classes, none changes its decision",
            r.classes
        );
    } else {
        let _ = writeln!(out, "{} request classes, {} change:", r.classes, r.changed);
    }
    for c in &r.changes {
        let _ = writeln!(out, "\n  before: {}", c.before);
        let _ = writeln!(out, "  after:  {}", c.after);
        let _ = writeln!(out, "  {} request(s), e.g.", c.requests.len());
        for p in c.requests.iter().take(SHOWN) {
            let _ = writeln!(out, "    {}", p.line());
        }
        if c.requests.len() > SHOWN {
            let _ = writeln!(out, "    … and {} more", c.requests.len() - SHOWN);
        }
    }
    for s in &r.sticky {
        let _ = writeln!(
            out,
            "\nsticky split {} ({}, {} keys, {}):",
            s.rule, s.key, s.keys, s.request
        );
        let _ = writeln!(out, "  before: {}", shares(&s.before));
        let _ = writeln!(out, "  after:  {}", shares(&s.after));
        if s.moved == 0 {
            let _ = writeln!(out, "  no key moves");
        } else {
            let _ = writeln!(
                out,
                "  {} keys move ({}):",
                s.moved,
                percent(s.moved as f64 / s.keys.max(1) as f64)
            );
            for m in &s.moves {
                let _ = writeln!(out, "    {} → {}: {}", m.from, m.to, m.keys);
            }
        }
        if s.moved_back == 0 {
            let _ = writeln!(out, "  no key leaves a destination whose weight rose");
        } else {
            let _ = writeln!(
                out,
                "  WARNING: {} keys leave a destination whose weight rose",
                s.moved_back
            );
        }
    }
    if let Some(rp) = &r.replay {
        let _ = writeln!(
            out,
            "\nreplay: {} requests ({} lines skipped), {} unchanged, {} change",
            rp.replayed,
            rp.skipped,
            rp.unchanged,
            rp.replayed - rp.unchanged
        );
        for e in &rp.skipped_examples {
            let _ = writeln!(out, "  skipped {e}");
        }
        for c in &rp.changes {
            let _ = writeln!(out, "  {} → {}: {}", c.before, c.after, c.requests);
            for e in &c.examples {
                let _ = writeln!(out, "    {e}");
            }
        }
    }
    out
}

/// A table cell: no line breaks, `|` escaped, in code font.
fn cell(text: &str) -> String {
    let t = text.replace('|', "\\|").replace(['\n', '\r'], " ");
    format!("`{}`", t.replace('`', "'"))
}

fn markdown(r: &DiffReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### meshpolicy diff\n");
    let _ = writeln!(out, "{} → {}\n", cell(&r.old), cell(&r.new));
    if r.changes.is_empty() {
        let _ = writeln!(
            out,
            "**No request class changes its decision** ({} classes).",
            r.classes
        );
    } else {
        let _ = writeln!(
            out,
            "**{} of {} request classes change.**\n",
            r.changed, r.classes
        );
        let _ = writeln!(out, "| requests | before | after |\n|---|---|---|");
        for c in &r.changes {
            let mut reqs: Vec<String> = c
                .requests
                .iter()
                .take(SHOWN)
                .map(|p| cell(&p.line()))
                .collect();
            if c.requests.len() > SHOWN {
                reqs.push(format!("and {} more", c.requests.len() - SHOWN));
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                reqs.join("<br>"),
                cell(&c.before.to_string()),
                cell(&c.after.to_string())
            );
        }
    }
    for s in &r.sticky {
        let _ = writeln!(
            out,
            "\n#### Sticky split {} ({}, {} keys)\n",
            cell(&s.rule),
            s.key,
            s.keys
        );
        let _ = writeln!(out, "- before: {}", shares(&s.before));
        let _ = writeln!(out, "- after: {}", shares(&s.after));
        let _ = writeln!(
            out,
            "- {} keys move ({})",
            s.moved,
            percent(s.moved as f64 / s.keys.max(1) as f64)
        );
        for m in &s.moves {
            let _ = writeln!(out, "  - {} → {}: {}", cell(&m.from), cell(&m.to), m.keys);
        }
        if s.moved_back > 0 {
            let _ = writeln!(
                out,
                "- :warning: **{} keys leave a destination whose weight rose**",
                s.moved_back
            );
        }
    }
    if let Some(rp) = &r.replay {
        let _ = writeln!(
            out,
            "\n#### Replay: {} requests, {} change\n",
            rp.replayed,
            rp.replayed - rp.unchanged
        );
        if !rp.changes.is_empty() {
            let _ = writeln!(out, "| before | after | requests |\n|---|---|---|");
            for c in &rp.changes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    cell(&c.before),
                    cell(&c.after),
                    c.requests
                );
            }
        }
    }
    out
}
