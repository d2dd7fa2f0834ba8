//! sitrep-publish: where updates go. Sinks take the engine's updates and the dead letters,
//! and make them durable on `commit`.
//!
//! - [`Sink`]: the trait (write, commit).
//! - [`JsonlDirSink`]: `updates.jsonl` and `dead_letters.jsonl` in a folder, plus the final
//!   state files `alerts.jsonl` and `incidents.jsonl` written by [`JsonlDirSink::finish`].
//! - [`BackgroundSink`]: runs another sink on its own thread, so that serialising and
//!   writing overlap with the engine; `commit` waits until everything before it is durable.
//!
//! Every host writes its output through [`Sink`]: replay to [`JsonlDirSink`] (behind a
//! [`BackgroundSink`]), the server to its live feed (`sitrep_server::live::LiveFeed`:
//! metrics, the UI's event stream, webhooks, the dead-letter file) and the Kafka worker to
//! its compacted tables (`sitrep_kafka::tables::TableSink`, inside its transactions). What
//! `commit` promises differs, and each host's durability rule hangs on it: see the trait.

use sitrep_core::update::{AlertView, IncidentView};
use sitrep_core::{DeadLetter, Update};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{sink} cannot take {what}")]
    Unsupported { sink: &'static str, what: &'static str },
    /// A sink's own error, kept whole so that its host can tell fatal from retriable.
    #[error("{sink}: {source}")]
    Failed {
        sink: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A destination for updates and dead letters. Nothing written is durable until `commit`
/// returns; an input may be acknowledged only after the commit that covers its output.
///
/// - [`JsonlDirSink`]: `commit` flushes the files (replay acknowledges nothing: its input
///   is a file it can read again).
/// - the server's live feed: `commit` has nothing to wait for. The server's inputs are
///   acknowledged once journalled, before the engine sees them; what the feed sends is
///   derived, and rebuilt from the journal after a crash.
/// - the Kafka tables: records join the stage's open transaction; `commit` waits until the
///   brokers hold every one, and the stage's transaction commit (with the input offsets)
///   makes them visible — the exactly-once point.
pub trait Sink {
    fn write_updates(&mut self, updates: &mut dyn Iterator<Item = Update>) -> Result<(), PublishError>;
    /// Updates already serialised as JSON lines (the engine's JSON output mode, which only
    /// replay uses); sinks that need owned updates refuse them.
    fn write_update_lines(&mut self, lines: &[u8]) -> Result<(), PublishError> {
        let _ = lines;
        Err(PublishError::Unsupported {
            sink: std::any::type_name::<Self>(),
            what: "JSON lines",
        })
    }
    fn write_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), PublishError>;
    fn commit(&mut self) -> Result<(), PublishError>;
}

pub struct JsonlDirSink {
    dir: PathBuf,
    updates: BufWriter<File>,
    dead: BufWriter<File>,
    pub updates_written: u64,
    pub dead_letters_written: u64,
}

fn create(path: &Path) -> Result<BufWriter<File>, PublishError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|e| PublishError::Io {
            path: path.display().to_string(),
            source: e,
        })
}

impl JsonlDirSink {
    pub fn create(dir: &Path) -> Result<JsonlDirSink, PublishError> {
        std::fs::create_dir_all(dir).map_err(|e| PublishError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        Ok(JsonlDirSink {
            updates: create(&dir.join("updates.jsonl"))?,
            dead: create(&dir.join("dead_letters.jsonl"))?,
            dir: dir.to_path_buf(),
            updates_written: 0,
            dead_letters_written: 0,
        })
    }

    fn io(&self, file: &str) -> impl Fn(std::io::Error) -> PublishError + '_ {
        let path = self.dir.join(file).display().to_string();
        move |e| PublishError::Io {
            path: path.clone(),
            source: e,
        }
    }

    /// Writes the final state files (alerts and incidents, in parallel) and flushes
    /// everything.
    pub fn finish(
        mut self,
        write_alerts: impl FnOnce(&mut dyn Write) -> std::io::Result<()> + Send,
        incidents: &[IncidentView],
    ) -> Result<(), PublishError> {
        self.commit()?;
        let alerts_path = self.dir.join("alerts.jsonl");
        let mut alerts_file = create(&alerts_path)?;
        let mut inc_file = create(&self.dir.join("incidents.jsonl"))?;
        let (a, b) = std::thread::scope(|s| {
            let t = s.spawn(move || write_alerts(&mut alerts_file).and_then(|_| alerts_file.flush()));
            let b = (|| {
                for i in incidents {
                    serde_json::to_writer(&mut inc_file, i)?;
                    inc_file.write_all(b"\n")?;
                }
                inc_file.flush()
            })();
            (
                t.join()
                    .unwrap_or_else(|_| Err(std::io::Error::other("alert writer panicked"))),
                b,
            )
        });
        a.map_err(self.io("alerts.jsonl"))?;
        b.map_err(self.io("incidents.jsonl"))
    }

