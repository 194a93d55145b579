//! Deciding one request (SPEC §2.1–§2.3), the orchestrator over the
//! route's pieces: select the host (`hosts`), take the rule index's
//! candidates (`index`), evaluate rules in order (`route/rule.rs`,
//! `route/match/`), then act (`route/action/`). `explain` walks the same
//! steps linearly and keeps the trace.

use crate::decision::{Decision, DecisionLabels, HeaderOp, MatchedRule, SelectedHost};
use crate::hosts::{Found, HostEntry};
use crate::policy::Policy;
use crate::request::Request;
use crate::route::action::{direct, rewrite};
use crate::route::r#match::{Matched, implicit_prefix};
use crate::route::rule::{Action, CompiledRule};
use crate::route::view::View;
use crate::trace::{RuleTrace, Trace};

impl Policy {
    /// Which host of the policy covers the request: by the virtual host
    /// Envoy selected when the proxy names it, else by `:authority`.
    fn select(&self, view: &View<'_, '_>) -> Option<(&HostEntry, Found)> {
        if self.hosts.is_empty() {
            return None;
        }
        let req = view.req;
        if let Some(vh) = req.virtual_host {
            return self
                .hosts
                .find_virtual_host(vh)
                .map(|e| (e, Found::VirtualHost));
        }
        let authority = req.first_header(":authority").unwrap_or("");
        self.hosts.find(authority, req.source.namespace.as_deref())
    }

