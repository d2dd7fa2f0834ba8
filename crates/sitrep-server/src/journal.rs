//! The append-only journal. A file starts with the magic `SITREPJ3` and an 8-byte random
//! nonce; a record is a `u32` little-endian length, the CRC-32C of the payload, the CRC-32C
//! of (nonce, length, payload CRC) — the header check — then the payload (one input: see
//! `records::encode`). Files of format 2 (`SITREPJ2`: no nonce, no header check) and from
//! before the checksum (no magic) are still read. Appends go to a writer thread that
//! batches everything queued, writes it, calls `fsync` once and then acknowledges every
//! append of the batch: group commit, so a burst of requests pays one fsync, not one each.
//!
//! Why the header check: after damage the reader looks for the next offset where a record
//! starts. The header check makes each candidate offset cost a 12-byte CRC instead of a
//! CRC over whatever length the garbage claims (a 100 MB stretch of garbage is scanned in
//! about a second, not hours), and the nonce, which no client ever sees, means a request
//! body that embeds bytes shaped like a record cannot pass for one.
//!
//! **Damage is reported, never papered over.** A record whose checks fail, or whose length
//! runs past the file, is damage. Unreadable bytes at the very end (a crash mid-write:
//! never acknowledged) are copied to `damaged-journal-G-OFFSET` beside the journal, then
//! cut off. Damage anywhere else is acknowledged data: [`read_all`] refuses the file
//! ([`ServerError::JournalDamaged`], naming file, offset and the records around it) unless
//! asked to salvage (`sitrep recover`), which skips to the next offset where a whole record
//! checks out, keeps every record after it, and copies, logs, counts and returns each
//! damaged stretch.

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
    /// The latest group commit failed (until one succeeds): `/readyz` says so.
    failing: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

fn err(path: &Path, e: std::io::Error) -> ServerError {
    ServerError::Journal {
        path: path.display().to_string(),
        source: e,
    }
}

/// First bytes of every journal file this build writes (then the file's nonce).
pub const MAGIC: &[u8; 8] = b"SITREPJ3";
/// Format 2: checksummed records without the header check (still read).
const MAGIC_V2: &[u8; 8] = b"SITREPJ2";
const NONCE_LEN: usize = 8;

/// What the reader does on damage between whole records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDamage {
    /// Refuse the file: the server does not start over acknowledged data it cannot read.
    Refuse,
    /// Skip the damaged bytes (kept aside), keep every record after them: `sitrep recover`.
    Salvage,
}
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
    /// Whole records read before it in this file, and after it.
    pub records_before: usize,
    pub records_after: usize,
}

/// What a journal file held: its whole records, in order, and any damage.
#[derive(Debug, Default)]
pub struct JournalFile {
    pub records: Vec<Vec<u8>>,
    pub damage: Vec<Damage>,
}

/// Finds the whole record at an offset of a file's bytes: (payload range, next offset).
type RecordAt = dyn Fn(&[u8], usize) -> Option<(std::ops::Range<usize>, usize)>;

/// The header check of a format-3 record: CRC-32C of the file's nonce and the record's
/// length and payload CRC.
fn header_check(nonce: &[u8], head: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(nonce), head)
}

/// Appends one format-3 record (header, header check, payload) to `buf`.
fn frame(nonce: &[u8], record: &[u8], buf: &mut Vec<u8>) {
    let mut head = [0u8; 12];
    head[..4].copy_from_slice(&(record.len() as u32).to_le_bytes());
    head[4..8].copy_from_slice(&crc32c::crc32c(record).to_le_bytes());
    let check = header_check(nonce, &head[..8]);
    head[8..].copy_from_slice(&check.to_le_bytes());
    buf.extend_from_slice(&head);
    buf.extend_from_slice(record);
}

