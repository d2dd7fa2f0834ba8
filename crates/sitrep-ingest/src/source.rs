//! Sources: the [`Source`] trait and the newline-delimited file (or stdin) source.

use crate::IngestError;
use std::io::Read;

/// How far a source has been read: the byte offset and record number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub records: u64,
}

/// A run of whole records (newline-delimited) read in one go.
#[derive(Debug, Default)]
pub struct Chunk {
    pub index: u64,
    pub data: Vec<u8>,
    /// Record number (0-based) of the first record in `data`.
    pub first_record: u64,
    /// Byte offset of `data` in the input.
    pub offset: u64,
}

impl Chunk {
    /// The records of the chunk, without their line ends; empty lines are skipped but still
    /// numbered.
    pub fn records(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let mut n = self.first_record;
        self.data.split(|b| *b == b'\n').filter_map(move |line| {
            let no = n;
            n += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (!line.iter().all(u8::is_ascii_whitespace)).then_some((no, line))
        })
    }
}

/// A source of raw records, polled by one consumer; `checkpoint` says how far it has read
/// (each decoded chunk carries it).
///
/// Acknowledgement is each host's, at its durability point, not the source's: the server
/// acknowledges an input once it is journalled (HTTP 202, a syslog TCP frame read), the
/// Kafka stages commit input offsets in the transaction that holds the outputs, and replay
/// reads a file it can read again. Nothing acknowledged a file source, so it has no
/// `commit` (it had one once, which nothing called).
pub trait Source: Send {
    /// A name for logs and dead-letter records, e.g. `file:events.jsonl`.
    fn name(&self) -> &str;
    /// The next chunk, or `None` at the end of the input.
    fn poll(&mut self) -> Result<Option<Chunk>, IngestError>;
    /// The position just past the last chunk returned by `poll`.
    fn checkpoint(&self) -> Position;
    /// Total size when known (for progress).
    fn size_hint(&self) -> Option<u64> {
        None
    }
    /// Gives back the data buffer of a chunk that has been decoded, for the source to read
    /// into again (optional: a source may drop it).
    fn recycle(&mut self, buf: Vec<u8>) {
        let _ = buf;
    }
}

/// Newline-delimited records from a file or stdin, read in chunks of about `chunk_bytes`
/// cut at a newline.
pub struct FileSource {
    name: String,
    reader: Box<dyn Read + Send>,
    chunk_bytes: usize,
    carry: Vec<u8>,
    /// Buffers of decoded chunks, read into again: a fresh 4 MiB buffer per chunk was
    /// faulted in (and zeroed by the kernel) every time (docs/performance.md).
    spare: Vec<Vec<u8>>,
    next_index: u64,
    position: Position,
    size: Option<u64>,
    eof: bool,
}

/// Spare buffers a [`FileSource`] keeps.
const SPARE_BUFFERS: usize = 4;

impl FileSource {
    /// `-` means stdin.
    pub fn open(path: &str, chunk_bytes: usize) -> Result<FileSource, IngestError> {
        let io = |e| IngestError::Io {
            input: path.to_string(),
            source: e,
        };
        let (reader, size): (Box<dyn Read + Send>, _) = if path == "-" {
            (Box::new(std::io::stdin()), None)
        } else {
            let f = std::fs::File::open(path).map_err(io)?;
            let size = f.metadata().map(|m| m.len()).ok();
            (Box::new(f), size)
        };
        Ok(FileSource::from_reader(
            if path == "-" {
                "stdin".into()
            } else {
                format!("file:{path}")
            },
            reader,
            size,
            chunk_bytes,
        ))
    }

    pub fn from_reader(
        name: String,
        reader: Box<dyn Read + Send>,
        size: Option<u64>,
        chunk_bytes: usize,
    ) -> FileSource {
        FileSource {
            name,
            reader,
            chunk_bytes: chunk_bytes.max(1024),
            carry: Vec::new(),
            spare: Vec::new(),
            next_index: 0,
            position: Position::default(),
            size,
            eof: false,
        }
    }
}

impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn poll(&mut self) -> Result<Option<Chunk>, IngestError> {
        if self.eof && self.carry.is_empty() {
            return Ok(None);
        }
        let mut data = match self.spare.pop() {
            Some(mut buf) => {
                buf.clear();
                buf.extend_from_slice(&self.carry);
                self.carry.clear();
                buf
            }
            None => std::mem::take(&mut self.carry),
        };
        let io = |e| IngestError::Io {
            input: self.name.clone(),
            source: e,
        };
        while !self.eof && data.len() < self.chunk_bytes {
            let start = data.len();
            data.resize(self.chunk_bytes.max(start + 64 * 1024), 0);
            let n = loop {
                match self.reader.read(&mut data[start..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io(e)),
                }
            };
            data.truncate(start + n);
            if n == 0 {
                self.eof = true;
            }
        }
        if !self.eof {
            // keep the partial last record for the next chunk
            match memchr::memrchr(b'\n', &data) {
                Some(i) => self.carry = data.split_off(i + 1),
                None => return self.poll_more(data),
            }
        }
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.make_chunk(data)))
    }

    fn checkpoint(&self) -> Position {
        self.position
    }

    fn size_hint(&self) -> Option<u64> {
        self.size
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS && buf.capacity() >= self.chunk_bytes {
            self.spare.push(buf);
        }
    }
}

impl FileSource {
    fn make_chunk(&mut self, data: Vec<u8>) -> Chunk {
        let records = memchr::memchr_iter(b'\n', &data).count() as u64 + u64::from(!data.ends_with(b"\n"));
        let chunk = Chunk {
            index: self.next_index,
            first_record: self.position.records,
            offset: self.position.offset,
            data,
        };
        self.next_index += 1;
        self.position.offset += chunk.data.len() as u64;
        self.position.records += records;
        chunk
    }

    /// A single record longer than a chunk: keep reading until its newline.
    fn poll_more(&mut self, mut data: Vec<u8>) -> Result<Option<Chunk>, IngestError> {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = self.reader.read(&mut buf).map_err(|e| IngestError::Io {
                input: self.name.clone(),
                source: e,
            })?;
            if n == 0 {
                self.eof = true;
                break;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                data.extend_from_slice(&buf[..=i]);
                self.carry.extend_from_slice(&buf[i + 1..n]);
                break;
            }
            data.extend_from_slice(&buf[..n]);
        }
        Ok(Some(self.make_chunk(data)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_records(text: &str, chunk: usize) -> Vec<(u64, String)> {
        let plain = read_all(text, chunk, false);
        // buffers given back and read into again change nothing
        assert_eq!(read_all(text, chunk, true), plain);
        plain
    }

    fn read_all(text: &str, chunk: usize, recycle: bool) -> Vec<(u64, String)> {
        let mut s = FileSource::from_reader(
            "t".into(),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            None,
            chunk,
        );
        let mut out = Vec::new();
        while let Some(c) = s.poll().unwrap() {
            out.extend(
                c.records()
                    .map(|(n, r)| (n, String::from_utf8(r.to_vec()).unwrap())),
            );
            if recycle {
                let mut stale = c.data;
                stale.iter_mut().for_each(|b| *b = b'#');
                s.recycle(stale);
            }
        }
        assert_eq!(s.checkpoint().offset, text.len() as u64);
        out
    }

    #[test]
    fn records_survive_any_chunking() {
        let lines: Vec<String> = (0..500)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 37)))
            .collect();
        let text = lines.join("\n") + "\n\n  \r\nlast-without-newline";
        let expected = all_records(&text, 1 << 20);
        assert_eq!(expected.len(), 501);
        assert_eq!(expected[500], (502, "last-without-newline".to_string()));
        for size in [1024, 1500, 4096] {
            assert_eq!(all_records(&text, size), expected, "chunk {size}");
        }
    }

    #[test]
    fn a_record_longer_than_a_chunk_is_kept_whole() {
        let long = "y".repeat(5000);
        let text = format!("a\n{long}\nb\n");
        let r = all_records(&text, 1024);
        assert_eq!(r.iter().map(|(_, s)| s.len()).collect::<Vec<_>>(), [1, 5000, 1]);
    }
}
