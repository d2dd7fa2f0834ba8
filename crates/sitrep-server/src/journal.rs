//! The append-only journal. A record is `u32` little-endian length, then that many bytes
//! (one input: see `records::encode`). Appends go to a writer thread that batches
//! everything queued, writes it, calls `fsync` once and then acknowledges every append of
//! the batch: group commit, so a burst of requests pays one fsync, not one each.

use crate::error::ServerError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use tokio::sync::oneshot;

type Ack = oneshot::Sender<Result<(), WriteError>>;

/// A journal write, fsync or rotation that failed: every input waiting on it is refused
/// (never acknowledged). Shared by all the acks of one group commit, hence the `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{what} {path}: {source}")]
pub struct WriteError {
    what: &'static str,
    path: String,
    source: std::sync::Arc<std::io::Error>,
}

impl WriteError {
    fn new(what: &'static str, path: &Path, e: std::io::Error) -> WriteError {
        WriteError {
            what,
            path: path.display().to_string(),
            source: std::sync::Arc::new(e),
        }
    }

    /// The writer thread is gone (the server is stopping).
    pub fn stopped() -> WriteError {
        WriteError::new(
            "journal writer stopped",
            Path::new(""),
            std::io::Error::other("channel closed"),
        )
    }
}

enum Msg {
    Append(Vec<Vec<u8>>, Ack),
    /// Switch appends to a new file. The old one is deleted by the snapshotter once the
    /// snapshot that covers it is durable.
    Rotate(PathBuf, Ack),
}

/// A handle to the journal's writer thread.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Msg>,
    /// Records queued and not yet written (the queue depth metric).
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn err(path: &Path, e: std::io::Error) -> ServerError {
    ServerError::Journal {
        path: path.display().to_string(),
        source: e,
    }
}

/// Reads every whole record; a torn tail (a crash mid-write) is cut off the file.
pub fn read_all(path: &Path) -> Result<Vec<Vec<u8>>, ServerError> {
    let mut records = Vec::new();
    let Ok(mut f) = OpenOptions::new().read(true).write(true).open(path) else {
        return Ok(records);
    };
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(|e| err(path, e))?;
    let mut at = 0usize;
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        if at + 4 + len > data.len() {
            break;
        }
        records.push(data[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    if at < data.len() {
        f.set_len(at as u64).map_err(|e| err(path, e))?;
        f.sync_all().map_err(|e| err(path, e))?;
    }
    Ok(records)
}

fn sync_dir(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => File::open(d)?.sync_all(),
        _ => Ok(()),
    }
}

impl Journal {
    /// Opens (or creates) the journal for appending, with its writer thread.
    pub fn open(path: PathBuf, fsync: bool) -> Result<Journal, ServerError> {
        let mut file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| err(&path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| err(&path, e))?;
        let (tx, rx) = mpsc::channel::<Msg>();
        let queued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let written = queued.clone();
        std::thread::spawn(move || {
            let mut path = path;
            let mut buf = Vec::new();
            let mut pending: Option<Msg> = None;
            loop {
                let first = match pending.take() {
                    Some(m) => m,
                    None => match rx.recv() {
                        Ok(m) => m,
                        Err(_) => return,
                    },
                };
                let mut batch = Vec::new();
                match first {
                    Msg::Append(r, a) => batch.push((r, a)),
                    Msg::Rotate(next, ack) => {
                        let res = File::create(&next)
                            .map(|f| drop(std::mem::replace(&mut file, f)))
                            .and_then(|_| sync_dir(&next))
                            .map_err(|e| WriteError::new("journal rotation to", &next, e));
                        path = next;
                        let _ = ack.send(res);
                        continue;
                    }
                }
                // group commit: everything queued meanwhile shares this write and fsync
                while let Ok(m) = rx.try_recv() {
                    match m {
                        Msg::Append(r, a) => batch.push((r, a)),
                        rotate => {
                            pending = Some(rotate);
                            break;
                        }
                    }
                }
                buf.clear();
                for (records, _) in &batch {
                    for r in records {
                        buf.extend_from_slice(&(r.len() as u32).to_le_bytes());
                        buf.extend_from_slice(r);
                    }
                }
                let started = std::time::Instant::now();
                let res = file
                    .write_all(&buf)
                    .and_then(|_| if fsync { file.sync_data() } else { Ok(()) })
                    .map_err(|e| WriteError::new("journal", &path, e));
                metrics::histogram!("sitrep_journal_fsync_seconds").record(started.elapsed().as_secs_f64());
                metrics::histogram!("sitrep_journal_batch_records")
                    .record(batch.iter().map(|(r, _)| r.len()).sum::<usize>() as f64);
                let n: usize = batch.iter().map(|(r, _)| r.len()).sum();
                written.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
                for (_, ack) in batch {
                    let _ = ack.send(res.clone());
                }
            }
        });
        Ok(Journal { tx, queued })
    }

    /// Queues records; the receiver resolves once they are durable. Queue order is journal
    /// order.
    pub fn append(&self, records: Vec<Vec<u8>>) -> oneshot::Receiver<Result<(), WriteError>> {
        let (ack, rx) = oneshot::channel();
        self.queued
            .fetch_add(records.len(), std::sync::atomic::Ordering::Relaxed);
        let _ = self.tx.send(Msg::Append(records, ack));
        rx
    }

    pub fn queued(&self) -> usize {
        self.queued.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// After everything queued so far is written, continues in `next`.
    pub fn rotate(&self, next: PathBuf) -> oneshot::Receiver<Result<(), WriteError>> {
        let (ack, rx) = oneshot::channel();
        let _ = self.tx.send(Msg::Rotate(next, ack));
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_are_read_back_and_a_torn_tail_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        let j = Journal::open(p.clone(), true).unwrap();
        let waits: Vec<_> = (0..20)
            .map(|i| j.append(vec![format!("r{i}").into_bytes()]))
            .collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
        drop(j);
        // a crash mid-write leaves half a record
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[9, 0, 0, 0, b'x']).unwrap();
        drop(f);
        let recs = read_all(&p).unwrap();
        assert_eq!(recs.len(), 20);
        assert_eq!(recs[19], b"r19");
        let len = std::fs::metadata(&p).unwrap().len();
        assert_eq!(read_all(&p).unwrap().len(), 20);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len, "the cut is stable");
    }
}