    fn selected(&self, entry: &HostEntry, how: Found) -> SelectedHost {
        let services = self
            .groups
            .get(entry.group as usize)
            .map(|g| {
                g.services
                    .iter()
                    .filter_map(|&v| self.services.get(v))
                    .map(|vs| vs.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        SelectedHost {
            host: entry.name.clone(),
            virtual_services: services,
            how: how.describe(),
        }
    }

    /// Decide what to do with `req` (the fast path: indexed, no trace).
    pub fn decide(&self, req: &Request<'_>) -> Decision {
        let view = View::new(req);
        let Some((entry, how)) = self.select(&view) else {
            return self.act(&view, None, None, None);
        };
        let Some(group) = self.groups.get(entry.group as usize) else {
            return self.act(&view, None, None, None);
        };
        let mut best: Option<(usize, Matched)> = None;
        group
            .index
            .candidates(view.path_only, view.path_only.len(), |list| {
                for &pos in list {
                    let pos = pos as usize;
                    if best.is_some_and(|(b, _)| pos >= b) {
                        break;
                    }
                    let rule = group
                        .rules
                        .get(pos)
                        .and_then(|&r| self.rules.get(r as usize));
                    if let Some(m) = rule.and_then(|rule| rule.eval(&view)) {
                        best = Some((pos, m));
                        break;
                    }
                }
            });
        let found = best.and_then(|(pos, m)| Some((*group.rules.get(pos)? as usize, m)));
        self.act(&view, Some(self.selected(entry, how)), found, None)
    }

    /// Decide with a trace of the host selection and every rule tried
    /// (linear, in rule order).
    pub fn explain(&self, req: &Request<'_>) -> (Decision, Trace) {
        let view = View::new(req);
        let mut trace = Trace::default();
        let authority = req.first_header(":authority").unwrap_or("");
        let Some((entry, how)) = self.select(&view) else {
            trace.host = Some(match req.virtual_host {
                Some(vh) => format!(
                    "virtual host `{vh}` (xds.virtual_host_name) is not one of the policy's hosts: the request goes on untouched"
                ),
                None => format!(
                    "host `{}` is not covered by any virtual service: the request goes on untouched",
                    crate::hosts::strip_port(authority)
                ),
            });
            let decision = self.act(&view, None, None, Some(&mut trace.actions));
            return (decision, trace);
        };
        let selected = self.selected(entry, how);
        trace.host = Some(format!(
            "host `{}` matched `{}` ({}): virtual service {}",
            match req.virtual_host {
                Some(vh) => vh,
                None => crate::hosts::strip_port(authority),
            },
            selected.host,
            selected.how,
            selected
                .virtual_services
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(" then "),
        ));
        let mut found = None;
        let order = self
            .groups
            .get(entry.group as usize)
            .map(|g| g.rules.as_slice())
            .unwrap_or_default();
        for &r in order {
            let Some(rule) = self.rules.get(r as usize) else {
                continue;
            };
            let mut reasons = Vec::new();
            let mut hit = None;
            if rule.matches.is_empty() {
                hit = Some(implicit_prefix(view.path));
                reasons.push("no `match`: matches every request".to_owned());
            } else {
                for (j, m) in rule.matches.iter().enumerate() {
                    match m.eval(&view) {
                        Ok(kind) => {
                            hit = Some(kind);
                            reasons.push(format!("match[{j}] matched"));
                            break;
                        }
                        Err(miss) => {
                            reasons.push(format!("match[{j}]: {}", m.explain_miss(miss, &view)))
                        }
                    }
                }
            }
            trace.rules.push(RuleTrace {
                virtual_service: self
                    .services
                    .get(rule.vs_index)
                    .map(|vs| vs.name.to_string())
                    .unwrap_or_default(),
                index: rule.index,
                name: rule.name.to_string(),
                matched: hit.is_some(),
                reasons,
            });
            if let Some(kind) = hit {
                found = Some((r as usize, kind));
                break;
            }
        }
        if found.is_none() {
            trace.actions.push(
                "no rule matched: Envoy's router answers 404 (route not found, NR)".to_owned(),
            );
        }
        let decision = self.act(&view, Some(selected), found, Some(&mut trace.actions));
        // what Envoy's router applies on the key's route (kept out of `act`:
        // the filter never explains, so its build carries none of this)
        if decision.destination.is_some()
            && let Some(o) = decision
                .rule
                .as_ref()
                .and_then(|r| self.router_options(r.virtual_service_index, r.index))
        {
            trace.actions.push(format!(
                "Envoy applies on the key's route: {}",
                o.describe().join("; ")
            ));
        }
        (decision, trace)
    }

    /// Build the decision for the matched rule (if any).
    fn act(
        &self,
        view: &View<'_, '_>,
        host: Option<SelectedHost>,
        found: Option<(usize, Matched)>,
        notes: Option<&mut Vec<String>>,
    ) -> Decision {
        let mut note = Notes(notes);
        let rule = found.and_then(|(index, _)| self.rules.get(index));
        let mut request_headers = Vec::with_capacity(rule.map_or(1, CompiledRule::request_edits));
        request_headers.push(HeaderOp::Remove {
            name: self.decision_header.clone(),
        });
        let mut d = Decision {
            host,
            rule: None,
            path: None,
            authority: None,
            request_headers,
            response_headers: Vec::new(),
            destination: None,
            local_response: None,
            rewrite_rejected: None,
            labels: DecisionLabels {
                policy_rule: self.unknown.clone(),
                policy_destination: self.unknown.clone(),
            },
        };
        let (Some((_, matched)), Some(rule)) = (found, rule) else {
            return d;
        };
        d.rule = Some(MatchedRule {
            virtual_service: self
                .services
                .get(rule.vs_index)
                .map(|vs| vs.name.clone())
                .unwrap_or_else(|| self.unknown.clone()),
            virtual_service_index: rule.vs_index,
            index: rule.index,
            name: rule.name.clone(),
        });
        d.labels.policy_rule = rule.name.clone();

        if let Some(fault) = &rule.fault
            && fault.act(view.req, &mut d, &mut note)
        {
            return d;
        }
        match &rule.action {
            Action::Direct { status, body } => direct::act(*status, body, &mut d, &mut note),
            Action::Redirect(r) => r.act(view, &mut d, &mut note),
            Action::Route(route) => {
                route.act(view, &mut d, &mut note);
                let rewritten = rewrite::act(
                    rule.rewrite_path.as_ref(),
                    rule.rewrite_authority.as_ref(),
                    view,
                    matched,
                    &mut d,
                    &mut note,
                    &self.unknown,
                );
                if !rewritten {
                    return d;
                }
            }
        }
        d.request_headers.extend(rule.request_ops.iter().cloned());
        d.response_headers.extend(rule.response_ops.iter().cloned());
        if let Some(key) = d.destination.as_ref().map(|x| x.key.clone()) {
            note.add(|| format!("set `{}: {key}`", self.decision_header));
            d.request_headers.push(HeaderOp::Set {
                name: self.decision_header.clone(),
                value: key,
            });
        }
        d
    }
}

/// The trace lines of `explain`; `decide` passes none, and then no line is
/// ever formatted (the fast path pays for nothing it does not return).
pub(crate) struct Notes<'n>(Option<&'n mut Vec<String>>);

// === impl Notes ===

impl Notes<'_> {
    pub(crate) fn add(&mut self, line: impl FnOnce() -> String) {
        if let Some(lines) = self.0.as_deref_mut() {
            lines.push(line());
        }
    }
}
