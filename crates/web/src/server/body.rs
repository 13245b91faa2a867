//! A request body under watch: it fails when the client stops sending for
//! too long, and what the application leaves unread is handed back to the
//! connection (to drain it, or to close).

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use parking_lot::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The connection's side: whether the body stalled, and its unread rest.
#[derive(Clone, Default)]
pub(super) struct Leftover(Arc<Shared>);

#[derive(Default)]
struct Shared {
    rest: Mutex<Option<Incoming>>,
    timed_out: AtomicBool,
    started: AtomicBool,
}

impl Leftover {
    /// The body as the application left it, if it was not read to its end.
    pub(super) fn take(&self) -> Option<Incoming> {
        self.0.rest.lock().take()
    }

    pub(super) fn timed_out(&self) -> bool {
        self.0.timed_out.load(Ordering::Acquire)
    }

    /// Whether any of the body was asked for.
    pub(super) fn started(&self) -> bool {
        self.0.started.load(Ordering::Acquire)
    }
}

/// The application's side of the body.
pub(super) struct Watched {
    inner: Option<Incoming>,
    shared: Leftover,
    idle: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
}

/// The client sent nothing of the body for too long.
#[derive(Debug)]
pub(super) struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stopped arriving")
    }
}

impl std::error::Error for Stalled {}

impl Watched {
    pub(super) fn new(body: Incoming, idle: Duration) -> (Self, Leftover) {
        let shared = Leftover::default();
        let watched = Self {
            inner: Some(body),
            shared: shared.clone(),
            idle,
            deadline: None,
        };
        (watched, shared)
    }
}

impl Body for Watched {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        this.shared.0.started.store(true, Ordering::Release);
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(deadline) = this.deadline.as_mut() {
                    deadline.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.inner = None;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                let idle = this.idle;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if deadline.as_mut().poll(cx).is_ready() {
                    this.inner = None;
                    this.shared.0.timed_out.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(Box::new(Stalled))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        if let Some(rest) = self.inner.take() {
            if !rest.is_end_stream() {
                *self.shared.0.rest.lock() = Some(rest);
            }
        }
    }
}
