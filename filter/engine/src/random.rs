//! Per-request randomness for the unsticky weighted split and fault
//! percentages ([`crate::Request::random`]).
//!
//! SplitMix64 (Steele, Lea and Flood, 2014), written here because it is five
//! lines: a crate such as `rand` would add tens of KiB to a module with a size
//! budget. The engine knows no entropy source: the filter seeds it from the
//! host (std's `RandomState`, which on `wasm32-wasip1` asks through WASI
//! `random_get`; Envoy provides it).

use std::cell::Cell;

/// A SplitMix64 generator. Not for cryptography: it only spreads requests.
#[derive(Debug)]
pub struct Random {
    state: Cell<u64>,
}

impl Random {
    pub fn with_seed(seed: u64) -> Self {
        Self {
            state: Cell::new(seed),
        }
    }

    pub fn next_u64(&self) -> u64 {
        let s = self.state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::Random;

    #[test]
    fn same_seed_same_sequence_and_values_spread() {
        let a = Random::with_seed(7);
        let b = Random::with_seed(7);
        let xs: Vec<u64> = (0..1000).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..1000).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        // Low bits are what `random % total_weight` uses: they must spread.
        let odd = xs.iter().filter(|x| *x % 2 == 1).count();
        assert!((400..600).contains(&odd), "odd values: {odd}");
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(
            Random::with_seed(1).next_u64(),
            Random::with_seed(2).next_u64()
        );
    }
}
