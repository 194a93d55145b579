use std::collections::BTreeMap;

use super::{Key, RuleIndex, push_rule};

/// A tiny pseudo-random generator (xorshift), so the cases are the same
/// on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    /// A short string over few bytes: keys share prefixes and split edges.
    fn text(&mut self) -> String {
        let alphabet = ['/', 'a', 'b', 'A', 'B', 'x'];
        let len = self.next(7);
        (0..len)
            .map(|_| alphabet[self.next(alphabet.len())])
            .collect()
    }
}

/// What the byte-by-byte trie called `f` with: the always list, then per
/// trie (case-sensitive, then folded) at every depth of `path` the prefix
/// list of the key `path[..depth]`, and the exact list at `exact_len`.
fn expected(
    always: &[u32],
    keys: &[(bool, bool, String, u32)],
    path: &str,
    exact_len: usize,
) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    if !always.is_empty() {
        out.push(always.to_vec());
    }
    for fold in [false, true] {
        let mut lists: BTreeMap<(bool, Vec<u8>), Vec<u32>> = BTreeMap::new();
        for (exact, ignore_case, value, rule) in keys {
            if *ignore_case == fold {
                let key = if fold {
                    value.to_ascii_lowercase()
                } else {
                    value.clone()
                };
                push_rule(lists.entry((*exact, key.into_bytes())).or_default(), *rule);
            }
        }
        let path = if fold {
            path.to_ascii_lowercase()
        } else {
            path.to_owned()
        };
        for depth in 0..=path.len() {
            let key = path.as_bytes()[..depth].to_vec();
            if let Some(l) = lists.get(&(false, key.clone())) {
                out.push(l.clone());
            }
            if depth == exact_len
                && let Some(l) = lists.get(&(true, key))
            {
                out.push(l.clone());
            }
        }
    }
    out
}

#[test]
fn the_merged_trie_gives_the_lists_a_byte_trie_gives() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    for _ in 0..400 {
        let mut index = RuleIndex::default();
        let mut keys = Vec::new();
        let mut always = Vec::new();
        for rule in 0..g.next(12) as u32 {
            if g.next(8) == 0 {
                index.add(rule, None);
                push_rule(&mut always, rule);
                continue;
            }
            let n = 1 + g.next(2);
            let texts: Vec<(bool, bool, String)> = (0..n)
                .map(|_| (g.next(2) == 0, g.next(3) == 0, g.text()))
                .collect();
            let rule_keys: Vec<Key<'_>> = texts
                .iter()
                .map(|(exact, ignore_case, value)| match exact {
                    true => Key::Exact {
                        value,
                        ignore_case: *ignore_case,
                    },
                    false => Key::Prefix {
                        value,
                        ignore_case: *ignore_case,
                    },
                })
                .collect();
            index.add(rule, Some(&rule_keys));
            keys.extend(texts.into_iter().map(|(e, i, v)| (e, i, v, rule)));
        }
        for _ in 0..20 {
            let path = g.text();
            let exact_len = if g.next(4) == 0 {
                g.next(path.len() + 1)
            } else {
                path.len()
            };
            let mut got = Vec::new();
            index.candidates(&path, exact_len, |l| got.push(l.to_vec()));
            assert_eq!(
                got,
                expected(&always, &keys, &path, exact_len),
                "{keys:?} {path:?}"
            );
        }
    }
}