/// The format-3 record at `at`, if a whole one whose checks pass starts there: (payload
/// range, next offset). The header check comes first: a wrong offset is rejected in O(1).
fn record_at_v3(data: &[u8], nonce: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let head = data.get(at..at + 12)?;
    let check = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
    if header_check(nonce, &head[..8]) != check {
        return None;
    }
    let len = u32::from_le_bytes(head[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_RECORD {
        return None;
    }
    let body = at + 12..at + 12 + len;
    let payload = data.get(body.clone())?;
    (crc32c::crc32c(payload) == crc).then_some((body.clone(), body.end))
}

/// The format-2 record at `at` (length, payload CRC, payload).
fn record_at_v2(data: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
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
pub fn read_all(path: &Path, on_damage: OnDamage) -> Result<JournalFile, ServerError> {
    let mut out = JournalFile::default();
    let mut f = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(err(path, e)),
    };
    let mut data = Vec::new();
    f.read_to_end(&mut data).map_err(|e| err(path, e))?;
    let (start, record_at): (usize, Box<RecordAt>) =
        if data.starts_with(MAGIC) && data.len() >= MAGIC.len() + NONCE_LEN {
            let nonce = data[MAGIC.len()..MAGIC.len() + NONCE_LEN].to_vec();
            (
                MAGIC.len() + NONCE_LEN,
                Box::new(move |d: &[u8], at| record_at_v3(d, &nonce, at)),
            )
        } else if data.starts_with(MAGIC_V2) {
            (MAGIC_V2.len(), Box::new(record_at_v2))
        } else if data.starts_with(MAGIC) {
            // the header was torn before the nonce was whole: nothing was ever written after it
            (data.len(), Box::new(record_at_v2))
        } else {
            return read_unchecked(path, f, data);
        };
    // first pass: where the damage is, before anything is written or cut
    let mut stretches: Vec<(usize, usize, usize)> = Vec::new(); // (from, to, records before)
    let mut offsets: Vec<std::ops::Range<usize>> = Vec::new();
    let mut at = start;
    while at < data.len() {
        if let Some((body, next)) = record_at(&data, at) {
            offsets.push(body);
            at = next;
            continue;
        }
        let resume = (at + 1..data.len()).find(|&i| record_at(&data, i).is_some());
        let end = resume.unwrap_or(data.len());
        stretches.push((at, end, offsets.len()));
        at = end;
    }
    let total = offsets.len();
    if on_damage == OnDamage::Refuse {
        if let Some(&(from, to, before)) = stretches.iter().find(|(_, to, _)| *to < data.len()) {
            return Err(ServerError::JournalDamaged {
                path: path.display().to_string(),
                offset: from as u64,
                bytes: (to - from) as u64,
                records_before: before,
                records_after: total - before,
            });
        }
    }
    for &(from, to, before) in &stretches {
        out.damage.push(keep_damaged(
            path,
            &data[from..to],
            from,
            to == data.len(),
            (before, total - before),
        )?);
    }
    out.records = offsets.into_iter().map(|r| data[r].to_vec()).collect();
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
        let n = out.records.len();
        out.damage
            .push(keep_damaged(path, &data[at..], at, true, (n, 0))?);
        f.set_len(at as u64).map_err(|e| err(path, e))?;
        f.sync_all().map_err(|e| err(path, e))?;
    }
    Ok(out)
}

/// Copies a damaged stretch beside the journal (before anything is cut) and reports it.
fn keep_damaged(
    path: &Path,
    bytes: &[u8],
    offset: usize,
    tail: bool,
    (records_before, records_after): (usize, usize),
) -> Result<Damage, ServerError> {
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
        records_before,
        records_after,
    };
    crate::telemetry::journal_damaged(d.bytes);
    tracing::error!(
        journal = %d.journal.display(),
        offset = d.offset,
        bytes = d.bytes,
        tail = d.tail,
        kept_in = %d.kept_in.display(),
        records_before = d.records_before,
        records_after = d.records_after,
        "journal damage: the records in these bytes are lost; the rest of the file was read"
    );
    Ok(d)
}

/// A new journal file: the magic and the file's name in its folder, durably, before any
/// record.
fn create(path: &Path) -> std::io::Result<File> {
    let mut f = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)?;
    if f.metadata()?.len() == 0 {
        f.write_all(MAGIC)?;
        f.write_all(&new_nonce())?;
        f.sync_all()?;
        sync_dir(path)?;
    }
    Ok(f)
}

/// 8 random bytes (SipHash keys drawn from the OS), unknown to every client.
fn new_nonce() -> [u8; NONCE_LEN] {
    use std::hash::BuildHasher;
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::collections::hash_map::RandomState::new()
        .hash_one((t, std::process::id()))
        .to_le_bytes()
}

