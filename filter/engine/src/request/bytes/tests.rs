use super::{all_path_bytes, eq, eq_ignore_ascii_case, find, has_ascii_uppercase, last_of_two};

/// Strings of every length up to 40 over bytes that matter to the scans
/// (the letters' edges, the searched bytes, high bytes), each at every
/// offset of a buffer, so every word alignment and tail length is tried.
fn samples() -> Vec<Vec<u8>> {
    let alphabet = b"@AZ[`az{:]?\\x00\x01\x7f\x80\xc1\xda\xfa\xff.x";
    let mut out = vec![Vec::new()];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for len in 1..=40 {
        for _ in 0..40 {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            out.push(s);
        }
    }
    out
}

#[test]
fn every_byte_pair_compares_as_eq_ignore_ascii_case() {
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            for len in [1, 8, 9] {
                let (mut x, mut y) = (vec![b'q'; len], vec![b'q'; len]);
                x[len - 1] = a;
                y[len - 1] = b;
                assert_eq!(
                    eq_ignore_ascii_case(&x, &y),
                    x.eq_ignore_ascii_case(&y),
                    "{a:#x} {b:#x} at {len}"
                );
            }
        }
        assert_eq!(has_ascii_uppercase(&[a]), a.is_ascii_uppercase(), "{a:#x}");
        let path_byte = (0x21..=0x7e).contains(&a) && a != b'#';
        for len in [1, 8, 9, 16] {
            for at in 0..len {
                let mut s = vec![b'/'; len];
                s[at] = a;
                assert_eq!(all_path_bytes(&s), path_byte, "{a:#x} at {at} of {len}");
            }
        }
    }
}

#[test]
fn scans_answer_what_their_byte_loops_answer() {
    let samples = samples();
    for s in &samples {
        let upper = s.to_ascii_uppercase();
        let lower = s.to_ascii_lowercase();
        assert!(eq_ignore_ascii_case(s, &upper));
        assert!(eq_ignore_ascii_case(&lower, s));
        assert_eq!(has_ascii_uppercase(s), s.iter().any(u8::is_ascii_uppercase));
        let path = |b: &u8| (0x21..=0x7e).contains(b) && *b != b'#';
        assert_eq!(all_path_bytes(s), s.iter().all(path), "{s:?}");
        for byte in [b'?', b':', b']', 0, 0x80, 0xff, b'x'] {
            assert_eq!(
                find(s, byte),
                s.iter().position(|&b| b == byte),
                "{s:?} {byte}"
            );
        }
        assert_eq!(
            last_of_two(s, b':', b']'),
            (
                s.iter().rposition(|&b| b == b':'),
                s.iter().rposition(|&b| b == b']')
            ),
            "{s:?}"
        );
        assert_eq!(
            last_of_two(s, 0, 0xff),
            (
                s.iter().rposition(|&b| b == 0),
                s.iter().rposition(|&b| b == 0xff)
            ),
        );
    }
    for (s, t) in samples.iter().zip(samples.iter().skip(1)) {
        assert_eq!(eq_ignore_ascii_case(s, t), s.eq_ignore_ascii_case(t));
        let mut u = s.clone();
        if let Some(last) = u.last_mut() {
            *last ^= 0x20;
            assert_eq!(
                eq_ignore_ascii_case(s, &u),
                s.eq_ignore_ascii_case(&u),
                "{s:?}"
            );
        }
    }
}

#[test]
fn eq_compares_every_byte() {
    let a: Vec<u8> = (0..37).collect();
    assert!(eq(&a, &a.clone()));
    assert!(!eq(&a, &a[..36]));
    for i in 0..a.len() {
        let mut b = a.clone();
        b[i] ^= 1;
        assert!(!eq(&a, &b), "byte {i}");
    }
    assert!(eq(b"", b""));
}
