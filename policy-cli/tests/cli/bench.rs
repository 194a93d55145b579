//! `policy-cli bench`.

use crate::{POLICY, cli, run_with, wasm};

#[test]
fn bench_reports_the_filter_beside_the_engine() {
    let mut cmd = cli();
    cmd.env("MESHPOLICY_WASM", wasm());
    let r = run_with(cmd, &["bench", POLICY, "-n", "300", "--output", "json"]);
    r.exits(0);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["requests"], 300);
    assert!(v["wasm_requests_per_second"].as_f64().unwrap() > 0.0);
    assert!(v["engine_us_per_request"].as_f64().unwrap() > 0.0);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
}
