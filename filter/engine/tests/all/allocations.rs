//! Allocations per decision (issue 10 item 3): `decide` allocates only what
//! the `Decision` it returns holds, nothing for the trace it does not return.
//!
//! A counting global allocator (a wrapper of `System`) counts the
//! allocations of the current thread while a section runs; the counter is
//! thread-local, so the harness's other test threads do not add to it.
//! Counts are not timing: they are the same on every machine and run, so
//! they are asserted. `cargo test --test all allocations -- --nocapture`
//! prints them (BENCHMARKS.md, "Engine: allocations per decision").

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::Arc;

use meshpolicy_engine::{Decision, HeaderOp, Policy};
use serde_json::{Value, json};

use crate::support::{Req, policy};

/// `System`, counting the allocations (`alloc`, `alloc_zeroed`, `realloc`)
/// made on a thread while its counting is on.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// Count one allocation if this thread is counting. `try_with`: a thread
/// being torn down still allocates, and must not fail here.
fn count_one() {
    let on = COUNTING.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = COUNT.try_with(|c| c.set(c.get().saturating_add(1)));
    }
}

// SAFETY: every call is forwarded unchanged to `System`; counting touches
// only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|on| on.set(true));
    let out = black_box(f());
    COUNTING.with(|on| on.set(false));
    (COUNT.with(Cell::get), out)
}

/// The heap blocks a decision owns alone: each is one allocation `decide`
/// cannot avoid, because the decision returns it.
/// - `request_headers`: the `Vec` of edits, allocated once at its final
///   capacity (every decision has at least the `Remove` of a client-sent
///   decision header, SPEC §2.4);
/// - `response_headers`: its `Vec` when the rule or destination edits them;
/// - `host.virtual_services`: the names of the virtual services that govern
///   the host (the merge order `explain` and the CLI show);
/// - `path`: the rewritten `:path` (computed per request);
/// - `rewrite_rejected`, `local_response` (its header list, header strings
///   and body): per-request text of a refusal or a local response;
/// - an `Arc<str>` no one else holds (a drawn sticky cookie): computed per
///   request. Every other `Arc<str>` (rule name, destination, key, header
///   names and values) is a clone of the compiled policy's: no allocation.
fn owned(d: &Decision) -> usize {
    let vec = |cap: usize| usize::from(cap > 0);
    let string = |s: &String| usize::from(s.capacity() > 0);
    let fresh = |a: &Arc<str>| usize::from(Arc::strong_count(a) == 1);
    let ops = |ops: &Vec<HeaderOp>| {
        vec(ops.capacity())
            + ops
                .iter()
                .map(|op| match op {
                    HeaderOp::Set { name, value } | HeaderOp::Add { name, value } => {
                        fresh(name) + fresh(value)
                    }
                    HeaderOp::Remove { name } => fresh(name),
                })
                .sum::<usize>()
    };
    let local = d.local_response.as_ref().map_or(0, |l| {
        vec(l.headers.capacity())
            + l.headers
                .iter()
                .map(|(n, v)| string(n) + string(v))
                .sum::<usize>()
            + string(&l.body)
    });
    ops(&d.request_headers)
        + ops(&d.response_headers)
        + d.host
            .as_ref()
            .map_or(0, |h| vec(h.virtual_services.capacity()))
        + d.path.as_ref().map_or(0, string)
        + d.rewrite_rejected.as_ref().map_or(0, string)
        + local
}

/// The article's policy (`manifests/policy/reviews.policy.yaml`).
fn article() -> Policy {
    policy(test_kit::article_policy())
}

/// The article's policy with its catch-all canary rule limited to
/// `/reviews`, so a request for another path matches no rule (Envoy's 404
/// `NR`): the article's own policy answers every path of its host.
fn article_without_catch_all() -> Policy {
    let mut doc: Value = test_kit::article_policy();
    let canary = doc
        .pointer_mut("/spec/virtualServices/0/http/1")
        .and_then(Value::as_object_mut)
        .expect("the article's second rule");
    canary.insert("match".into(), json!([{"uri": {"prefix": "/reviews"}}]));
    policy(doc)
}

/// One case: decide `req` once to warm up (lazily built state, if any), then
/// 100 times counted; returns the most allocations any one decision made,
/// and checks the decision and what it owns.
fn measure(label: &str, p: &Policy, req: &Req, check: impl Fn(&Decision), bound: usize) -> usize {
    let request = req.request();
    check(&p.decide(&request));
    let mut most = 0;
    let mut total = 0;
    const RUNS: usize = 100;
    for _ in 0..RUNS {
        let (n, d) = allocations(|| p.decide(&request));
        check(&d);
        assert_eq!(
            owned(&d),
            bound,
            "{label}: the decision owns {} heap blocks, the stated bound is {bound}: {d:#?}",
            owned(&d)
        );
        most = most.max(n);
        total += n;
    }
    println!(
        "allocations per decision: {label}: {most} (mean {:.2} over {RUNS}; owned by the decision: {bound})",
        total as f64 / RUNS as f64
    );
    most
}

#[test]
fn decide_allocates_only_what_the_decision_holds() {
    let article = article();
    // `legacy-catalog`: prefix rewrite to `/newcatalog`, destination v2.
    // Owns: request_headers, virtual_services, the rewritten path.
    let rewrite = measure(
        "rewrite (`GET /wpcatalog/books?id=1`, reviews:9080)",
        &article,
        &Req::get("/wpcatalog/books?id=1"),
        |d| assert_eq!(d.path.as_deref(), Some("/newcatalog/books?id=1")),
        3,
    );
    // `reviews-canary`: sticky 90/10 split on `x-user-id`.
    // Owns: request_headers, virtual_services.
    let sticky = measure(
        "sticky canary (`GET /reviews/1`, `x-user-id: 8`)",
        &article,
        &Req::get("/reviews/1").header("x-user-id", "8"),
        |d| {
            assert_eq!(d.rule.as_ref().map(|r| &*r.name), Some("reviews-canary"));
            assert!(d.destination.is_some(), "a destination is chosen");
        },
        2,
    );
    // A host no virtual service covers: only the decision header's removal.
    // Owns: request_headers.
    let uncovered = measure(
        "uncovered host (`GET /wpcatalog/books`, ratings:9080)",
        &article,
        &Req::get("/wpcatalog/books").set(":authority", "ratings:9080"),
        |d| {
            assert!(d.host.is_none(), "no policy host covers ratings");
            assert_eq!(d.request_headers.len(), 1);
        },
        1,
    );
    // A covered host, no rule matches: Envoy's 404 NR.
    // Owns: request_headers, virtual_services.
    let not_found = measure(
        "no rule matches, 404 NR (`GET /ratings/1`, reviews:9080)",
        &article_without_catch_all(),
        &Req::get("/ratings/1"),
        |d| {
            assert!(d.host.is_some() && d.rule.is_none(), "covered, no rule");
        },
        2,
    );
    for (label, n, bound) in [
        ("rewrite", rewrite, 3),
        ("sticky canary", sticky, 2),
        ("uncovered host", uncovered, 1),
        ("404 NR", not_found, 2),
    ] {
        assert!(
            n <= bound,
            "{label}: decide made {n} allocations, more than the {bound} its decision holds"
        );
    }
}

#[test]
fn the_counter_counts() {
    // The measurement itself can fail: a `String` and a `Vec` are two.
    let (n, _) = allocations(|| (String::from("x"), vec![1_u8]));
    assert_eq!(n, 2);
    let (n, _) = allocations(|| 1 + 1);
    assert_eq!(n, 0);
}
