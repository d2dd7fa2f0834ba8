//! The append-only journal. A file starts with the magic `SITREPJ2`; a record is a `u32`
//! little-endian length, the CRC-32C of the payload (`u32` LE), then the payload (one
//! input: see `records::encode`). Files from before the checksum (no magic; length and
//! payload only) are still read. Appends go to a writer thread that batches everything
//! queued, writes it, calls `fsync` once and then acknowledges every append of the batch:
//! group commit, so a burst of requests pays one fsync, not one each.
//!
//! **Damage is reported, never papered over.** A record whose checksum fails, or whose
//! length runs past the file, is damage: the reader skips to the next offset where a whole
//! record checks out and goes on from there, so one bad record costs that record, not the
//! rest of the file. Every damaged stretch is copied to `damaged-journal-G-OFFSET` beside
//! the journal, logged, counted and returned to the caller. Unreadable bytes at the very
//! end (a crash mid-write: never acknowledged) are cut off the file, after the same copy.

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

/// First bytes of every journal file with checksummed records.
pub const MAGIC: &[u8; 8] = b"SITREPJ2";
/// No record is larger (a request body is at most `server.max_body_bytes`): a length over
/// this is damage, not a record.
const MAX_RECORD: usize = 1 << 30;

/// One stretch of a journal file that did not read as records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub journal: PathBuf,
    /// Byte offset and length of the stretch.
    pub offset: u64,
    pub bytes: u64,
    /// At the end of the file (cut off it) rather than between good records.
    pub tail: bool,
    /// Where the damaged bytes were copied.
    pub kept_in: PathBuf,
}

/// What a journal file held: its whole records, in order, and any damage.
#[derive(Debug, Default)]
pub struct JournalFile {
    pub records: Vec<Vec<u8>>,
    pub damage: Vec<Damage>,
}

/// The record at `at`, if a whole one with a good checksum starts there: (payload range,
/// next offset).
fn record_at(data: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let head = data.get(at..at + 8)?;
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    // every record holds at least its tag byte: eight zero bytes (a zero-filled block after
    // a crash) would otherwise pass, since the CRC of nothing is 0
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let body = at + 8..at + 8 + len;
    let payload = data.get(body.clone())?;
    (crc32c::crc32c(payload) == crc).then_some((body, at + 8 + len))
}

/// Reads every whole record of a journal file, skipping and reporting damage (see the
/// module docs). A file that does not exist holds nothing; one that cannot be opened is an
/// error (treating it as empty would let the next snapshot delete it).
pub fn read_all(path: &Path) -> Result<JournalFile, ServerError> {
    let mut out = JournalFile::default();
    let mut f = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(err(path, e)),
    };
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(|e| err(path, e))?;
    if !data.starts_with(MAGIC) {
        return read_unchecked(path, f, data);
    }
    let mut at = MAGIC.len();
    while at < data.len() {
        if let Some((body, next)) = record_at(&data, at) {
            out.records.push(data[body].to_vec());
            at = next;
            continue;
        }
        // damage: resume at the next offset where a whole record checks out
        let resume = (at + 1..data.len()).find(|&i| record_at(&data, i).is_some());
        let end = resume.unwrap_or(data.len());
        out.damage
            .push(keep_damaged(path, &data[at..end], at, resume.is_none())?);
        at = end;
    }
    if let Some(d) = out.damage.last().filter(|d| d.tail) {
        f.set_len(d.offset).map_err(|e| err(path, e))?;
        f.sync_all().map_err(|e| err(path, e))?;
    }
    Ok(out)
}

/// A file from before the checksum: length-prefixed records; whatever does not frame at
/// the end is cut (after it is kept like any damage).
fn read_unchecked(path: &Path, f: File, data: Vec<u8>) -> Result<JournalFile, ServerError> {
    let mut out = JournalFile::default();
    let mut at = 0usize;
    while at + 4 <= data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        if at + 4 + len > data.len() {
            break;
        }
        out.records.push(data[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    if at < data.len() {
        out.damage.push(keep_damaged(path, &data[at..], at, true)?);
        f.set_len(at as u64).map_err(|e| err(path, e))?;
        f.sync_all().map_err(|e| err(path, e))?;
    }
    Ok(out)
}

/// Copies a damaged stretch beside the journal (before anything is cut) and reports it.
fn keep_damaged(path: &Path, bytes: &[u8], offset: usize, tail: bool) -> Result<Damage, ServerError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("journal");
    let kept_in = path.with_file_name(format!("damaged-{name}-{offset}"));
    std::fs::write(&kept_in, bytes)
        .and_then(|_| File::open(&kept_in)?.sync_all())
        .map_err(|e| err(&kept_in, e))?;
    let d = Damage {
        journal: path.to_path_buf(),
        offset: offset as u64,
        bytes: bytes.len() as u64,
        tail,
        kept_in,
    };
    crate::telemetry::journal_damaged(d.bytes);
    tracing::error!(
        journal = %d.journal.display(),
        offset = d.offset,
        bytes = d.bytes,
        tail = d.tail,
        kept_in = %d.kept_in.display(),
        "journal damage: the records in these bytes are lost; the rest of the file was read"
    );
    Ok(d)
}

/// A new journal file: the magic and the file's name in its folder, durably, before any
/// record.
fn create(path: &Path) -> std::io::Result<File> {
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    if f.metadata()?.len() == 0 {
        f.write_all(MAGIC)?;
        f.sync_all()?;
        sync_dir(path)?;
    }
    Ok(f)
}

fn sync_dir(file: &Path) -> std::io::Result<()> {
    match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => File::open(d)?.sync_all(),
        _ => Ok(()),
    }
}

