//! Decoding chunks of raw records into events, on worker threads, in input order.

use crate::source::{Chunk, Position, Source};
use crate::IngestError;
use sitrep_core::time::Millis;
use sitrep_core::{DeadLetter, Event, InputFormat, Normaliser};
use std::collections::BTreeMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The events and dead letters of one chunk, in record order.
#[derive(Debug, Default)]
pub struct DecodedChunk {
    pub index: u64,
    pub events: Vec<Event>,
    pub dead_letters: Vec<DeadLetter>,
    pub records: u64,
    pub bytes: u64,
    /// The source position once this chunk is processed.
    pub position: Position,
    /// The decoder thread that made it (where [`ParallelDecoder::recycle`] sends it back).
    pub worker: usize,
}

/// Decodes every record of a chunk. `reference_time` dates year-less syslog stamps.
pub fn decode_chunk(
    n: &Normaliser,
    format: &InputFormat,
    input: &str,
    chunk: &Chunk,
    reference_time: Millis,
) -> DecodedChunk {
    decode_chunk_into(n, format, input, chunk, reference_time, Vec::new())
}

/// [`decode_chunk`] into `events`, an empty vector whose capacity is reused.
fn decode_chunk_into(
    n: &Normaliser,
    format: &InputFormat,
    input: &str,
    chunk: &Chunk,
    reference_time: Millis,
    events: Vec<Event>,
) -> DecodedChunk {
    debug_assert!(events.is_empty());
    let mut out = DecodedChunk {
        index: chunk.index,
        bytes: chunk.data.len() as u64,
        events,
        ..Default::default()
    };
    let mut results = Vec::with_capacity(4);
    let limit = n.limits().dead_letter_raw_bytes;
    for (no, raw) in chunk.records() {
        out.records += 1;
        results.clear();
        n.normalise(format, raw, reference_time, &mut results);
        for r in results.drain(..) {
            match r {
                Ok(e) => out.events.push(e),
                Err(rej) => out
                    .dead_letters
                    .push(DeadLetter::new(input, no + 1, &rej, raw, limit)),
            }
        }
    }
    out
}

/// Consumed chunks each decoder thread holds to free (beyond: the consumer frees them).
const RECYCLED_PER_WORKER: usize = 8;

/// Reads a source on one thread, decodes its chunks on `workers` threads, and returns them
/// in input order through [`ParallelDecoder::next`]. Channels are bounded, so a slow
/// consumer slows the reader instead of growing memory.
pub struct ParallelDecoder {
    rx: Receiver<Result<DecodedChunk, IngestError>>,
    /// Per decoder thread: consumed chunks going back to be freed there.
    recyclers: Vec<SyncSender<DecodedChunk>>,
    reorder: BTreeMap<u64, DecodedChunk>,
    next: u64,
    threads: Vec<JoinHandle<()>>,
    done: bool,
}

impl ParallelDecoder {
    pub fn spawn(
        mut source: Box<dyn Source>,
        normaliser: Normaliser,
        format: InputFormat,
        workers: usize,
        reference_time: Millis,
    ) -> ParallelDecoder {
        let workers = workers.max(1);
        let (chunk_tx, chunk_rx) = sync_channel::<(Chunk, Position)>(workers * 2);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let (out_tx, out_rx) = sync_channel(workers * 4);
        let name = source.name().to_string();
        let mut threads = Vec::new();
        let reader_tx = out_tx.clone();
        // decoded chunks' buffers go back to the reader to be read into again
        let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(workers * 2 + 2);
        threads.push(std::thread::spawn(move || loop {
            while let Ok(buf) = recycle_rx.try_recv() {
                source.recycle(buf);
            }
            match source.poll() {
                Ok(Some(c)) => {
                    let pos = source.checkpoint();
                    if chunk_tx.send((c, pos)).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    let _ = reader_tx.send(Err(e));
                    return;
                }
            }
        }));
        let mut recyclers = Vec::with_capacity(workers);
        for worker in 0..workers {
            // a consumed chunk comes back to the thread that allocated its events: freeing
            // them there keeps that work (and mimalloc's cross-thread frees) off the consumer,
            // the engine, which is the pipeline's slowest stage; its event vector is reused
            let (back_tx, back_rx) = sync_channel::<DecodedChunk>(RECYCLED_PER_WORKER);
            recyclers.push(back_tx);
            let rx = chunk_rx.clone();
            let tx = out_tx.clone();
            let n = normaliser.clone();
            let f = format.clone();
            let name = name.clone();
            let recycle = recycle_tx.clone();
            let mut spare: Vec<Event> = Vec::new();
            threads.push(std::thread::spawn(move || loop {
                while let Ok(old) = back_rx.try_recv() {
                    let mut events = old.events;
                    events.clear();
                    if events.capacity() > spare.capacity() {
                        spare = events;
                    }
                }
                let msg = rx.lock().expect("decoder queue").recv();
                let Ok((chunk, pos)) = msg else { return };
                let mut d =
                    decode_chunk_into(&n, &f, &name, &chunk, reference_time, std::mem::take(&mut spare));
                d.position = pos;
                d.worker = worker;
                let _ = recycle.try_send(chunk.data);
                if tx.send(Ok(d)).is_err() {
                    return;
                }
            }));
        }
        drop(out_tx);
        drop(recycle_tx);
        ParallelDecoder {
            rx: out_rx,
            recyclers,
            reorder: BTreeMap::new(),
            next: 0,
            threads,
            done: false,
        }
    }

