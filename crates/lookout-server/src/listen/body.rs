//! A deadline on reading a request's body: a client that sends its body slowly (or
//! stops one byte short) holds a connection, a task and a buffer; past the deadline the
//! body reads fail and the handler answers with an error.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Sleep;

/// Middleware: every request's body must arrive within `timeout` of the request's start.
pub(crate) async fn body_deadline(
    State(timeout): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.body().is_end_stream() {
        // No body (a GET): nothing to wait for, no timer to set.
        return next.run(request).await;
    }
    let request = request.map(|body| Body::new(DeadlineBody::new(body, timeout)));
    next.run(request).await
}

/// The body ran past its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?} (server.body_read_timeout)")]
pub struct BodyTimedOut(Duration);

/// A body whose frames fail once `timeout` has passed since it was made.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    timeout: Duration,
}

impl DeadlineBody {
    fn new(inner: Body, timeout: Duration) -> DeadlineBody {
        DeadlineBody {
            inner,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            timeout,
        }
    }
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        match this.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut(this.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
