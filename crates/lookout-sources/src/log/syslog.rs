//! Syslog over UDP and TCP for the `log` source.
//!
//! [`SyslogInput`] binds the configured addresses and receives on threads of its own
//! (never on the async runtime) into one bounded channel of [`CHANNEL_MESSAGES`]. UDP:
//! one datagram is one message; when the channel is full the datagram is dropped and
//! counted (a sender cannot be slowed). TCP: at most `max_connections` connections at
//! once (more are closed at once and counted); each frame is either octet-counted
//! (`LEN SP MSG`, RFC 6587) or ends with a newline; when the channel is full the
//! connection's thread waits, so TCP senders are slowed instead of dropped. Messages
//! longer than `max_message_bytes` are counted as too long and skipped (the rest of the
//! frame is read and dropped). Threads stop when the input is dropped (reads time out
//! every [`POLL`]). Cost: one thread per listener and per connection, one allocation
//! per message.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Messages waiting between the receiving threads and the collector.
pub const CHANNEL_MESSAGES: usize = 8192;
/// How often blocked reads and accepts look at the stop flag.
pub const POLL: Duration = Duration::from_millis(200);

/// One received message, or a message refused for its length.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Message(Vec<u8>),
    TooLong,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    connections: AtomicUsize,
    /// UDP datagrams dropped because the channel was full.
    dropped: AtomicU64,
    /// TCP connections closed because `max_connections` were open.
    refused: AtomicU64,
}

/// The listening sockets of one source. See the module documentation.
#[derive(Debug)]
pub struct SyslogInput {
    receiver: Receiver<Received>,
    shared: Arc<Shared>,
    /// The addresses bound (a port 0 in the configuration is the one chosen).
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
}

impl SyslogInput {
    pub fn bind(
        udp: Option<SocketAddr>,
        tcp: Option<SocketAddr>,
        max_message_bytes: usize,
        max_connections: usize,
    ) -> std::io::Result<SyslogInput> {
        let (sender, receiver) = sync_channel(CHANNEL_MESSAGES);
        let shared = Arc::new(Shared::default());
        let mut input = SyslogInput {
            receiver,
            shared: shared.clone(),
            udp: None,
            tcp: None,
        };
        if let Some(address) = udp {
            let socket = UdpSocket::bind(address)?;
            socket.set_read_timeout(Some(POLL))?;
            input.udp = Some(socket.local_addr()?);
            let (sender, shared) = (sender.clone(), shared.clone());
            std::thread::Builder::new()
                .name("syslog-udp".into())
                .spawn(move || udp_loop(socket, sender, shared, max_message_bytes))?;
        }
        if let Some(address) = tcp {
            let listener = TcpListener::bind(address)?;
            listener.set_nonblocking(true)?;
            input.tcp = Some(listener.local_addr()?);
            std::thread::Builder::new()
                .name("syslog-tcp".into())
                .spawn(move || {
                    accept_loop(listener, sender, shared, max_message_bytes, max_connections)
                })?;
        }
        Ok(input)
    }

    /// Hands up to `budget` received messages to `message`.
    pub fn read(&mut self, budget: usize, mut message: impl FnMut(Received)) {
        for _ in 0..budget {
            match self.receiver.try_recv() {
                Ok(received) => message(received),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    /// UDP datagrams dropped (channel full) and TCP connections refused, since the start.
    pub fn dropped_and_refused(&self) -> (u64, u64) {
        (
            self.shared.dropped.load(Ordering::Relaxed),
            self.shared.refused.load(Ordering::Relaxed),
        )
    }
}

impl Drop for SyslogInput {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

fn udp_loop(socket: UdpSocket, sender: SyncSender<Received>, shared: Arc<Shared>, max: usize) {
    let mut buffer = vec![0u8; max + 1];
    while !shared.stop.load(Ordering::Relaxed) {
        let Ok((length, _)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let received = if length > max {
            Received::TooLong
        } else {
            let mut bytes = buffer[..length].to_vec();
            while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\0') {
                bytes.pop();
            }
            Received::Message(bytes)
        };
        match sender.try_send(received) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => return,
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    sender: SyncSender<Received>,
    shared: Arc<Shared>,
    max: usize,
    max_connections: usize,
) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.connections.load(Ordering::Relaxed) >= max_connections {
                    shared.refused.fetch_add(1, Ordering::Relaxed);
                    drop(stream);
                    continue;
                }
                shared.connections.fetch_add(1, Ordering::Relaxed);
                let (sender, shared) = (sender.clone(), shared.clone());
                let spawned = std::thread::Builder::new()
                    .name("syslog-tcp-conn".into())
                    .spawn({
                        let shared = shared.clone();
                        move || {
                            connection(stream, &sender, &shared, max);
                            shared.connections.fetch_sub(1, Ordering::Relaxed);
                        }
                    });
                if spawned.is_err() {
                    shared.connections.fetch_sub(1, Ordering::Relaxed);
                }
            }
            Err(_) => std::thread::sleep(POLL / 4),
        }
    }
}

fn connection(stream: TcpStream, sender: &SyncSender<Received>, shared: &Shared, max: usize) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(POLL)).is_err() {
        return;
    }
    let mut reader = BufReader::new(stream);
    loop {
        match frame(&mut reader, max, &shared.stop) {
            Ok(Some(received)) => {
                if sender.send(received).is_err() {
                    return;
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// Fills the buffer, retrying timeouts until `stop`; empty at the end of the stream.
fn fill<'r>(reader: &'r mut impl BufRead, stop: &AtomicBool) -> std::io::Result<&'r [u8]> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(&[]);
        }
        match reader.fill_buf() {
            Ok(_) => break,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(error) => return Err(error),
        }
    }
    reader.fill_buf()
}

