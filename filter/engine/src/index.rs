//! Candidate rules for a path without a linear scan: exact and prefix `uri`
//! matches go into byte tries (one case-sensitive, one ASCII-folded for
//! `ignoreUriCase`); rules that cannot be indexed are always candidates.
//! Every list holds rule indices in increasing order, so the caller finds
//! the lowest matching index (first match wins) by stopping early.

use crate::request::bytes;

/// A byte trie whose nodes carry the rules whose prefix or exact path ends
/// there, with its chains of one child each merged into one edge (a radix
/// tree): a walk compares a path eight bytes at a time, not byte by byte,
/// and meets exactly the nodes that carry rules, in the same order.
#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<Node>,
}

#[derive(Debug, Default)]
struct Node {
    /// The bytes of the edge from the parent (empty at the root).
    label: Box<[u8]>,
    /// Sorted by the first byte of the child's label.
    children: Vec<(u8, u32)>,
    prefix: Vec<u32>,
    exact: Vec<u32>,
}

fn push_rule(list: &mut Vec<u32>, rule: u32) {
    if list.last() != Some(&rule) {
        list.push(rule);
    }
}

impl Trie {
    /// The node for `key`, made (splitting an edge) if needed; `None` only
    /// when node ids outgrow u32.
    fn node_for(&mut self, key: &[u8]) -> Option<&mut Node> {
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let mut at = 0usize;
        let mut rest = key;
        while let Some(&b) = rest.first() {
            let node = self.nodes.get(at)?;
            let new = self.nodes.len();
            let new_id = u32::try_from(new).ok()?;
            match node.children.binary_search_by_key(&b, |(c, _)| *c) {
                Err(i) => {
                    self.nodes.push(Node {
                        label: rest.into(),
                        ..Node::default()
                    });
                    self.nodes.get_mut(at)?.children.insert(i, (b, new_id));
                    return self.nodes.last_mut();
                }
                Ok(i) => {
                    let child = node.children.get(i).map(|(_, n)| *n)?;
                    let label = &self.nodes.get(child as usize)?.label;
                    let common = label.iter().zip(rest).take_while(|(x, y)| x == y).count();
                    if common < label.len() {
                        // `rest` leaves the edge inside it: a node there,
                        // between the parent and the child.
                        let (head, tail) = label.split_at_checked(common)?;
                        let (head, tail): (Box<[u8]>, Box<[u8]>) = (head.into(), tail.into());
                        let first = *tail.first()?;
                        self.nodes.get_mut(child as usize)?.label = tail;
                        self.nodes.push(Node {
                            label: head,
                            children: vec![(first, child)],
                            ..Node::default()
                        });
                        *self.nodes.get_mut(at)?.children.get_mut(i)? = (b, new_id);
                        at = new;
                    } else {
                        at = child as usize;
                    }
                    rest = rest.get(common..)?;
                }
            }
        }
        self.nodes.get_mut(at)
    }

    /// Calls `f` with the rule lists of every node on `path` (prefix lists
    /// at every depth, exact lists at `exact_len`), root first.
    fn visit(&self, path: &[u8], exact_len: usize, fold: bool, f: &mut impl FnMut(&[u32])) {
        let Some(mut node) = self.nodes.first() else {
            return;
        };
        let mut depth = 0;
        loop {
            if !node.prefix.is_empty() {
                f(&node.prefix);
            }
            if depth == exact_len && !node.exact.is_empty() {
                f(&node.exact);
            }
            let Some(rest) = path.get(depth..) else {
                return;
            };
            let Some(&b) = rest.first() else {
                return;
            };
            let b = if fold { b.to_ascii_lowercase() } else { b };
            let next = node
                .children
                .binary_search_by_key(&b, |(c, _)| *c)
                .ok()
                .and_then(|i| node.children.get(i))
                .and_then(|(_, n)| self.nodes.get(*n as usize));
            let Some(next) = next else {
                return;
            };
            let Some(part) = rest.get(..next.label.len()) else {
                return;
            };
            // A folded trie's labels are lower-case: `part` is compared
            // folded, as each byte was.
            let same = if fold {
                bytes::eq_ignore_ascii_case(part, &next.label)
            } else {
                bytes::eq(part, &next.label)
            };
            if !same {
                return;
            }
            depth += next.label.len();
            node = next;
        }
    }
}

/// What kind of key a match entry contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Key<'a> {
    Exact { value: &'a str, ignore_case: bool },
    Prefix { value: &'a str, ignore_case: bool },
}

/// The index over all rules.
#[derive(Debug, Default)]
pub(crate) struct RuleIndex {
    cased: Trie,
    folded: Trie,
    always: Vec<u32>,
}

impl RuleIndex {
    /// Add rule `rule` (rules must be added in increasing order). `keys` is
    /// `Some` when every entry of the rule has an exact or prefix `uri`.
    pub(crate) fn add(&mut self, rule: u32, keys: Option<&[Key<'_>]>) {
        let Some(keys) = keys else {
            push_rule(&mut self.always, rule);
            return;
        };
        for key in keys {
            let (trie, value, exact, fold) = match *key {
                Key::Exact { value, ignore_case } => {
                    (self.trie(ignore_case), value, true, ignore_case)
                }
                Key::Prefix { value, ignore_case } => {
                    (self.trie(ignore_case), value, false, ignore_case)
                }
            };
            let folded;
            let bytes = if fold {
                folded = value.to_ascii_lowercase();
                folded.as_bytes()
            } else {
                value.as_bytes()
            };
            match trie.node_for(bytes) {
                Some(node) if exact => push_rule(&mut node.exact, rule),
                Some(node) => push_rule(&mut node.prefix, rule),
                // Only when a trie outgrows u32 node ids: never miss a rule.
                None => push_rule(&mut self.always, rule),
            }
        }
    }

    fn trie(&mut self, ignore_case: bool) -> &mut Trie {
        if ignore_case {
            &mut self.folded
        } else {
            &mut self.cased
        }
    }

    /// Call `f` with every sorted list of candidate rules for `path`.
    pub(crate) fn candidates(&self, path: &str, exact_len: usize, mut f: impl FnMut(&[u32])) {
        if !self.always.is_empty() {
            f(&self.always);
        }
        self.cased.visit(path.as_bytes(), exact_len, false, &mut f);
        self.folded.visit(path.as_bytes(), exact_len, true, &mut f);
    }
}

#[cfg(test)]
mod tests;
