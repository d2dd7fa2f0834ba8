//! Network listeners besides HTTP: syslog over UDP and TCP (RFC 5424 and 3164; on TCP
//! both octet-counting and newline framing, RFC 6587), and SNMP traps over UDP.
//!
//! Syslog and SNMP have no acknowledgement, so "durable" means: a listener reads the next
//! batch only after the previous one is in the journal. A kill -9 loses at most what the
//! kernel had buffered and not yet handed over, never what was read.

use crate::snmp::TrapTable;
use crate::state::Shared;
use sitrep_core::DeadLetter;
use sitrep_core::Event;
use std::sync::Arc;

type AppState = Arc<Shared>;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

/// Most datagrams read before one journal append.
const UDP_BATCH: usize = 512;

fn default_max(s: &AppState) -> usize {
    s.cfg.syslog.max_message_bytes.unwrap_or(64 * 1024)
}

/// Normalises syslog messages, each with the address it came from (the source of a line
/// that names no host); rejects go to the dead letters.
fn syslog_events(s: &AppState, source: &str, msgs: &[(Vec<u8>, IpAddr)]) -> Vec<Event> {
    let now = s.now();
    let mut events = Vec::with_capacity(msgs.len());
    // the sender's address as text, made once per run of messages from one sender
    let mut named: Option<(IpAddr, String)> = None;
    for (i, (m, sender)) in msgs.iter().enumerate() {
        if named.as_ref().is_none_or(|(ip, _)| ip != sender) {
            named = Some((*sender, sender.to_canonical().to_string()));
        }
        let sender_name = named.as_ref().map_or("", |(_, n)| n.as_str());
        // a trailing newline or NUL is framing, not message
        let m = m.strip_suffix(b"\n").unwrap_or(m);
        let m = m.strip_suffix(b"\r").unwrap_or(m);
        let m = m.strip_suffix(b"\0").unwrap_or(m);
        let r = s.normaliser.normalise_syslog_from(m, now, sender_name);
        match r.and_then(|mut e| s.normaliser.check_time_range(&mut e, now).map(|()| e)) {
            Ok(e) => events.push(e),
            Err(rej) => s.dead_letter(DeadLetter::new(source, i as u64, &rej, m, s.raw_limit())),
        }
    }
    crate::telemetry::events_received(source, events.len() as u64);
    events
}

async fn commit(s: &AppState, events: Vec<Event>) {
    if events.is_empty() {
        return;
    }
    if let Err(e) = s.submit_events(events, s.now()).wait().await {
        tracing::error!(error = %e, "journal write failed for listener input");
    }
}

/// Runs a listener's loop and starts it again if it panics (logged and counted): a bug in
/// one parser must not leave a port open and silently unread. Returns once the loop ends
/// without a panic.
pub(crate) fn supervise<F, Fut>(listener: &'static str, run: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            match tokio::spawn(run()).await {
                Err(e) if e.is_panic() => {
                    crate::telemetry::listener_restarted(listener);
                    tracing::error!(listener, "listener panicked; starting it again");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                _ => return,
            }
        }
    })
}

pub async fn syslog_udp(s: AppState, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let sock = Arc::new(UdpSocket::bind(addr).await?);
    let local = sock.local_addr()?;
    supervise("syslog_udp", move || {
        let (s, sock) = (s.clone(), sock.clone());
        async move { syslog_udp_loop(s, sock).await }
    });
    Ok(local)
}

async fn syslog_udp_loop(s: AppState, sock: Arc<UdpSocket>) {
    {
        let max = default_max(&s);
        let mut buf = vec![0u8; max.max(2048) + 1];
        loop {
            let mut msgs = Vec::new();
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                continue;
            };
            msgs.push((buf[..n].to_vec(), from.ip()));
            while msgs.len() < UDP_BATCH {
                match sock.try_recv_from(&mut buf) {
                    Ok((n, from)) => msgs.push((buf[..n].to_vec(), from.ip())),
                    Err(_) => break,
                }
            }
            let events = syslog_events(&s, "syslog_udp", &msgs);
            commit(&s, events).await;
        }
    }
}