/// The next TCP frame: octet-counted when it starts with a digit, else up to a newline.
pub(crate) fn frame(
    reader: &mut impl BufRead,
    max: usize,
    stop: &AtomicBool,
) -> std::io::Result<Option<Received>> {
    // Skip newlines between frames.
    loop {
        let buffer = fill(reader, stop)?;
        match buffer.first() {
            None => return Ok(None),
            Some(b'\n' | b'\r') => reader.consume(1),
            Some(_) => break,
        }
    }
    let first = fill(reader, stop)?[0];
    if first.is_ascii_digit() {
        let mut length = 0usize;
        loop {
            let buffer = fill(reader, stop)?;
            let Some(&byte) = buffer.first() else {
                return Ok(None);
            };
            reader.consume(1);
            match byte {
                b'0'..=b'9' if length < 1 << 30 => length = length * 10 + usize::from(byte - b'0'),
                b' ' => break,
                _ => return Ok(None),
            }
        }
        let mut message = Vec::with_capacity(length.min(max));
        let taken = reader
            .by_ref()
            .take(length.min(max) as u64)
            .read_to_end(&mut message)?;
        if length > max {
            let rest = (length - taken) as u64;
            std::io::copy(&mut reader.by_ref().take(rest), &mut std::io::sink())?;
            return Ok(Some(Received::TooLong));
        }
        return Ok(Some(Received::Message(message)));
    }
    let mut message = Vec::new();
    let mut too_long = false;
    loop {
        let buffer = fill(reader, stop)?;
        if buffer.is_empty() {
            break;
        }
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(newline) => (&buffer[..newline], Some(newline + 1)),
            None => (buffer, None),
        };
        if message.len() + chunk.len() > max {
            too_long = true;
        } else {
            message.extend_from_slice(chunk);
        }
        let used = done.unwrap_or(buffer.len());
        reader.consume(used);
        if done.is_some() {
            break;
        }
    }
    if too_long {
        return Ok(Some(Received::TooLong));
    }
    if message.last() == Some(&b'\r') {
        message.pop();
    }
    Ok(Some(Received::Message(message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn frames(input: &[u8], max: usize) -> Vec<Received> {
        let stop = AtomicBool::new(false);
        let mut reader = std::io::Cursor::new(input.to_vec());
        std::iter::from_fn(|| frame(&mut reader, max, &stop).unwrap()).collect()
    }

    #[test]
    fn octet_counted_and_newline_frames_with_the_size_bound() {
        let message = |s: &str| Received::Message(s.as_bytes().to_vec());
        let got = frames(b"5 hello\n3 abc\nline one\r\n\nline two", 8);
        assert_eq!(
            got,
            [
                message("hello"),
                message("abc"),
                Received::TooLong,
                message("line two")
            ]
        );
        // An octet-counted frame over the bound is skipped whole.
        let got = frames(b"12 0123456789ab3 xyz", 8);
        assert_eq!(got, [Received::TooLong, message("xyz")]);
    }

    #[test]
    fn connections_past_the_bound_are_refused() {
        let input = SyslogInput::bind(None, Some("127.0.0.1:0".parse().unwrap()), 100, 1).unwrap();
        let address = input.tcp.unwrap();
        let mut first = TcpStream::connect(address).unwrap();
        first.write_all(b"hello\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while input.shared.connections.load(Ordering::Relaxed) < 1 {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut second = TcpStream::connect(address).unwrap();
        second
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buffer = [0u8; 1];
        assert_eq!(second.read(&mut buffer).unwrap_or(0), 0, "closed at once");
        assert_eq!(input.dropped_and_refused().1, 1);
    }
}
