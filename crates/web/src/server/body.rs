//! A request body under watch:
//! - it fails when the client stops sending for too long;
//! - every byte the application reads is counted against one budget for
//!   all requests in flight, held until the request is answered, so the
//!   bodies held in memory at once stay bounded whatever clients send;
//! - what the application leaves unread is handed back to the connection
//!   (to drain it, or to close).

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
use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// The budget counts kibibytes.
const UNIT: usize = 1024;

/// Bytes of request bodies that requests in flight may hold together.
#[derive(Clone)]
pub(super) struct Budget {
    units: Arc<Semaphore>,
    total_units: u32,
}

impl Budget {
    pub(super) fn new(bytes: usize) -> Self {
        let total_units = u32::try_from((bytes / UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            units: Arc::new(Semaphore::new(total_units as usize)),
            total_units,
        }
    }

    /// Units for `len` bytes (a frame larger than the whole budget takes
    /// all of it).
    fn units_for(&self, len: usize) -> u32 {
        u32::try_from(len.div_ceil(UNIT))
            .unwrap_or(u32::MAX)
            .min(self.total_units)
    }
}

/// The connection's side: what became of the body.
#[derive(Clone, Default)]
pub(super) struct Leftover(Arc<Shared>);

#[derive(Default)]
struct Shared {
    rest: Mutex<Option<Incoming>>,
    /// The budget the body took; given back when the request is answered.
    held: Mutex<Option<OwnedSemaphorePermit>>,
    timed_out: AtomicBool,
    starved: AtomicBool,
    started: AtomicBool,
}

impl Leftover {
    /// The body as the application left it, if it was not read to its end.
    pub(super) fn take(&self) -> Option<Incoming> {
        self.0.rest.lock().take()
    }

    /// The client stopped sending the body.
    pub(super) fn timed_out(&self) -> bool {
        self.0.timed_out.load(Ordering::Acquire)
    }

    /// The body waited too long for room in the budget.
    pub(super) fn starved(&self) -> bool {
        self.0.starved.load(Ordering::Acquire)
    }

    /// Whether any of the body was asked for.
    pub(super) fn started(&self) -> bool {
        self.0.started.load(Ordering::Acquire)
    }

    fn hold(&self, permit: OwnedSemaphorePermit) {
        let mut held = self.0.held.lock();
        match held.as_mut() {
            Some(all) => all.merge(permit),
            None => *held = Some(permit),
        }
    }
}

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// The application's side of the body.
pub(super) struct Watched {
    inner: Option<Incoming>,
    shared: Leftover,
    budget: Budget,
    idle: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    /// A frame read, waiting for its room in the budget.
    waiting: Option<(Frame<Bytes>, Acquire)>,
}

/// The client sent nothing of the body for too long, or the server had no
/// room for it.
#[derive(Debug)]
pub(super) struct Stalled;

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body stopped arriving")
    }
}

impl std::error::Error for Stalled {}

impl Watched {
    pub(super) fn new(body: Incoming, idle: Duration, budget: Budget) -> (Self, Leftover) {
        let shared = Leftover::default();
        let watched = Self {
            inner: Some(body),
            shared: shared.clone(),
            budget,
            idle,
            deadline: None,
            waiting: None,
        };
        (watched, shared)
    }

    /// True once nothing has happened for the idle time (started on the
    /// first wait).
    fn idle_for_too_long(&mut self, cx: &mut Context<'_>) -> bool {
        let idle = self.idle;
        self.deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)))
            .as_mut()
            .poll(cx)
            .is_ready()
    }

    fn fail(&mut self, starved: bool) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.inner = None;
        self.waiting = None;
        let flag = if starved {
            &self.shared.0.starved
        } else {
            &self.shared.0.timed_out
        };
        flag.store(true, Ordering::Release);
        Poll::Ready(Some(Err(Box::new(Stalled))))
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Body for Watched {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some((_, acquire)) = this.waiting.as_mut() {
            return match acquire.as_mut().poll(cx) {
                Poll::Ready(Ok(permit)) => {
                    this.shared.hold(permit);
                    let (frame, _) = this.waiting.take().expect("a frame is waiting");
                    this.deadline = None;
                    Poll::Ready(Some(Ok(frame)))
                }
                Poll::Ready(Err(_)) => this.fail(true),
                Poll::Pending if this.idle_for_too_long(cx) => this.fail(true),
                Poll::Pending => Poll::Pending,
            };
        }
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        this.shared.0.started.store(true, Ordering::Release);
        match Pin::new(inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.deadline = None;
                let len = frame.data_ref().map_or(0, Bytes::len);
                let units = this.budget.units_for(len);
                if let Ok(permit) = this.budget.units.clone().try_acquire_many_owned(units) {
                    this.shared.hold(permit);
                    return Poll::Ready(Some(Ok(frame)));
                }
                let acquire = Box::pin(this.budget.units.clone().acquire_many_owned(units));
                this.waiting = Some((frame, acquire));
                Pin::new(this).poll_frame(cx)
            }
            Poll::Ready(Some(Err(e))) => {
                this.inner = None;
                Poll::Ready(Some(Err(e.into())))
            }
            Poll::Ready(None) => {
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending if this.idle_for_too_long(cx) => this.fail(false),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.waiting.is_none() && self.inner.as_ref().is_none_or(Body::is_end_stream)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_kibibytes_and_caps_one_frame_at_the_whole() {
        let budget = Budget::new(64 * 1024);
        assert_eq!(budget.units_for(0), 0);
        assert_eq!(budget.units_for(1), 1);
        assert_eq!(budget.units_for(2048), 2);
        assert_eq!(budget.units_for(10 << 20), 64);
    }
}