    /// The same from owned views (for callers that hold them).
    pub fn finish_views(self, alerts: &[AlertView], incidents: &[IncidentView]) -> Result<(), PublishError> {
        self.finish(
            |w| {
                for a in alerts {
                    serde_json::to_writer(&mut *w, a)?;
                    w.write_all(b"\n")?;
                }
                Ok(())
            },
            incidents,
        )
    }
}

impl Sink for JsonlDirSink {
    fn write_updates(&mut self, updates: &mut dyn Iterator<Item = Update>) -> Result<(), PublishError> {
        for u in updates {
            serde_json::to_writer(&mut self.updates, &u).map_err(|e| PublishError::Io {
                path: "updates.jsonl".into(),
                source: e.into(),
            })?;
            self.updates.write_all(b"\n").map_err(self.io("updates.jsonl"))?;
            self.updates_written += 1;
        }
        Ok(())
    }

    fn write_update_lines(&mut self, lines: &[u8]) -> Result<(), PublishError> {
        self.updates_written += memchr::memchr_iter(b'\n', lines).count() as u64;
        self.updates.write_all(lines).map_err(self.io("updates.jsonl"))
    }

    fn write_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), PublishError> {
        for d in letters {
            serde_json::to_writer(&mut self.dead, d).map_err(|e| PublishError::Io {
                path: "dead_letters.jsonl".into(),
                source: e.into(),
            })?;
            self.dead
                .write_all(b"\n")
                .map_err(self.io("dead_letters.jsonl"))?;
            self.dead_letters_written += 1;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), PublishError> {
        self.updates.flush().map_err(self.io("updates.jsonl"))?;
        self.dead.flush().map_err(self.io("dead_letters.jsonl"))
    }
}

enum Message {
    Updates(Vec<Update>),
    Lines(Vec<u8>),
    /// Encoded updates, rendered to JSON lines on the writer thread.
    Encoded(Vec<u8>),
    DeadLetters(Vec<DeadLetter>),
    Commit(std::sync::mpsc::SyncSender<Result<(), PublishError>>),
}

/// A sink on a thread of its own. The channel is bounded: a slow disk slows the engine
/// instead of buffering without limit.
pub struct BackgroundSink<S: Sink + Send + 'static> {
    tx: Option<std::sync::mpsc::SyncSender<Message>>,
    /// Written buffers come back here to be reused: a buffer freed on the writer thread
    /// would otherwise make the producer fault in fresh pages for the next one.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: Option<std::thread::JoinHandle<Result<S, PublishError>>>,
}

impl<S: Sink + Send + 'static> BackgroundSink<S> {
    pub fn spawn(mut sink: S, queue: usize) -> BackgroundSink<S> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(queue.max(1));
        let (spare_tx, spare) = std::sync::mpsc::sync_channel::<Vec<u8>>(queue.max(1) + 1);
        let thread = std::thread::spawn(move || {
            let mut failed: Option<PublishError> = None;
            let mut rendered = Vec::new();
            for msg in rx {
                let r = match msg {
                    Message::Updates(u) if failed.is_none() => sink.write_updates(&mut u.into_iter()),
                    Message::Lines(buf) if failed.is_none() => {
                        let r = sink.write_update_lines(&buf);
                        let _ = spare_tx.try_send(buf);
                        r
                    }
                    Message::Encoded(buf) if failed.is_none() => {
                        rendered.clear();
                        sitrep_core::emit::render_json_lines(&buf, &mut rendered);
                        let _ = spare_tx.try_send(buf);
                        sink.write_update_lines(&rendered)
                    }
                    Message::DeadLetters(d) if failed.is_none() => sink.write_dead_letters(&d),
                    Message::Commit(reply) => {
                        let r = match failed.take() {
                            Some(e) => Err(e),
                            None => sink.commit(),
                        };
                        let _ = reply.send(r);
                        Ok(())
                    }
                    _ => Ok(()),
                };
                if let Err(e) = r {
                    failed = Some(e);
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(sink),
            }
        });
        BackgroundSink {
            tx: Some(tx),
            spare,
            thread: Some(thread),
        }
    }

    /// Hands a buffer of JSON lines to the writer (no copy); get the next with
    /// [`BackgroundSink::buffer`].
    pub fn send_lines(&mut self, lines: Vec<u8>) -> Result<(), PublishError> {
        if lines.is_empty() {
            return Ok(());
        }
        self.send(Message::Lines(lines))
    }

    /// Hands a buffer of encoded updates (`Engine::take_encoded_updates`) to the writer,
    /// which renders them as JSON lines there: the engine's thread does not wait for the
    /// rendering.
    pub fn send_encoded(&mut self, encoded: Vec<u8>) -> Result<(), PublishError> {
        if encoded.is_empty() {
            return Ok(());
        }
        self.send(Message::Encoded(encoded))
    }

    /// An empty buffer for the next batch of lines, reused when one has come back.
    pub fn buffer(&self) -> Vec<u8> {
        let mut b = self.spare.try_recv().unwrap_or_default();
        b.clear();
        b
    }

    fn send(&self, m: Message) -> Result<(), PublishError> {
        self.tx
            .as_ref()
            .expect("open")
            .send(m)
            .map_err(|_| PublishError::Io {
                path: "background sink".into(),
                source: std::io::Error::other("writer thread stopped"),
            })
    }

    /// Stops the thread and returns the inner sink (after a final commit).
    pub fn finish(mut self) -> Result<S, PublishError> {
        self.commit()?;
        drop(self.tx.take());
        self.thread
            .take()
            .expect("running")
            .join()
            .map_err(|_| PublishError::Io {
                path: "background sink".into(),
                source: std::io::Error::other("writer thread panicked"),
            })?
    }
}