/// An accept that failed (most often: out of file descriptors). Waiting a moment lets
/// connections close and free some; retrying at once would spin a core and starve the
/// rest of the server. Logged at most every 10 s.
pub(crate) async fn accept_failed(
    listener: &str,
    e: &std::io::Error,
    last_warning: &mut Option<std::time::Instant>,
) {
    if last_warning.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(10)) {
        tracing::warn!(listener, error = %e, "accept failed; pausing this listener briefly");
        *last_warning = Some(std::time::Instant::now());
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

/// Open syslog TCP connections at most unless configured (and within the open-file limit:
/// see [`crate::connection_limits`]).
pub(crate) const MAX_TCP_CONNECTIONS: usize = 256;

pub async fn syslog_tcp(s: AppState, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let slots = Arc::new(tokio::sync::Semaphore::new(
        s.cfg
            .syslog
            .max_tcp_connections
            .unwrap_or(MAX_TCP_CONNECTIONS)
            .max(1),
    ));
    tokio::spawn(async move {
        let mut last_warning = None;
        loop {
            let conn = match listener.accept().await {
                Ok((conn, _)) => conn,
                Err(e) => {
                    accept_failed("syslog_tcp", &e, &mut last_warning).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                // full: close at once (the sender reconnects later); counted, never queued
                crate::telemetry::connection_refused("syslog_tcp");
                drop(conn);
                continue;
            };
            let s = s.clone();
            tokio::spawn(async move {
                if let Err(e) = syslog_connection(&s, conn).await {
                    tracing::warn!(error = %e, "syslog tcp connection closed on an error");
                }
                drop(slot);
            });
        }
    });
    Ok(local)
}

/// One TCP connection. Framing is decided per message by its first byte: a digit starts
/// an octet count (`LEN SP MSG`), anything else a newline-terminated message. Messages are
/// committed in batches; the ones read before a bad frame or the end are committed too.
async fn syslog_connection(s: &AppState, conn: tokio::net::TcpStream) -> std::io::Result<()> {
    let max = default_max(s);
    let peer = conn.peer_addr()?.ip();
    let mut r = BufReader::new(conn);
    loop {
        let mut msgs: Vec<(Vec<u8>, IpAddr)> = Vec::new();
        // one message (waiting), then whatever else is already buffered
        let end = loop {
            if !msgs.is_empty() && r.buffer().is_empty() {
                break None;
            }
            match next_frame(s, &mut r, max).await {
                Ok(Some(Frame::Message(m))) => {
                    msgs.push((m, peer));
                    if msgs.len() >= UDP_BATCH {
                        break None;
                    }
                }
                Ok(Some(Frame::Skipped)) => {}
                Ok(None) => break Some(Ok(())),
                Err(e) => break Some(Err(e)),
            }
        };
        let events = syslog_events(s, "syslog_tcp", &msgs);
        commit(s, events).await;
        if let Some(result) = end {
            return result;
        }
    }
}

enum Frame {
    Message(Vec<u8>),
    /// An oversized line, dead-lettered and skipped; the connection goes on.
    Skipped,
}

/// The next frame; `None` at the end of the stream. Every read is bounded: an octet count
/// is at most ten digits, a message at most `max` bytes, and what is skipped is read in
/// bounded pieces and dropped. A frame that cannot be trusted (a bad count, a count over
/// the limit) is dead-lettered and ends the connection, since the stream's framing is lost.
async fn next_frame(
    s: &AppState,
    r: &mut BufReader<tokio::net::TcpStream>,
    max: usize,
) -> std::io::Result<Option<Frame>> {
    let dead = |code: &str, reason: String, raw: &[u8]| {
        s.dead_letter(DeadLetter::with_reason(
            "syslog_tcp",
            0,
            code,
            &reason,
            raw,
            s.raw_limit(),
        ));
    };
    let first = match r.fill_buf().await? {
        [] => return Ok(None),
        b => b[0],
    };
    if first.is_ascii_digit() {
        let mut len = Vec::new();
        (&mut *r).take(11).read_until(b' ', &mut len).await?;
        let Some(n) = std::str::from_utf8(&len)
            .ok()
            .and_then(|l| l.strip_suffix(' '))
            .and_then(|l| l.parse::<usize>().ok())
        else {
            dead("bad_frame", "octet count is not digits and a space".into(), &len);
            return Err(std::io::Error::other("bad octet count"));
        };
        if n > max {
            dead("too_large", format!("frame of {n} bytes over {max}"), &len);
            return Err(std::io::Error::other("frame over the size limit"));
        }
        let mut m = Vec::with_capacity(n);
        (&mut *r).take(n as u64).read_to_end(&mut m).await?;
        if m.len() < n {
            dead(
                "truncated",
                format!("the stream ended {} bytes into a frame of {n}", m.len()),
                &m,
            );
            return Ok(None);
        }
        Ok(Some(Frame::Message(m)))
    } else {
        let mut m = Vec::new();
        // a message of up to `max` bytes and its newline
        (&mut *r).take(max as u64 + 1).read_until(b'\n', &mut m).await?;
        if m.len() <= max || m.ends_with(b"\n") {
            return Ok(Some(Frame::Message(m)));
        }
        dead("too_large", format!("line over {max} bytes"), &m);
        // skip the rest of the line, a bounded piece at a time
        loop {
            let mut rest = Vec::new();
            let got = (&mut *r).take(64 * 1024).read_until(b'\n', &mut rest).await?;
            if got == 0 || rest.ends_with(b"\n") {
                return Ok(Some(Frame::Skipped));
            }
        }
    }
}

pub async fn snmp_traps(s: AppState, addr: SocketAddr) -> std::io::Result<SocketAddr> {
    let sock = Arc::new(UdpSocket::bind(addr).await?);
    let local = sock.local_addr()?;
    let table = Arc::new(TrapTable::new(&s.cfg.snmp));
    supervise("snmp", move || {
        let (s, sock, table) = (s.clone(), sock.clone(), table.clone());
        async move { snmp_loop(s, sock, table).await }
    });
    Ok(local)
}

async fn snmp_loop(s: AppState, sock: Arc<UdpSocket>, table: Arc<TrapTable>) {
    {
        let mut buf = vec![0u8; 65536];
        loop {
            let mut events = Vec::new();
            let mut first = true;
            while events.len() < UDP_BATCH {
                let got = if first {
                    sock.recv_from(&mut buf).await
                } else {
                    sock.try_recv_from(&mut buf)
                };
                first = false;
                let Ok((n, peer)) = got else { break };
                match table.decode(&buf[..n], peer.ip()) {
                    Ok(e) => match s
                        .normaliser
                        .validate(e)
                        .and_then(|mut e| s.normaliser.check_time_range(&mut e, s.now()).map(|()| e))
                    {
                        Ok(e) => events.push(e),
                        Err(rej) => s.dead_letter(DeadLetter::new("snmp", 0, &rej, &buf[..n], s.raw_limit())),
                    },
                    Err(e) => s.dead_letter(DeadLetter::with_reason(
                        "snmp",
                        0,
                        e.code(),
                        &e.to_string(),
                        &buf[..n],
                        s.raw_limit(),
                    )),
                }
            }
            crate::telemetry::events_received("snmp", events.len() as u64);
            commit(&s, events).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn a_listener_that_panics_is_started_again() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let done = supervise("test", move || {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("a parser bug");
                }
            }
        });
        tokio::time::timeout(std::time::Duration::from_secs(5), done)
            .await
            .expect("the supervisor ends once the loop ends cleanly")
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "two panics, two restarts");
    }
}