impl Journal {
    /// Starts a journal file for appending, with its writer thread. The file must be new
    /// or one this build wrote (recovery always starts a new generation).
    pub fn open(path: PathBuf, fsync: bool) -> Result<Journal, ServerError> {
        let mut file: File = create(&path).map_err(|e| err(&path, e))?;
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
                        // on failure appends stay in the current file, which recovery still
                        // reads: the snapshot that asked for the rotation is abandoned
                        let res = create(&next)
                            .map(|f| drop(std::mem::replace(&mut file, f)))
                            .map_err(|e| WriteError::new("journal rotation to", &next, e));
                        if res.is_ok() {
                            path = next;
                        }
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
                        buf.extend_from_slice(&crc32c::crc32c(r).to_le_bytes());
                        buf.extend_from_slice(r);
                    }
                }
                let started = std::time::Instant::now();
                let res = file
                    .write_all(&buf)
                    .and_then(|_| if fsync { file.sync_data() } else { Ok(()) })
                    .map_err(|e| WriteError::new("journal", &path, e));
                crate::telemetry::journal_commit(
                    started.elapsed().as_secs_f64(),
                    batch.iter().map(|(r, _)| r.len()).sum::<usize>(),
                );
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

    async fn journal_of(p: &Path, n: usize) {
        let j = Journal::open(p.to_path_buf(), true).unwrap();
        let waits: Vec<_> = (0..n)
            .map(|i| j.append(vec![format!("record {i}").into_bytes()]))
            .collect();
        for w in waits {
            w.await.unwrap().unwrap();
        }
    }

    fn texts(f: &JournalFile) -> Vec<String> {
        f.records
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn appends_are_read_back_and_a_torn_tail_is_cut() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        journal_of(&p, 20).await;
        // a crash mid-write leaves half a record
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[9, 0, 0, 0, 1, 2, 3, 4, b'x']).unwrap();
        drop(f);
        let read = read_all(&p).unwrap();
        assert_eq!(read.records.len(), 20);
        assert_eq!(read.records[19], b"record 19");
        assert_eq!(read.damage.len(), 1);
        assert!(read.damage[0].tail);
        assert_eq!(
            std::fs::read(&read.damage[0].kept_in).unwrap().len(),
            9,
            "kept, then cut"
        );
        let len = std::fs::metadata(&p).unwrap().len();
        let again = read_all(&p).unwrap();
        assert_eq!((again.records.len(), again.damage.len()), (20, 0));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len, "the cut is stable");
        // a zero-filled block (what a crash can leave) is damage, not empty records
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[0; 4096]).unwrap();
        drop(f);
        let zeroed = read_all(&p).unwrap();
        assert_eq!(zeroed.records.len(), 20);
        assert_eq!((zeroed.damage.len(), zeroed.damage[0].bytes), (1, 4096));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len);
    }

    #[tokio::test]
    async fn a_corrupt_length_mid_file_costs_one_record_not_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        journal_of(&p, 1000).await;
        let mut bytes = std::fs::read(&p).unwrap();
        // record 10's length flipped to something huge, record 500's payload changed
        let rec = |i: usize| {
            let mut at = MAGIC.len();
            for _ in 0..i {
                let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
                at += 8 + len;
            }
            at
        };
        let (r10, r500) = (rec(10), rec(500));
        bytes[r10..r10 + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        bytes[r500 + 9] ^= 0x55;
        std::fs::write(&p, &bytes).unwrap();
        let read = read_all(&p).unwrap();
        let t = texts(&read);
        assert_eq!(t.len(), 998, "every record but the two damaged ones");
        assert!(!t.contains(&"record 10".to_string()) && !t.contains(&"record 500".to_string()));
        assert_eq!(t[10], "record 11");
        assert_eq!(t.last().unwrap(), "record 999");
        assert_eq!(read.damage.len(), 2);
        assert!(read.damage.iter().all(|d| !d.tail && d.kept_in.exists()));
        assert_eq!(read.damage[0].offset, r10 as u64);
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "mid-file damage is never cut");
    }

    #[test]
    fn files_from_before_the_checksum_still_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        let mut bytes = Vec::new();
        for r in [&b"one"[..], b"two"] {
            bytes.extend_from_slice(&(r.len() as u32).to_le_bytes());
            bytes.extend_from_slice(r);
        }
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(texts(&read_all(&p).unwrap()), ["one", "two"]);
    }
}