/// The nonce of a format-3 journal file being appended to.
fn nonce_of(f: &mut File) -> std::io::Result<[u8; NONCE_LEN]> {
    let mut head = [0u8; 16];
    f.seek(SeekFrom::Start(0))?;
    f.read_exact(&mut head)?;
    if &head[..8] != MAGIC {
        return Err(std::io::Error::other("not a format-3 journal file"));
    }
    Ok(head[8..].try_into().expect("8 bytes"))
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
        let nonce = nonce_of(&mut file).map_err(|e| err(&path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| err(&path, e))?;
        Ok(Journal::writer(file, path, nonce, fsync))
    }

    /// The writer thread over an open file positioned for appending.
    fn writer(mut file: File, path: PathBuf, mut nonce: [u8; NONCE_LEN], fsync: bool) -> Journal {
        let (tx, rx) = mpsc::channel::<Msg>();
        let queued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let written = queued.clone();
        let failing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let failed = failing.clone();
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
                            .and_then(|mut f| {
                                nonce = nonce_of(&mut f)?;
                                f.seek(SeekFrom::End(0))?;
                                drop(std::mem::replace(&mut file, f));
                                Ok(())
                            })
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
                        frame(&nonce, r, &mut buf);
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
                if let Err(e) = &res {
                    tracing::error!(error = %e, records = batch.len(), "journal write failed: every input in this commit is refused");
                }
                failed.store(res.is_err(), std::sync::atomic::Ordering::Release);
                crate::telemetry::journal_write(res.is_ok());
                let n: usize = batch.iter().map(|(r, _)| r.len()).sum();
                written.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
                for (_, ack) in batch {
                    let _ = ack.send(res.clone());
                }
            }
        });
        Journal { tx, queued, failing }
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

    /// The latest write or fsync failed (and none has succeeded since).
    pub fn failing(&self) -> bool {
        self.failing.load(std::sync::atomic::Ordering::Acquire)
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
        let read = read_all(&p, OnDamage::Salvage).unwrap();
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
        let again = read_all(&p, OnDamage::Salvage).unwrap();
        assert_eq!((again.records.len(), again.damage.len()), (20, 0));
        assert_eq!(std::fs::metadata(&p).unwrap().len(), len, "the cut is stable");
        // a zero-filled block (what a crash can leave) is damage, not empty records
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&[0; 4096]).unwrap();
        drop(f);
        let zeroed = read_all(&p, OnDamage::Salvage).unwrap();
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
        let (r10, r500) = (record_offset(&bytes, 10), record_offset(&bytes, 500));
        bytes[r10..r10 + 4].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        bytes[r500 + 9] ^= 0x55;
        std::fs::write(&p, &bytes).unwrap();
        let read = read_all(&p, OnDamage::Salvage).unwrap();
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

    /// Offset of record `i` in a format-3 file.
    fn record_offset(bytes: &[u8], i: usize) -> usize {
        let mut at = MAGIC.len() + NONCE_LEN;
        for _ in 0..i {
            let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            at += 12 + len;
        }
        at
    }

    #[tokio::test]
    async fn damage_between_records_is_refused_naming_the_place_and_touching_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal-000000000003");
        journal_of(&p, 100).await;
        let mut bytes = std::fs::read(&p).unwrap();
        let r40 = record_offset(&bytes, 40);
        bytes[r40 + 14] ^= 0xff;
        std::fs::write(&p, &bytes).unwrap();
        let e = read_all(&p, OnDamage::Refuse).unwrap_err();
        match &e {
            ServerError::JournalDamaged {
                offset,
                records_before,
                records_after,
                ..
            } => assert_eq!((*offset, *records_before, *records_after), (r40 as u64, 40, 59)),
            other => panic!("{other}"),
        }
        let text = e.to_string();
        assert!(
            text.contains("journal-000000000003") && text.contains("sitrep recover"),
            "{text}"
        );
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "nothing cut");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1, "nothing copied");
        // salvage keeps every other record
        let read = read_all(&p, OnDamage::Salvage).unwrap();
        assert_eq!(read.records.len(), 99);
        assert_eq!(
            (read.damage[0].records_before, read.damage[0].records_after),
            (40, 59)
        );
        // a torn tail alone is not refused: it was never acknowledged
        let q = d.path().join("journal-000000000004");
        journal_of(&q, 3).await;
        let mut f = OpenOptions::new().append(true).open(&q).unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2]).unwrap();
        drop(f);
        assert_eq!(read_all(&q, OnDamage::Refuse).unwrap().records.len(), 3);
    }

    /// A body that embeds bytes framed like a record (as an attacker who knows the format
    /// would send) never passes for one when the reader resynchronises through it: the
    /// header check needs the file's nonce.
    #[tokio::test]
    async fn a_forged_record_inside_a_body_is_not_taken_for_one() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        let forged_payload = b"Cforged command".to_vec();
        let mut forged = Vec::new();
        forged.extend_from_slice(&(forged_payload.len() as u32).to_le_bytes());
        forged.extend_from_slice(&crc32c::crc32c(&forged_payload).to_le_bytes());
        let guess = header_check(&[0; NONCE_LEN], &forged[..8]);
        forged.extend_from_slice(&guess.to_le_bytes());
        forged.extend_from_slice(&forged_payload);
        let j = Journal::open(p.clone(), true).unwrap();
        for r in [
            b"first".to_vec(),
            [b"body: ".to_vec(), forged.clone()].concat(),
            b"last".to_vec(),
        ] {
            j.append(vec![r]).await.unwrap().unwrap();
        }
        // damage the header of the record that carries the forgery: the reader scans its bytes
        let mut bytes = std::fs::read(&p).unwrap();
        let r1 = record_offset(&bytes, 1);
        bytes[r1 + 8] ^= 1;
        std::fs::write(&p, &bytes).unwrap();
        let read = read_all(&p, OnDamage::Salvage).unwrap();
        assert_eq!(texts(&read), ["first", "last"]);
    }

    #[tokio::test]
    async fn megabytes_of_garbage_between_records_are_skipped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        journal_of(&p, 10).await;
        let bytes = std::fs::read(&p).unwrap();
        let r5 = record_offset(&bytes, 5);
        // pseudo-random garbage whose "lengths" often fit in the file
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let garbage: Vec<u8> = (0..8 << 20)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 7) as u8
            })
            .collect();
        let spliced = [&bytes[..r5], &garbage, &bytes[r5..]].concat();
        std::fs::write(&p, &spliced).unwrap();
        let read = read_all(&p, OnDamage::Salvage).unwrap();
        assert_eq!(read.records.len(), 10);
        assert_eq!(read.damage[0].bytes, garbage.len() as u64);
    }

    /// A write the kernel refuses (ENOSPC from /dev/full) is refused to every input of the
    /// commit, and the journal says it is failing until a write succeeds.
    #[tokio::test]
    async fn a_failed_write_is_refused_and_reported() {
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let j = Journal::writer(full, PathBuf::from("/dev/full"), [7; NONCE_LEN], true);
        assert!(!j.failing());
        let e = j.append(vec![b"x".to_vec()]).await.unwrap().unwrap_err();
        assert!(e.to_string().contains("/dev/full"), "{e}");
        assert!(j.failing());
    }

    #[test]
    fn format_2_files_still_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        let mut bytes = MAGIC_V2.to_vec();
        for r in [&b"one"[..], b"two"] {
            bytes.extend_from_slice(&(r.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32c::crc32c(r).to_le_bytes());
            bytes.extend_from_slice(r);
        }
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(texts(&read_all(&p, OnDamage::Refuse).unwrap()), ["one", "two"]);
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
        assert_eq!(texts(&read_all(&p, OnDamage::Salvage).unwrap()), ["one", "two"]);
    }

    /// Builds a format-3 file from records, synchronously (the writer's framing).
    fn file_of(records: &[Vec<u8>], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&nonce);
        for r in records {
            frame(&nonce, r, &mut out);
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever bytes overwrite a stretch of a journal, the salvaging reader never
        /// panics, returns only records that were written, in order, loses only records
        /// the stretch touched, and reports the damage; the refusing reader refuses exactly
        /// when damage is not at the end.
        #[test]
        fn damage_anywhere_costs_only_the_records_it_touches(
            records in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 1..64), 1..40),
            at in 0.0f64..1.0,
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 1..200),
        ) {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("journal");
            let good = file_of(&records, [3; NONCE_LEN]);
            let start = MAGIC.len() + NONCE_LEN;
            let from = start + ((good.len() - start) as f64 * at) as usize;
            let to = (from + garbage.len()).min(good.len());
            let mut bytes = good.clone();
            bytes[from..to].copy_from_slice(&garbage[..to - from]);
            std::fs::write(&p, &bytes).unwrap();
            let refused = read_all(&p, OnDamage::Refuse);
            std::fs::write(&p, &bytes).unwrap();
            let read = read_all(&p, OnDamage::Salvage).unwrap();
            // every record read was written, in order
            let mut next = 0;
            for r in &read.records {
                let k = records[next..].iter().position(|w| w == r);
                proptest::prop_assert!(k.is_some(), "a record that was never written");
                next += k.unwrap() + 1;
            }
            // a record wholly outside the overwritten bytes is kept
            let mut offset = start;
            let mut untouched = 0;
            for r in &records {
                let end = offset + 12 + r.len();
                if end <= from || offset >= to {
                    untouched += 1;
                }
                offset = end;
            }
            let changed = bytes != good;
            proptest::prop_assert!(read.records.len() >= untouched.min(records.len()) || !changed);
            if changed && read.records.len() < records.len() {
                proptest::prop_assert!(!read.damage.is_empty(), "a loss is reported");
            }
            let mid_file = read.damage.iter().any(|d| !d.tail);
            proptest::prop_assert_eq!(refused.is_err(), mid_file);
        }
    }
}
