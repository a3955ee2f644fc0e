//! A flood server for loopback benchmarks: the realistic event mix written
//! as fast as the socket takes it, and actions answered at once.
//!
//! Per connection: a banner; any `Login` succeeds; a user whose name starts
//! with `flood` then gets `FullyBooted` and `events` events back to back
//! (the mix of `Newchannel`, `Newstate`, `VarSet`, `DialBegin` and `Hangup`,
//! 17–27 headers, 373–625 bytes); every other action gets a `Success` with
//! its `ActionID` and `Ping: Pong`; `Logoff` gets `Goodbye` and a close.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use memchr::memmem;

#[path = "../../core/tests/support/mixed_stream.rs"]
mod mixed_stream;

/// `calls` calls' worth of the realistic event mix (five events a call),
/// without a banner.
#[must_use]
pub fn realistic_events(calls: usize) -> Vec<u8> {
    let stream = mixed_stream::mixed_stream(calls);
    let banner_end = memchr::memchr(b'\n', &stream).map_or(0, |at| at + 1);
    stream[banner_end..].to_vec()
}

/// Events in the pool the flood repeats.
const POOL_CALLS: usize = 2_000;
const POOL_EVENTS: u64 = POOL_CALLS as u64 * 5;

/// Serves `listener` forever, one thread per connection; a flood user gets
/// `events` events after its login.
///
/// # Errors
/// When accepting fails.
pub fn serve_flood(listener: &TcpListener, events: u64) -> std::io::Result<()> {
    let pool = std::sync::Arc::new(realistic_events(POOL_CALLS));
    for stream in listener.incoming() {
        let stream = stream?;
        let pool = std::sync::Arc::clone(&pool);
        std::thread::spawn(move || {
            // A benchmark client that goes away ends its connection; there
            // is nothing to report.
            if serve_connection(stream, &pool, events).is_err() {}
        });
    }
    Ok(())
}

fn serve_connection(mut stream: TcpStream, pool: &[u8], events: u64) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    stream.write_all(b"Asterisk Call Manager/11.0.0\r\n")?;
    let mut inbox = Vec::with_capacity(64 * 1024);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut answers = Vec::with_capacity(64 * 1024);
    let finder = memmem::Finder::new(b"\r\n\r\n");
    loop {
        let count = stream.read(&mut buffer)?;
        if count == 0 {
            return Ok(());
        }
        inbox.extend_from_slice(&buffer[..count]);
        let mut start = 0;
        let mut flood = false;
        let mut close = false;
        while let Some(end) = finder.find(&inbox[start..]) {
            let frame = &inbox[start..start + end];
            start += end + 4;
            let header = |name: &str| {
                frame.split(|&b| b == b'\n').find_map(|line| {
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    let colon = line.iter().position(|&b| b == b':')?;
                    line[..colon]
                        .eq_ignore_ascii_case(name.as_bytes())
                        .then(|| line[colon + 1..].trim_ascii())
                })
            };
            let action = header("action").unwrap_or_default().to_ascii_lowercase();
            answers.extend_from_slice(match action.as_slice() {
                b"login" => b"Response: Success\r\nActionID: ".as_slice(),
                b"logoff" => b"Response: Goodbye\r\nActionID: ".as_slice(),
                _ => b"Response: Success\r\nPing: Pong\r\nActionID: ".as_slice(),
            });
            answers.extend_from_slice(header("actionid").unwrap_or_default());
            answers.extend_from_slice(b"\r\n\r\n");
            flood |= action == b"login"
                && header("username").is_some_and(|user| user.starts_with(b"flood"));
            close |= action == b"logoff";
        }
        inbox.drain(..start);
        stream.write_all(&answers)?;
        answers.clear();
        if flood {
            stream.write_all(
                b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n",
            )?;
            for _ in 0..events / POOL_EVENTS {
                stream.write_all(pool)?;
            }
            let rest = usize::try_from(events % POOL_EVENTS).unwrap_or(0);
            if rest > 0 {
                let cut = memmem::find_iter(pool, b"\r\n\r\n")
                    .nth(rest - 1)
                    .map_or(pool.len(), |at| at + 4);
                stream.write_all(&pool[..cut])?;
            }
        }
        if close {
            return Ok(());
        }
    }
}
