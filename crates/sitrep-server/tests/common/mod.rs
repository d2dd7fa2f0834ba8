//! Helpers shared by the server's integration tests.

use sitrep_server::ServerSection;

/// A server on an OS-chosen loopback port with its state in `dir`: a 1 MiB body limit, no
/// snapshots and no wall-clock ticks unless a test wants them (exact journal counts).
pub fn section(dir: &std::path::Path) -> ServerSection {
    ServerSection {
        data_dir: dir.to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body_bytes: 1 << 20,
        snapshot_every: 1_000_000,
        snapshot_min_interval_ms: 0,
        tick_ms: 3_600_000,
        ..ServerSection::default()
    }
}
