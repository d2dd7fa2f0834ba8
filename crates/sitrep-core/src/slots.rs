//! slots: the alert slot array, held in fixed-size chunks shared copy-on-write.
//!
//! A snapshot has to see the state at one instant while the engine goes on. Copying a
//! million alerts for it (≈ 120 ms) paused ingest for as long in the embedded server;
//! copying a vector of 1,000 chunk pointers takes microseconds. A chunk still shared with
//! a snapshot being encoded is copied the first time the engine writes into it (at most
//! once per chunk and snapshot), so the cost moves off the pause and only falls on the
//! chunks that actually change meanwhile. Per alert it costs nothing measurable (one
//! reference count per 1,024 slots, and no growth slack: chunks are allocated whole).
//!
//! Written by hand rather than taken from a persistent-collection crate (`im`, `rpds`):
//! those trees cost a pointer hop per level and a node header per few entries on every
//! lookup, where the hot path here is one shift, one mask and one pointer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::Arc;

const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// A growable array of optional values (`Vec<Option<T>>` in behaviour and in its serde
/// form) whose clone shares the chunks until one side writes.
#[derive(Debug)]
pub(crate) struct Slots<T> {
    chunks: Vec<Arc<Vec<Option<T>>>>,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

/// Cheap: the chunks are shared, not copied.
impl<T> Clone for Slots<T> {
    fn clone(&self) -> Self {
        Slots {
            chunks: self.chunks.clone(),
            len: self.len,
        }
    }
}

impl<T: Clone> Slots<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, i: usize) -> Option<&Option<T>> {
        (i < self.len).then(|| &self.chunks[i >> CHUNK_BITS][i & MASK])
    }

    /// The slot for writing; copies its chunk first when a snapshot still shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut Option<T>> {
        if i >= self.len {
            return None;
        }
        Some(&mut Arc::make_mut(&mut self.chunks[i >> CHUNK_BITS])[i & MASK])
    }

    pub fn push(&mut self, v: Option<T>) {
        if self.len & MASK == 0 {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let last = self.chunks.last_mut().expect("a chunk with room");
        Arc::make_mut(last).push(v);
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &Option<T>> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    #[cfg(test)]
    pub fn from_vec(v: Vec<Option<T>>) -> Slots<T> {
        let len = v.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut it = v.into_iter();
        loop {
            let mut c = Vec::with_capacity(CHUNK);
            c.extend(it.by_ref().take(CHUNK));
            if c.is_empty() {
                break;
            }
            chunks.push(Arc::new(c));
        }
        Slots { chunks, len }
    }
}

impl<T: Clone> std::ops::Index<usize> for Slots<T> {
    type Output = Option<T>;
    fn index(&self, i: usize) -> &Option<T> {
        self.get(i).expect("slot in range")
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Slots<T> {
    fn index_mut(&mut self, i: usize) -> &mut Option<T> {
        self.get_mut(i).expect("slot in range")
    }
}

/// The same JSON as the `Vec<Option<T>>` it replaced: snapshots read alike either way.
impl<T: Serialize + Clone> Serialize for Slots<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // the length up front: binary encodings write it before the elements
        let mut seq = s.serialize_seq(Some(self.len))?;
        for v in self.iter() {
            seq.serialize_element(v)?;
        }
        seq.end()
    }
}

/// Read straight into chunks: through a `Vec` first, a million alerts cost a 216 MB
/// vector grown by doubling (each growth a copy and fresh pages) and then one more copy.
impl<'de, T: Deserialize<'de> + Clone> Deserialize<'de> for Slots<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Chunks<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Clone> serde::de::Visitor<'de> for Chunks<T> {
            type Value = Slots<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence of optional values")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Slots<T>, A::Error> {
                let mut slots = Slots::default();
                if let Some(n) = seq.size_hint() {
                    slots.chunks.reserve(n.div_ceil(CHUNK));
                }
                while let Some(v) = seq.next_element::<Option<T>>()? {
                    slots.push(v);
                }
                Ok(slots)
            }
        }
        d.deserialize_seq(Chunks(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_vector_across_chunk_boundaries() {
        let mut s = Slots::default();
        let mut v = Vec::new();
        for i in 0..3 * CHUNK + 5 {
            let x = (i % 3 != 0).then_some(i);
            s.push(x);
            v.push(x);
        }
        assert_eq!(s.len(), v.len());
        assert!(s.iter().eq(v.iter()));
        assert_eq!(s.get(CHUNK), Some(&v[CHUNK]));
        assert_eq!(s.get(v.len()), None);
        *s.get_mut(CHUNK + 1).unwrap() = None;
        v[CHUNK + 1] = None;
        assert!(s.iter().eq(v.iter()));
        let round: Slots<usize> = Slots::from_vec(v.clone());
        assert!(round.iter().eq(v.iter()));
        let read: Slots<usize> = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert!(read.iter().eq(v.iter()));
        assert_eq!(read.chunks.len(), 4);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
    }

    #[test]
    fn a_clone_keeps_its_instant_while_the_original_changes() {
        let mut s = Slots::default();
        for i in 0..2 * CHUNK {
            s.push(Some(i));
        }
        let view = s.clone();
        assert!(Arc::ptr_eq(&view.chunks[0], &s.chunks[0]), "shared, not copied");
        s[3] = Some(999_999);
        s.push(Some(7));
        assert_eq!(view[3], Some(3));
        assert_eq!(view.len(), 2 * CHUNK);
        assert_eq!(s[3], Some(999_999));
        // only the chunk written was copied
        assert!(!Arc::ptr_eq(&view.chunks[0], &s.chunks[0]));
        assert!(Arc::ptr_eq(&view.chunks[1], &s.chunks[1]));
    }
}
