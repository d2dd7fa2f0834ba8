//! Similarity measures used by attribute recipes.

use crate::score::for_each_token;

/// Jaccard similarity of the sets of character n-grams (shingles) of two strings, compared
/// case-insensitively. Strings shorter than `n` are one shingle each.
pub fn shingle_jaccard(a: &str, b: &str, n: usize) -> f64 {
    if a.eq_ignore_ascii_case(b) {
        return 1.0;
    }
    let sa = shingles(a, n);
    let sb = shingles(b, n);
    jaccard(&sa, &sb)
}

fn shingles(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().flat_map(char::to_lowercase).collect();
    let n = n.max(1);
    let mut v: Vec<String> = if chars.len() <= n {
        vec![chars.iter().collect()]
    } else {
        chars.windows(n).map(|w| w.iter().collect()).collect()
    };
    v.sort_unstable();
    v.dedup();
    v
}

/// Jaccard of the masked word-token sets (see [`crate::score::is_variable`]).
pub fn token_jaccard(a: &str, b: &str) -> f64 {
    let mut ta = Vec::new();
    for_each_token(a, |t| ta.push(t.to_string()));
    let mut tb = Vec::new();
    for_each_token(b, |t| tb.push(t.to_string()));
    ta.sort_unstable();
    ta.dedup();
    tb.sort_unstable();
    tb.dedup();
    if ta.is_empty() && tb.is_empty() {
        return 1.0;
    }
    jaccard(&ta, &tb)
}

/// Both inputs sorted and deduplicated.
fn jaccard(a: &[String], b: &[String]) -> f64 {
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
        let close = shingle_jaccard("web-01.par1", "web-02.par1", 3);
        let far = shingle_jaccard("web-01.par1", "db-7.lon2", 3);
        assert!(close >= 0.5 && far < 0.1, "{close} {far}");
    }

    #[test]
    fn descriptions() {
        assert_eq!(
            token_jaccard("Disk 93% full on /var", "disk 97% FULL on /tmp"),
            1.0
        );
        assert!(token_jaccard("link down", "cpu high") == 0.0);
    }
}
