//! The dead-letter file: every input the server could not turn into events, one
//! [`DeadLetter`] per line in `dead_letters.jsonl`, rotated at `server.dead_letter_max_bytes`
//! with one older file (`dead_letters.1.jsonl`) kept. The same file name and shape as
//! replay's (a data folder from before, with `dead-letters.jsonl`, is renamed on open); the Kafka worker carries the same fields as record headers.

use sitrep_core::DeadLetter;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct DeadLetterFile {
    path: PathBuf,
    max_bytes: u64,
    file: Mutex<Option<std::fs::File>>,
}

fn open_append(path: &Path) -> Option<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .ok()
}

impl DeadLetterFile {
    pub fn open(dir: &Path, max_bytes: u64) -> DeadLetterFile {
        let path = dir.join("dead_letters.jsonl");
        // the name replay and the docs use; data folders from before kept `dead-letters`
        for (old, new) in [
            ("dead-letters.jsonl", "dead_letters.jsonl"),
            ("dead-letters.1.jsonl", "dead_letters.1.jsonl"),
        ] {
            let (old, new) = (dir.join(old), dir.join(new));
            if old.exists() && !new.exists() {
                let _ = std::fs::rename(old, new);
            }
        }
        DeadLetterFile {
            file: Mutex::new(open_append(&path)),
            path,
            max_bytes,
        }
    }

    /// Appends one dead letter. A write that fails is reported, never retried: the input
    /// was refused already, and the counter has it.
    pub fn write(&self, d: &DeadLetter) {
        let mut line = serde_json::to_vec(d).expect("dead letter serialises");
        line.push(b'\n');
        let mut f = self.file.lock().expect("dead-letter lock");
        let full = f
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() + line.len() as u64 > self.max_bytes);
        if full {
            let _ = std::fs::rename(&self.path, self.path.with_file_name("dead_letters.1.jsonl"));
            // when the new file cannot be opened (EMFILE, permissions), the old handle goes on
            // writing (now into dead_letters.1.jsonl) and the next write tries again
            if let Some(new) = open_append(&self.path) {
                *f = Some(new);
            }
        } else if f.is_none() {
            *f = open_append(&self.path);
        }
        match f.as_mut() {
            Some(file) => {
                if let Err(e) = file.write_all(&line) {
                    crate::telemetry::dead_letter_write_failed();
                    tracing::error!(path = %self.path.display(), error = %e, "dead letters: write failed");
                }
            }
            None => {
                crate::telemetry::dead_letter_write_failed();
                tracing::error!(path = %self.path.display(), "dead letters: file cannot be opened")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sitrep_core::Rejection;

    #[test]
    fn a_file_under_the_old_name_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("dead-letters.jsonl"), "{\"old\":1}\n").unwrap();
        let f = DeadLetterFile::open(dir.path(), 1 << 20);
        f.write(&DeadLetter::new("http", 0, &Rejection::Empty, b"", 4096));
        let text = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 2, "old lines kept, new appended: {text}");
        assert!(!dir.path().join("dead-letters.jsonl").exists());
    }

    #[test]
    fn rotates_at_the_limit_keeping_one_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = DeadLetterFile::open(dir.path(), 600);
        for i in 0..10 {
            f.write(&DeadLetter::new("http", i, &Rejection::Empty, &[b'x'; 100], 4096));
        }
        let now = std::fs::read_to_string(dir.path().join("dead_letters.jsonl")).unwrap();
        let older = std::fs::read_to_string(dir.path().join("dead_letters.1.jsonl")).unwrap();
        assert!(
            now.len() <= 600 && older.len() <= 600,
            "{} {}",
            now.len(),
            older.len()
        );
        let last: DeadLetter = serde_json::from_str(now.lines().last().unwrap()).unwrap();
        assert_eq!((last.position, last.code.as_str()), (9, "empty"));
        assert!(!older.is_empty());
    }

    /// A file that could not be opened (here a directory squats its name) is tried again at
    /// the next dead letter: dead letters resume without a restart.
    #[test]
    fn writing_resumes_once_the_file_can_be_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dead_letters.jsonl");
        std::fs::create_dir(&path).unwrap();
        let f = DeadLetterFile::open(dir.path(), 1 << 20);
        f.write(&DeadLetter::new("http", 0, &Rejection::Empty, b"", 4096));
        std::fs::remove_dir(&path).unwrap();
        f.write(&DeadLetter::new("http", 1, &Rejection::Empty, b"", 4096));
        let text = std::fs::read_to_string(&path).unwrap();
        let d: DeadLetter = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(d.position, 1);
    }
}
