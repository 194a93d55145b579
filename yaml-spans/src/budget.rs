//! The parser's budget, from the engine's limits (issue 15 items 2 and 6):
//! no policy the filter accepts is refused for its size as YAML, and a
//! budget breach reads as a sentence, not as a debug struct.

use meshpolicy_engine::limits::MAX_POLICY_BYTES;
use serde_saphyr::Budget;
use serde_saphyr::budget::BudgetBreach;

/// Deepest nesting of mappings and sequences (a policy needs about 12; the playground runs on a 1 MiB wasm stack).
pub const MAX_DEPTH: usize = 32;

/// serde-saphyr's defaults, with node and event counts raised far past
/// what the largest policy the filter accepts can hold (every node of
/// compact JSON takes at least two bytes, `1,`, and every parser event at
/// least one): a policy past [`MAX_POLICY_BYTES`] is then refused by the
/// engine's size check, with the filter's error, not by the parser.
pub(crate) fn budget() -> Budget {
    let mut budget = Budget::default();
    budget.max_nodes = budget.max_nodes.max(4 * MAX_POLICY_BYTES);
    budget.max_events = budget.max_events.max(8 * MAX_POLICY_BYTES);
    budget.max_depth = MAX_DEPTH;
    budget
}

/// The sentence for a budget breach, wherever serde-saphyr wrapped it.
pub(crate) fn breach_message(mut e: &serde_saphyr::Error) -> Option<String> {
    loop {
        match e {
            serde_saphyr::Error::WithSnippet { error, .. }
            | serde_saphyr::Error::AliasError { error, .. } => e = error,
            serde_saphyr::Error::Budget { breach, .. } => return Some(sentence(breach)),
            _ => return None,
        }
    }
}

fn sentence(breach: &BudgetBreach) -> String {
    let limits = budget();
    let text = match breach {
        BudgetBreach::Depth { .. } => format!(
            "the YAML nests mappings and sequences more than {} levels deep",
            limits.max_depth
        ),
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => format!(
            "the YAML uses {aliases} aliases for {anchors} anchor(s), more than {} per anchor: \
             refused as an alias bomb",
            limits.alias_anchor_ratio_multiplier
        ),
        BudgetBreach::Aliases { .. } => {
            format!("the YAML has more than {} aliases", limits.max_aliases)
        }
        BudgetBreach::Anchors { .. } => {
            format!("the YAML has more than {} anchors", limits.max_anchors)
        }
        BudgetBreach::MergeKeys { .. } => {
            format!(
                "the YAML has more than {} merge keys (`<<`)",
                limits.max_merge_keys
            )
        }
        BudgetBreach::Nodes { .. } => format!(
            "the YAML has more than {} nodes, more than a policy the filter accepts ({} bytes as JSON) can hold",
            limits.max_nodes, MAX_POLICY_BYTES
        ),
        BudgetBreach::Events { .. } => format!(
            "the YAML has more than {} parser events, more than a policy the filter accepts ({} bytes as JSON) can hold",
            limits.max_events, MAX_POLICY_BYTES
        ),
        BudgetBreach::Documents { .. } => {
            format!(
                "the file has more than {} YAML documents",
                limits.max_documents
            )
        }
        BudgetBreach::ScalarBytes { .. } => {
            "the YAML's scalars hold too many bytes in all".to_owned()
        }
        BudgetBreach::RecordedAnchorEvents { .. } | BudgetBreach::RecordedAnchorBytes { .. } => {
            "the YAML's anchors expand to too much content".to_owned()
        }
        BudgetBreach::SequenceUnbalanced => {
            "the YAML's structure is unbalanced (truncated input?)".to_owned()
        }
        _ => "the YAML is larger than the parser's budget allows".to_owned(),
    };
    format!("invalid YAML: {text}")
}

#[cfg(test)]
mod tests {
    use crate::parse_documents;

    fn message(yaml: &str) -> String {
        match parse_documents(yaml) {
            Ok(_) => String::from("parsed"),
            Err(e) => e.message,
        }
    }

    #[test]
    fn too_deep_yaml_is_a_sentence_not_a_debug_struct() {
        let yaml = format!("{}1{}", "[".repeat(65), "]".repeat(65));
        let m = message(&yaml);
        assert_eq!(
            m,
            "invalid YAML: the YAML nests mappings and sequences more than 32 levels deep"
        );
        let yaml = format!("{}1{}", "[".repeat(32), "]".repeat(32));
        assert_eq!(message(&yaml), "parsed");
    }

    #[test]
    fn an_alias_bomb_is_a_sentence_not_a_debug_struct() {
        let mut yaml = String::from("a: &a [x]\nb: [");
        yaml.push_str(&vec!["*a"; 200].join(", "));
        yaml.push_str("]\n");
        let m = message(&yaml);
        assert_eq!(
            m,
            "invalid YAML: the YAML uses 200 aliases for 1 anchor(s), more than 10 per anchor: refused as an alias bomb"
        );
    }

    #[test]
    fn the_node_budget_holds_what_the_filter_accepts() {
        // 300,000 scalars (more than serde-saphyr's default 250,000 nodes)
        // is a 600 KB JSON document, well within the filter's limit.
        let yaml = format!("[{}]", vec!["1"; 300_000].join(","));
        assert_eq!(message(&yaml), "parsed");
    }
}
