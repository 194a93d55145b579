//! Choosing a destination among a `route`'s weighted ones (SPEC §2.3).
//!
//! Unsticky: `random % Σw` walked over the cumulative weights, as Envoy's
//! weighted clusters do. Sticky: weighted rendezvous hashing — each
//! destination scores `-ln(u) / w` where `u` in (0,1) comes from hashing the
//! key with the destination's identity, and the lowest score wins. The same
//! key always gives the same destination, and raising one weight lowers only
//! that destination's score, so keys only ever move toward it.
//!
//! The hash is fixed and documented so every build (native, wasm32) and
//! every future version agrees: FNV-1a 64 over the key bytes, XORed with
//! FNV-1a 64 of `host/subset`, finalised with splitmix64. `ln` comes from the
//! pure-Rust `libm` so native and wasm32 results are bit-identical.

/// FNV-1a, 64 bit.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64's finaliser: a good 64-bit mix.
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One destination as the split sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weighted {
    pub(crate) weight: u32,
    /// `fnv1a64("host/subset")`.
    pub(crate) seed: u64,
}

/// Unsticky choice: `random % Σw`. `total` is Σw (> 0 when there are several).
pub(crate) fn pick_random(dests: &[Weighted], total: u64, random: u64) -> usize {
    if dests.len() <= 1 || total == 0 {
        return 0;
    }
    let mut r = random % total;
    for (i, d) in dests.iter().enumerate() {
        let w = u64::from(d.weight);
        if r < w {
            return i;
        }
        r -= w;
    }
    0
}

/// Sticky choice for `key` (weighted rendezvous hashing).
pub(crate) fn pick_sticky(dests: &[Weighted], key: &str) -> usize {
    if dests.len() <= 1 {
        return 0;
    }
    let key_hash = fnv1a64(key.as_bytes());
    let mut best = 0;
    let mut best_score = f64::INFINITY;
    for (i, d) in dests.iter().enumerate() {
        if d.weight == 0 {
            continue;
        }
        let h = mix64(key_hash ^ d.seed);
        // 53 random bits, shifted off 0: u in (0, 1).
        let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let score = -libm::log(u) / f64::from(d.weight);
        if score < best_score {
            best = i;
            best_score = score;
        }
    }
    best
}
