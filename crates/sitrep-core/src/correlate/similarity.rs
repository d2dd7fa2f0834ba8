//! Similarity measures used by attribute recipes. Shingles are hashed to `u64` and kept
//! sorted, so that comparing an alert with many candidate incidents costs a merge of two
//! short integer arrays, not string allocation and sorting.

use crate::score::for_each_token;
use std::hash::{BuildHasher, Hasher};

/// The part of a host name that names the host: the first label of an FQDN
/// (`web-01.par1.example.net` → `web-01`), so a shared domain does not make every host look
/// alike. IP addresses and single labels are kept whole.
pub fn host_part(s: &str) -> &str {
    match s.split_once('.') {
        Some((first, _)) if first.bytes().any(|b| b.is_ascii_alphabetic()) => first,
        _ => s,
    }
}

/// Sorted, deduplicated hashes of the case-folded character n-grams of `s` (one shingle
/// when `s` is shorter than `n`).
pub fn shingles(s: &str, n: usize) -> Vec<u64> {
    let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    let n = n.max(1);
    let hash = |w: &[char]| {
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        for c in w {
            h.write_u32(*c as u32);
        }
        h.finish()
    };
    let mut v: Vec<u64> = if chars.len() <= n {
        vec![hash(&chars)]
    } else {
        chars.windows(n).map(hash).collect()
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// Jaccard similarity of the shingle sets of two strings.
pub fn shingle_jaccard(a: &str, b: &str, n: usize) -> f64 {
    if a.eq_ignore_ascii_case(b) {
        return 1.0;
    }
    jaccard(&shingles(a, n), &shingles(b, n))
}

/// Jaccard of the masked word-token sets (see [`crate::score::is_variable`]).
pub fn token_jaccard(a: &str, b: &str) -> f64 {
    jaccard(&token_set(a), &token_set(b))
}

pub fn token_set(s: &str) -> Vec<u64> {
    let mut v = Vec::new();
    for_each_token(s, |t| v.push(rustc_hash::FxBuildHasher.hash_one(t)));
    v.sort_unstable();
    v.dedup();
    v
}

/// How many elements two sorted, deduplicated slices share (one merge pass).
pub fn sorted_intersection<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    inter
}

/// Jaccard of two sorted, deduplicated sets; two empty sets are identical.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let inter = sorted_intersection(a, b);
    let union = a.len() + b.len() - inter;
    if union == 0 {
        1.0
    } else {
        inter as f64 / union as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names() {
        assert_eq!(shingle_jaccard("web-01", "WEB-01", 3), 1.0);
        let close = shingle_jaccard("web-01", "web-02", 3);
        let far = shingle_jaccard("web-01", "db-7", 3);
        assert!(close >= 0.5 && far < 0.1, "{close} {far}");
        assert_eq!(host_part("web-01.par1.example.net"), "web-01");
        assert_eq!(host_part("10.0.0.1"), "10.0.0.1");
        assert_eq!(host_part("router"), "router");
        let a = host_part("host-123456.dc1.example.net");
        let b = host_part("host-654321.dc1.example.net");
        assert!(shingle_jaccard(a, b, 3) < 0.3, "the shared domain does not count");
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            token_jaccard("Disk 93% full on /var", "disk 97% FULL on /tmp"),
            1.0
        );
        assert!(token_jaccard("link down", "cpu high") == 0.0);
        assert_eq!(token_jaccard("", ""), 1.0);
    }
}
