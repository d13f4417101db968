//! The listener: accepts connections (plain or TLS, see [`tls`]) and serves HTTP/1.1 on
//! them under limits that keep idle and slow clients from exhausting the server.
//!
//! - at most `max_connections` open at once: when they are all open, the connection idle
//!   the longest with no request being handled is closed to make room (so idle and
//!   slowloris connections cannot lock out `/healthz` and real clients; the ones in use
//!   are never closed for it), and while every one is in use one new connection waits
//!   accepted and the next ones in the kernel's backlog instead of taking file
//!   descriptors;
//! - `header_read_timeout` for the TLS handshake and for each request's headers; hyper
//!   starts it when the connection opens and again when it waits for the next request,
//!   so a kept-alive connection that sends nothing is closed after it too;
//! - `idle_timeout`: a connection on which nothing was read or written for this long,
//!   with no request being handled, is closed (a response the client does not read
//!   counts as idle too);
//! - `body_read_timeout`: a request's body must arrive within it ([`body`]).
//!
//! Each request is handled with its client's address at hand ([`client_address`]), for
//! the per-client share of the in-flight body budget.

mod body;
pub mod tls;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify, Semaphore};

pub use body::BodyTimedOut;

tokio::task_local! {
    /// The address of the client whose request is being handled.
    static CLIENT_ADDRESS: std::net::IpAddr;
}

/// The address of the client whose request the current task handles: `None` outside a
/// request served by [`serve`] (in-process calls of the router, tests).
pub fn client_address() -> Option<std::net::IpAddr> {
    CLIENT_ADDRESS.try_with(|address| *address).ok()
}
pub use tls::{Tls, TlsError, TlsFiles};

/// How the listener serves; [`Listen::default`] is the documented defaults, plain HTTP.
#[derive(Debug, Clone)]
pub struct Listen {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
    pub tls: Option<Tls>,
}

impl Default for Listen {
    fn default() -> Listen {
        Listen {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(60),
            tls: None,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets every open
/// connection finish its request in flight and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    listen: Listen,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::from_fn_with_state(
        listen.body_read_timeout,
        body::body_deadline,
    ));
    let max = listen.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let open = Arc::new(Open::default());
    let (stop, stopping) = watch::channel(false);
    let reloader = listen.tls.as_ref().map(Tls::spawn_reloader);
    let listen = Arc::new(listen);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Every slot taken: the connection idle the longest makes room, if one is idle;
        // else this one waits for a slot (and the next ones in the kernel's backlog).
        if slots.available_permits() == 0 {
            open.close_idlest();
        }
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let (router, listen, stopping) = (router.clone(), Arc::clone(&listen), stopping.clone());
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            let activity = Arc::new(Activity::new());
            let (id, evicted) = open.register(Arc::clone(&activity));
            let io = Tracked {
                inner: stream,
                activity: Arc::clone(&activity),
            };
            match &listen.tls {
                None => connection(io, peer, router, &listen, activity, evicted, stopping).await,
                Some(tls) => {
                    let accept = tls.acceptor().accept(io);
                    match tokio::time::timeout(listen.header_read_timeout, accept).await {
                        Ok(Ok(io)) => {
                            connection(io, peer, router, &listen, activity, evicted, stopping).await
                        }
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            open.remove(id);
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    // Every connection holds a slot until it closes.
    let _ = slots.acquire_many(max as u32).await;
    Ok(())
}

/// Serves one connection until it closes, is idle too long, or shutdown begins.
async fn connection<I>(
    io: I,
    peer: std::net::SocketAddr,
    router: axum::Router,
    listen: &Listen,
    activity: Arc<Activity>,
    evicted: Arc<Notify>,
    mut stopping: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let inner = TowerToHyperService::new(router);
    let counted = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request| {
        let busy = counted.begin();
        let answer = hyper::service::Service::call(&inner, request);
        CLIENT_ADDRESS.scope(peer.ip(), async move {
            let answer = answer.await;
            drop(busy);
            answer
        })
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(listen.header_read_timeout)
        .keep_alive(true);
    let conn = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let idle = listen.idle_timeout;
    let mut closing = false;
    loop {
        // A request being handled keeps the connection: look again a period later
        // (never a zero wait, which would spin while a slow request runs).
        let wait = if activity.in_flight() > 0 {
            idle
        } else {
            idle.saturating_sub(activity.idle_for())
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep(wait) => {
                if activity.idle_for() < idle || activity.in_flight() > 0 {
                    continue;
                }
                if closing {
                    tracing::debug!("closing a connection idle past its shutdown");
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.touch();
            }
            _ = stopping.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = evicted.notified() => {
                if activity.in_flight() == 0 {
                    tracing::debug!("closing an idle connection to make room for a new one");
                    return;
                }
            }
        }
    }
}

/// Each open connection's activity and the signal that asks it to close, by id.
type Connections = std::collections::HashMap<u64, (Arc<Activity>, Arc<Notify>)>;

/// The open connections, so that a full listener can close the one idle the longest.
#[derive(Default)]
struct Open {
    next: AtomicU64,
    connections: std::sync::Mutex<Connections>,
}

impl Open {
    /// Adds a connection; its id and the signal that asks it to close.
    fn register(&self, activity: Arc<Activity>) -> (u64, Arc<Notify>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let evicted = Arc::new(Notify::new());
        self.lock().insert(id, (activity, Arc::clone(&evicted)));
        (id, evicted)
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Asks the connection idle the longest, with no request being handled, to close
    /// (none when every connection is in use). O(connections), only when all are open.
    fn close_idlest(&self) {
        let connections = self.lock();
        let idlest = connections
            .values()
            .filter(|(activity, _)| activity.in_flight() == 0)
            .max_by_key(|(activity, _)| activity.idle_for());
        if let Some((_, evicted)) = idlest {
            evicted.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connections> {
        self.connections
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// When a connection last moved bytes, and how many of its requests are being handled.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: Arc<AtomicUsize>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn touch(&self) {
        let now = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }

    fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a request until the returned guard drops (its answer's head is ready).
    fn begin(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(&self.in_flight))
    }
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A stream that records its activity on every read or write that moves bytes.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
