//! policy-cli as a library; `main.rs` is a thin shell over it.
