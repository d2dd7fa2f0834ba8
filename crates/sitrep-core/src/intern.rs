//! A string interner: sources, checks, services and label strings repeat across many
//! alerts, so each alert holds 4-byte symbols instead of its own copies (the ≤ 512 bytes per
//! active alert budget). Symbols are never freed; the table grows with distinct values, not
//! with events.

use hashbrown::HashTable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::BuildHasher;

pub type Sym = u32;

#[derive(Default, Clone)]
pub struct Interner {
    strings: Vec<Box<str>>,
    index: HashTable<Sym>,
    hasher: rustc_hash::FxBuildHasher,
}

impl Interner {
    pub fn intern(&mut self, s: &str) -> Sym {
        let h = self.hasher.hash_one(s);
        let strings = &self.strings;
        if let Some(&sym) = self.index.find(h, |&x| &*strings[x as usize] == s) {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        self.strings.push(s.into());
        let strings = &self.strings;
        let hasher = &self.hasher;
        self.index
            .insert_unique(h, sym, |&x| hasher.hash_one(&*strings[x as usize]));
        sym
    }

    #[cfg(test)]
    pub fn get(&self, s: &str) -> Option<Sym> {
        let h = self.hasher.hash_one(s);
        self.index.find(h, |&x| &*self.strings[x as usize] == s).copied()
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
        let hasher = rustc_hash::FxBuildHasher;
        let mut index: HashTable<Sym> = HashTable::with_capacity(strings.len());
        for (sym, s) in strings.iter().enumerate() {
            let h = hasher.hash_one(&**s);
            if index.find(h, |&x| strings[x as usize] == *s).is_none() {
                index.insert_unique(h, sym as Sym, |&x| hasher.hash_one(&*strings[x as usize]));
            }
        }
        Ok(Interner {
            strings,
            index,
            hasher,
        })
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
}
