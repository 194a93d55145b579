//! Byte scans of request strings eight bytes at a time. Wasm has no
//! instruction for them, and a byte loop costs about twenty instructions a
//! byte there (headers are compared, and `:path` and `:authority` scanned,
//! on every request); each function answers exactly what its byte loop
//! would.

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// `bytes` (at most eight) as a little-endian word, the rest `fill`.
#[inline(always)]
pub(crate) fn word(bytes: &[u8], fill: u8) -> u64 {
    let mut w = [fill; 8];
    if let Some(head) = w.get_mut(..bytes.len()) {
        head.copy_from_slice(bytes);
    }
    u64::from_le_bytes(w)
}

/// 0x80 in each byte of `x` that is zero, 0 in every other byte (exact:
/// no carry crosses a byte).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// 0x80 in each byte of `x` that is `byte`.
#[inline(always)]
fn bytes_equal_to(x: u64, byte: u8) -> u64 {
    zero_bytes(x ^ ONES.wrapping_mul(u64::from(byte)))
}

/// 0x80 in each byte of `x` that is an ASCII upper-case letter.
#[inline(always)]
fn upper_bytes(x: u64) -> u64 {
    let low = x & LOW7;
    let at_least_a = low.wrapping_add(ONES.wrapping_mul(0x80 - u64::from(b'A')));
    let past_z = low.wrapping_add(ONES.wrapping_mul(0x80 - u64::from(b'Z') - 1));
    at_least_a & !past_z & !x & HIGH
}

/// `x` with its ASCII upper-case letters made lower-case.
#[inline(always)]
fn lower(x: u64) -> u64 {
    x | (upper_bytes(x) >> 2)
}

/// `a.eq_ignore_ascii_case(b)`.
pub(crate) fn eq_ignore_ascii_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = lower(word(x.remainder(), 0)) == lower(word(y.remainder(), 0));
    tail && x.into_iter().all(|p| {
        y.next()
            .is_some_and(|q| lower(word(p, 0)) == lower(word(q, 0)))
    })
}

/// `a == b` (`memcmp` is a byte loop in wasm, about ten instructions a
/// byte; a peer's Struct, which the telemetry memo compares, is about a
/// hundred). Inlined: a shared copy is not inlined at its callers and costs
/// them more than it saves.
#[inline(always)]
pub(crate) fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail = word(x.remainder(), 0) == word(y.remainder(), 0);
    // A whole chunk is read as it is, not copied into a padded word.
    let whole = |c: &[u8]| <[u8; 8]>::try_from(c).ok().map(u64::from_ne_bytes);
    tail && x
        .into_iter()
        .all(|p| y.next().is_some_and(|q| whole(p) == whole(q)))
}

/// Whether `bytes` holds an ASCII upper-case letter.
pub(crate) fn has_ascii_uppercase(bytes: &[u8]) -> bool {
    let chunks = bytes.chunks_exact(8);
    upper_bytes(word(chunks.remainder(), 0)) != 0
        || chunks.into_iter().any(|c| upper_bytes(word(c, 0)) != 0)
}

/// The bits of the first `len` bytes of a word (`len` at most 8).
#[inline(always)]
fn first_bytes(len: usize) -> u64 {
    u64::MAX.checked_shr(64 - 8 * len as u32).unwrap_or(0)
}

/// The index of the first `byte` in `bytes`.
pub(crate) fn find(bytes: &[u8], byte: u8) -> Option<usize> {
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let tail_at = bytes.len() - tail.len();
    for (i, c) in chunks.enumerate() {
        let hits = bytes_equal_to(word(c, 0), byte);
        if hits != 0 {
            return Some(i * 8 + (hits.trailing_zeros() / 8) as usize);
        }
    }
    let hits = bytes_equal_to(word(tail, 0), byte) & first_bytes(tail.len());
    (hits != 0).then(|| tail_at + (hits.trailing_zeros() / 8) as usize)
}

/// The indexes of the last `a` and the last `b` in `bytes`, in one pass.
pub(crate) fn last_of_two(bytes: &[u8], a: u8, b: u8) -> (Option<usize>, Option<usize>) {
    let last =
        |hits: u64, at: usize| (hits != 0).then(|| at + 7 - (hits.leading_zeros() / 8) as usize);
    let (mut found_a, mut found_b) = (None, None);
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    let tail_at = bytes.len() - tail.len();
    for (i, c) in chunks.enumerate() {
        let w = word(c, 0);
        found_a = last(bytes_equal_to(w, a), i * 8).or(found_a);
        found_b = last(bytes_equal_to(w, b), i * 8).or(found_b);
    }
    let (w, mask) = (word(tail, 0), first_bytes(tail.len()));
    found_a = last(bytes_equal_to(w, a) & mask, tail_at).or(found_a);
    found_b = last(bytes_equal_to(w, b) & mask, tail_at).or(found_b);
    (found_a, found_b)
}

/// Whether every byte of `bytes` is one a `:path` may hold: visible ASCII
/// (0x21 to 0x7e) other than `#`.
pub(crate) fn all_path_bytes(bytes: &[u8]) -> bool {
    let bad = |w: u64| {
        let low = w & LOW7;
        let below_21 = !low.wrapping_add(ONES.wrapping_mul(0x80 - 0x21)) & HIGH;
        (w & HIGH) | below_21 | bytes_equal_to(w, 0x7f) | bytes_equal_to(w, b'#')
    };
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    bad(word(tail, b'/')) == 0 && chunks.into_iter().all(|c| bad(word(c, 0)) == 0)
}

#[cfg(test)]
mod tests;
