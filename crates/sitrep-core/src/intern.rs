//! A string interner: sources, checks, services and label strings repeat across many
//! alerts, so each alert holds 4-byte symbols instead of its own copies (the ≤ 512 bytes per
//! active alert budget). Symbols are never freed; the table grows with distinct values, not
//! with events.

use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::BuildHasher;

pub type Sym = u32;

/// A string's hash as the hash tables over alert strings keep it: 32 bits stored beside
/// the entry, so that a table growing past a million entries rehashes from those bits
/// alone. Rehashing from the strings themselves (a random read of each) held the engine
/// 110–150 ms at the growth near 917,504 alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hash32(u32);

impl Hash32 {
    pub fn of(s: &str) -> Hash32 {
        let h = rustc_hash::FxBuildHasher.hash_one(s);
        Hash32((h ^ (h >> 32)) as u32)
    }

    /// The table's 64-bit hash, a fixed function of the 32 bits: the multiplication spreads
    /// them into the top bits, which hashbrown's control bytes take.
    pub fn spread(self) -> u64 {
        (self.0 as u64 | ((self.0 as u64) << 32)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

#[derive(Default, Clone)]
pub struct Interner {
    strings: Vec<Box<str>>,
    index: HashTable<(Sym, Hash32)>,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = Hash32::of(s);
        let strings = &self.strings;
        if let Some(&(sym, _)) = self
            .index
            .find(h.spread(), |&(x, xh)| xh == h && &*strings[x as usize] == s)
        {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.index
            .insert_unique(h.spread(), (sym, h), |&(_, xh)| xh.spread());
        sym
    }

    #[cfg(test)]
    pub fn get(&self, s: &str) -> Option<Sym> {
        let h = Hash32::of(s);
        self.index
            .find(h.spread(), |&(x, xh)| xh == h && &*self.strings[x as usize] == s)
            .map(|&(x, _)| x)
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        &self.strings[sym as usize]
    }
}

impl Serialize for Interner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.strings.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Interner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // the strings as read, in place (a symbol is its position); only the index is built,
        // sized once (a restart with a million alerts spent a tenth of its time re-interning)
        let strings: Vec<Box<str>> = Vec::deserialize(d)?;
        let mut index: HashTable<(Sym, Hash32)> = HashTable::with_capacity(strings.len());
        for (sym, s) in strings.iter().enumerate() {
            let h = Hash32::of(s);
            if index
                .find(h.spread(), |&(x, xh)| xh == h && strings[x as usize] == *s)
                .is_none()
            {
                index.insert_unique(h.spread(), (sym as Sym, h), |&(_, xh)| xh.spread());
            }
        }
        Ok(Interner { strings, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_round_trips() {
        let mut i = Interner::default();
        let a = i.intern("a");
        let b = i.intern("b");
        assert_eq!(i.intern("a"), a);
        assert_ne!(a, b);
        let j: Interner = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(j.get("b"), Some(b));
        assert_eq!(j.resolve(a), "a");
    }

    /// The index grows from the stored 32-bit hashes alone: every string is still found
    /// after many growths, and a restored interner finds them too.
    #[test]
    fn finds_every_string_across_growths() {
        let mut i = Interner::default();
        let syms: Vec<Sym> = (0..100_000).map(|n| i.intern(&format!("host-{n}"))).collect();
        for (n, &sym) in syms.iter().enumerate() {
            assert_eq!(i.intern(&format!("host-{n}")), sym);
            assert_eq!(i.resolve(sym), format!("host-{n}"));
        }
        let j: Interner = serde_json::from_str(&serde_json::to_string(&i).unwrap()).unwrap();
        assert_eq!(j.get("host-99999"), Some(syms[99_999]));
        assert_eq!(j.get("host-100000"), None);
    }
}