    /// Hands a consumed chunk back to the decoder thread that made it, to be freed there and
    /// its event vector reused. Never blocks: when that thread's queue is full (or it has
    /// ended) the chunk is dropped here.
    pub fn recycle(&self, chunk: DecodedChunk) {
        if let Some(tx) = self.recyclers.get(chunk.worker) {
            let _ = tx.try_send(chunk);
        }
    }

    /// The next chunk in input order, `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<DecodedChunk>, IngestError> {
        loop {
            if let Some(c) = self.reorder.remove(&self.next) {
                self.next += 1;
                return Ok(Some(c));
            }
            if self.done {
                return Ok(None);
            }
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.reorder.insert(c.index, c);
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    self.done = true;
                    // the reader is the first thread, the decoders the rest
                    for (i, t) in self.threads.drain(..).enumerate() {
                        if t.join().is_err() {
                            return Err(IngestError::ThreadDied(if i == 0 { "reader" } else { "decoder" }));
                        }
                    }
                    if !self.reorder.is_empty() {
                        return Err(IngestError::ThreadDied("decoder"));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileSource;
    use sitrep_core::Config;

    /// Two chunks, then a panic: the end of input must not look like a clean end.
    struct PanickingSource(u64);

    impl Source for PanickingSource {
        fn name(&self) -> &str {
            "panicking"
        }
        fn poll(&mut self) -> Result<Option<Chunk>, IngestError> {
            self.0 += 1;
            if self.0 > 2 {
                panic!("a reader bug");
            }
            Ok(Some(Chunk {
                index: self.0 - 1,
                data: b"{\"source\":\"h\",\"check\":\"c\"}\n".to_vec(),
                first_record: self.0 - 1,
                offset: 0,
            }))
        }
        fn checkpoint(&self) -> Position {
            Position::default()
        }
    }

    #[test]
    fn a_dead_thread_is_an_error_not_an_early_end() {
        let n = Normaliser::new(&Config::default()).unwrap();
        let mut d = ParallelDecoder::spawn(Box::new(PanickingSource(0)), n, InputFormat::Native, 2, 0);
        let mut chunks = 0;
        let end = loop {
            match d.next_chunk() {
                Ok(Some(_)) => chunks += 1,
                other => break other,
            }
        };
        assert_eq!(chunks, 2);
        assert!(matches!(end, Err(IngestError::ThreadDied("reader"))), "{end:?}");
    }

    #[test]
    fn parallel_decoding_keeps_order_and_reports_bad_lines() {
        let mut text = String::new();
        for i in 0..5000 {
            if i % 1000 == 7 {
                text.push_str("not json\n");
            } else {
                text.push_str(&format!(
                    "{{\"source\":\"h{i}\",\"check\":\"c\",\"severity\":\"major\"}}\n"
                ));
            }
        }
        let n = Normaliser::new(&Config::default()).unwrap();
        for workers in [1, 3] {
            let src = FileSource::from_reader(
                "mem".into(),
                Box::new(std::io::Cursor::new(text.clone().into_bytes())),
                None,
                4096,
            );
            let mut d = ParallelDecoder::spawn(Box::new(src), n.clone(), InputFormat::Native, workers, 0);
            let mut sources = Vec::new();
            let mut dead = Vec::new();
            let mut last_pos = Position::default();
            while let Some(mut c) = d.next_chunk().unwrap() {
                sources.extend(c.events.iter().map(|e| e.source.to_string()));
                dead.extend(std::mem::take(&mut c.dead_letters));
                assert!(c.position.offset > last_pos.offset);
                last_pos = c.position;
                // its vector is decoded into again: the order and count checks below fail
                // if an old event stayed in it
                d.recycle(c);
            }
            assert_eq!(sources.len(), 4995);
            assert_eq!(sources[0], "h0");
            assert_eq!(sources[4994], "h4999");
            assert!(sources
                .windows(2)
                .all(|w| w[0][1..].parse::<u32>().unwrap() < w[1][1..].parse::<u32>().unwrap()));
            assert_eq!(dead.len(), 5);
            assert_eq!(dead[0].position, 8, "1-based line number");
            assert_eq!(dead[0].code, "not_json");
            assert_eq!(dead[0].raw, "not json");
            assert_eq!(last_pos.offset, text.len() as u64);
        }
    }
}
