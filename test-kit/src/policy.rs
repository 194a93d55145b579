//! The article's policy, as the project ships it.

use serde_json::Value;

use crate::paths::root;

/// Where the article's policy is, relative to the project root.
pub const ARTICLE_POLICY: &str = "manifests/policy/reviews.policy.yaml";

/// The article's policy as written (YAML).
pub fn article_policy_yaml() -> String {
    let path = root().join(ARTICLE_POLICY);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()))
}

/// The article's policy as the JSON value the filter is configured with.
pub fn article_policy() -> Value {
    serde_saphyr::from_str(&article_policy_yaml())
        .unwrap_or_else(|e| panic!("`{ARTICLE_POLICY}` is not YAML: {e}"))
}
