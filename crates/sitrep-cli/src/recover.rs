//! `sitrep recover --data DIR`: what to run when `sitrep run` refuses to start over a
//! damaged journal. It recovers as a start would, but salvages past damage between records
//! (every readable record after it is kept; the damaged bytes are copied aside), writes a
//! snapshot so that the next start no longer reads the damaged file, and reports exactly
//! where the damage was and what it cost. It does not serve.

use crate::load;
use anyhow::Result;
use std::path::{Path, PathBuf};

pub fn run(config: Option<&Path>, data: Option<PathBuf>) -> Result<()> {
    let engine = load::config(config)?;
    let mut server = sitrep_server::ServerSection::from_table(&engine.server).map_err(anyhow::Error::msg)?;
    if let Some(d) = data {
        server.data_dir = d;
    }
    let dir = server.data_dir.clone();
    let r = sitrep_server::state::Shared::salvage(&engine, server)?;
    println!(
        "recovered {}: {} journal records replayed, a new snapshot written",
        dir.display(),
        r.replayed
    );
    if let Some(why) = &r.snapshot_fallback {
        println!("  the latest snapshot was not used ({why}); the one before it and its journal were");
    }
    if r.damage.is_empty() {
        println!("  no damage found: nothing was lost");
    }
    for d in &r.damage {
        let name = d.journal.file_name().map_or_else(
            || d.journal.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        if d.tail {
            println!(
                "  {name}: {} unreadable bytes at its end (offset {}), after its {} whole records: a write never acknowledged, cut off; copied to {}",
                d.bytes,
                d.offset,
                d.records_before,
                d.kept_in.display()
            );
        } else {
            println!(
                "  {name}: LOST bytes {}..{} ({} bytes) between its record #{} and the {} records after them, which were kept; \
                 the inputs journalled in those bytes (request bodies, commands, listener batches) are gone; copied to {}",
                d.offset,
                d.offset + d.bytes,
                d.bytes,
                d.records_before,
                d.records_after,
                d.kept_in.display()
            );
        }
    }
    println!("start it again with `sitrep run` on the same data folder");
    Ok(())
}