impl<S: Sink + Send + 'static> Sink for BackgroundSink<S> {
    fn write_updates(&mut self, updates: &mut dyn Iterator<Item = Update>) -> Result<(), PublishError> {
        let batch: Vec<Update> = updates.collect();
        if batch.is_empty() {
            return Ok(());
        }
        self.send(Message::Updates(batch))
    }

    fn write_update_lines(&mut self, lines: &[u8]) -> Result<(), PublishError> {
        let mut b = self.buffer();
        b.extend_from_slice(lines);
        self.send_lines(b)
    }

    fn write_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), PublishError> {
        if letters.is_empty() {
            return Ok(());
        }
        self.send(Message::DeadLetters(letters.to_vec()))
    }

    fn commit(&mut self) -> Result<(), PublishError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.send(Message::Commit(tx))?;
        rx.recv().unwrap_or_else(|_| {
            Err(PublishError::Io {
                path: "background sink".into(),
                source: std::io::Error::other("writer thread stopped"),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitrep_core::Rejection;

    #[test]
    fn writes_dead_letters_and_final_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = JsonlDirSink::create(dir.path()).unwrap();
        s.write_dead_letters(&[DeadLetter::new("t", 3, &Rejection::Empty, b"", 10)])
            .unwrap();
        s.write_updates(&mut std::iter::empty()).unwrap();
        s.finish_views(&[], &[]).unwrap();
        let dl = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        let v: serde_json::Value = serde_json::from_str(dl.trim()).unwrap();
        assert_eq!(v["position"], 3);
        assert_eq!(v["code"], "empty");
        assert!(dir.path().join("alerts.jsonl").exists() && dir.path().join("incidents.jsonl").exists());
    }

    #[test]
    fn background_sink_writes_in_order_and_commits() {
        let dir = tempfile::tempdir().unwrap();
        let mut bg = BackgroundSink::spawn(JsonlDirSink::create(dir.path()).unwrap(), 2);
        for i in 0..100u64 {
            let d = DeadLetter::new("t", i, &Rejection::Empty, b"x", 10);
            bg.write_dead_letters(&[d]).unwrap();
        }
        bg.commit().unwrap();
        let text = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        let positions: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["position"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(positions, (0..100).collect::<Vec<_>>());
        let inner = bg.finish().unwrap();
        assert_eq!(inner.dead_letters_written, 100);
    }

    #[test]
    fn lines_are_written_in_order_and_buffers_come_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut bg = BackgroundSink::spawn(JsonlDirSink::create(dir.path()).unwrap(), 2);
        for i in 0..50 {
            let mut b = bg.buffer();
            assert!(b.is_empty());
            b.extend_from_slice(format!("{{\"n\":{i}}}\n").as_bytes());
            bg.send_lines(b).unwrap();
        }
        bg.commit().unwrap();
        assert!(bg.buffer().capacity() > 0, "a written buffer was handed back");
        let inner = bg.finish().unwrap();
        assert_eq!(inner.updates_written, 50);
        let text = std::fs::read_to_string(dir.path().join("updates.jsonl")).unwrap();
        let ns: Vec<u64> = text
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(ns, (0..50).collect::<Vec<_>>());
    }
}
