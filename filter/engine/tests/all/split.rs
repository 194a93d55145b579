//! SPEC §2.2: weighted and sticky splits.

use serde_json::{Value, json};

use crate::support::{Req, Rng, rules, subset_of};

fn split(weights: &[Option<u32>], sticky: Option<Value>) -> meshpolicy_engine::Policy {
    let route: Vec<Value> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut d =
                json!({"destination": {"host": "reviews", "subset": format!("v{}", i + 1)}});
            if let Some(w) = w {
                d["weight"] = json!(w);
            }
            d
        })
        .collect();
    let mut rule = json!({"route": route});
    if let Some(s) = sticky {
        rule["sticky"] = s;
    }
    rules(json!([rule]))
}

/// How many of `n` random requests land on each subset v1..vk.
fn histogram(p: &meshpolicy_engine::Policy, k: usize, n: usize) -> Vec<usize> {
    let mut rng = Rng(42);
    let mut counts = vec![0; k];
    for _ in 0..n {
        let s = subset_of(&Req::get("/").random(rng.next_u64()).decide(p)).unwrap();
        counts[s[1..].parse::<usize>().unwrap() - 1] += 1;
    }
    counts
}

/// The subset `GET /` lands on for each random value.
fn assert_random_subsets(p: &meshpolicy_engine::Policy, cases: &[(u64, &str)]) {
    for (random, subset) in cases {
        assert_eq!(
            subset_of(&Req::get("/").random(*random).decide(p)).as_deref(),
            Some(*subset),
            "random {random}"
        );
    }
}

#[test]
fn weights_are_relative() {
    // 3:1 is 75/25 whatever the sum.
    let c = histogram(&split(&[Some(3), Some(1)], None), 2, 40_000);
    assert!((29_400..=30_600).contains(&c[0]), "{c:?}");
}

#[test]
fn unsticky_split_is_random_modulo_total_weight() {
    let p = split(&[Some(90), Some(10)], None);
    assert_random_subsets(
        &p,
        &[(0, "v1"), (89, "v1"), (90, "v2"), (99, "v2"), (100, "v1")],
    );
}

#[test]
fn weight_zero_is_never_chosen_unless_it_is_the_only_destination() {
    let p = split(&[Some(0), Some(5), Some(0)], None);
    assert_eq!(histogram(&p, 3, 5_000), vec![0, 5_000, 0]);
    let p = split(&[Some(0), Some(5)], Some(json!({"header": "x-user"})));
    for u in 0..500 {
        let d = Req::get("/").header("x-user", &u.to_string()).decide(&p);
        assert_eq!(subset_of(&d).as_deref(), Some("v2"));
    }
    let only = split(&[Some(0)], None);
    assert_random_subsets(&only, &[(77, "v1")]);
}

#[test]
fn a_single_destination_without_weight_takes_all_traffic() {
    let p = split(&[None], None);
    assert_eq!(histogram(&p, 1, 1_000), vec![1_000]);
}

#[test]
fn sticky_header_split_sends_the_same_key_to_the_same_destination() {
    let p = split(&[Some(50), Some(50)], Some(json!({"header": "x-user-id"})));
    let mut seen = [0; 2];
    for u in 0..2_000 {
        let key = format!("user-{u}");
        let first = subset_of(&Req::get("/").header("x-user-id", &key).random(1).decide(&p));
        for r in [2, 3, 99, u64::MAX] {
            let again = subset_of(&Req::get("/").header("x-user-id", &key).random(r).decide(&p));
            assert_eq!(first, again, "key {key}");
        }
        seen[usize::from(first.as_deref() == Some("v2"))] += 1;
    }
    assert!(
        seen[0] > 850 && seen[1] > 850,
        "keys spread about 50/50: {seen:?}"
    );
}

#[test]
fn sticky_cookie_and_query_param_splits_are_consistent() {
    let by_cookie = split(&[Some(50), Some(50)], Some(json!({"cookie": "session"})));
    let by_query = split(&[Some(50), Some(50)], Some(json!({"queryParam": "user"})));
    for u in 0..300 {
        let a = subset_of(
            &Req::get("/")
                .header("cookie", &format!("theme=dark; session={u}"))
                .random(1)
                .decide(&by_cookie),
        );
        let b = subset_of(
            &Req::get("/")
                .header("cookie", &format!("session={u}"))
                .random(2)
                .decide(&by_cookie),
        );
        assert_eq!(a, b);
        let c = subset_of(
            &Req::get(&format!("/x?user={u}&z=1"))
                .random(3)
                .decide(&by_query),
        );
        let d = subset_of(
            &Req::get(&format!("/x?user={u}"))
                .random(4)
                .decide(&by_query),
        );
        assert_eq!(c, d);
        assert_eq!(a, c, "the same key hashes the same whatever carries it");
    }
}

#[test]
fn sticky_raising_a_weight_only_moves_keys_toward_that_destination() {
    let sticky = Some(json!({"header": "x-user-id"}));
    let steps = [10, 20, 50, 80, 100];
    let policies: Vec<_> = steps
        .iter()
        .map(|w| split(&[Some(100 - w), Some(*w)], sticky.clone()))
        .collect();
    let mut on_v2 = vec![0; steps.len()];
    for u in 0..5_000 {
        let key = u.to_string();
        let mut was_v2 = false;
        for (i, p) in policies.iter().enumerate() {
            let is_v2 = subset_of(&Req::get("/").header("x-user-id", &key).decide(p)).as_deref()
                == Some("v2");
            assert!(
                !was_v2 || is_v2,
                "key {key} left v2 when its weight rose to {}",
                steps[i]
            );
            was_v2 = is_v2;
            on_v2[i] += usize::from(is_v2);
        }
    }
    // And the share follows the weight (±2 points).
    for (i, w) in steps.iter().enumerate() {
        let share = on_v2[i] as f64 / 50.0;
        assert!((share - *w as f64).abs() <= 2.0, "weight {w}: {share}%");
    }
}

#[test]
fn sticky_with_a_missing_key_falls_back_to_the_random_split() {
    let p = split(&[Some(90), Some(10)], Some(json!({"header": "x-user-id"})));
    assert_random_subsets(&p, &[(95, "v2"), (5, "v1")]);
}

#[test]
fn sticky_hash_is_a_fixed_algorithm() {
    // Pinned answers: a change of hash would move every user; it must be deliberate.
    let p = split(&[Some(50), Some(50)], Some(json!({"header": "x-user-id"})));
    let got: String = (0..16)
        .map(|u| {
            let s =
                subset_of(&Req::get("/").header("x-user-id", &u.to_string()).decide(&p)).unwrap();
            if s == "v1" { '1' } else { '2' }
        })
        .collect();
    assert_eq!(got, PINNED_STICKY);
}

/// Computed independently (a 20-line Python transcription of the algorithm
/// documented in src/route/action/split.rs: FNV-1a 64, XOR, splitmix64, `-ln(u)/w`),
/// over the destinations `reviews.prod.svc.cluster.local/v1` and `/v2`.
const PINNED_STICKY: &str = "2212112122212121";

/// `sticky.generate`: the set-cookie value the decision adds, if any.
fn set_cookie(d: &meshpolicy_engine::Decision) -> Option<String> {
    d.response_headers.iter().find_map(|op| match op {
        meshpolicy_engine::HeaderOp::Add { name, value } if &**name == "set-cookie" => {
            Some(value.to_string())
        }
        _ => None,
    })
}

#[test]
fn a_user_without_a_cookie_gets_one_and_keeps_its_destination() {
    let p = split(
        &[Some(50), Some(50)],
        Some(json!({"cookie": "canary", "generate": {"ttl": "24h"}})),
    );
    let mut landed = [0usize; 2];
    for r in 0..200u64 {
        let first = Req::get("/reviews/1").random(r).decide(&p);
        let cookie = set_cookie(&first).expect("a key is drawn and set");
        assert!(
            cookie.ends_with("; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"),
            "{cookie}"
        );
        let pair = cookie.split(';').next().unwrap();
        assert!(
            pair.starts_with("canary=") && pair.len() == "canary=".len() + 16,
            "{pair}"
        );
        // The next request carries the cookie: same destination, no new cookie,
        // whatever the randomness.
        let second = Req::get("/reviews/1")
            .header("cookie", &format!("other=1; {pair}"))
            .random(r.wrapping_mul(7919).wrapping_add(1))
            .decide(&p);
        assert_eq!(subset_of(&second), subset_of(&first), "key {pair}");
        assert_eq!(set_cookie(&second), None);
        landed[usize::from(subset_of(&first).as_deref() == Some("v2"))] += 1;
    }
    // Drawn keys split like any key: both destinations get users.
    assert!(landed[0] > 50 && landed[1] > 50, "{landed:?}");
}

#[test]
fn a_session_cookie_without_ttl_and_generate_only_with_a_cookie() {
    let p = split(
        &[Some(90), Some(10)],
        Some(json!({"cookie": "c", "generate": {}})),
    );
    let cookie = set_cookie(&Req::get("/").decide(&p)).unwrap();
    assert!(
        cookie.ends_with("; Path=/; HttpOnly; SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Max-Age"), "{cookie}");

    for (sticky, error) in [
        (
            json!({"header": "x-user", "generate": {"ttl": "1h"}}),
            "spec.virtualServices[0].http[0].sticky.generate: generate needs `cookie`",
        ),
        (
            json!({"cookie": "c", "generate": {"ttl": "soon"}}),
            "sticky.generate.ttl: invalid duration `soon`",
        ),
    ] {
        let e = crate::support::rule_errors(json!([{
            "route": [{"destination": {"host": "a"}, "weight": 50}, {"destination": {"host": "b"}, "weight": 50}],
            "sticky": sticky
        }]));
        assert!(e.to_string().contains(error), "{e}");
    }
}
