//! The HTTP/1.1 listener: the application behind the defences a server on
//! the open internet needs (`[server]` settings).
//!
//! - At most `max_connections` connections; one more is answered 503 and
//!   closed, so the process never runs out of descriptors.
//! - A connection that does not send a whole request head within
//!   `header_read_timeout_seconds` (a silent or slowloris one, or an idle
//!   keep-alive one) is closed.
//! - A body that stalls for `body_timeout_seconds` is answered 408, a
//!   request that takes `request_timeout_seconds` is answered 503; both
//!   close the connection. A client that reads nothing of its answer for
//!   `send_timeout_seconds` is disconnected.
//! - A response sent before the request body was read (a redirect, a 401,
//!   a 404) drains a small rest of the body, or closes the connection, so a
//!   client never reuses a connection the server has given up on.
//! - Header names go out in title case, as some clients and proxies expect.
//!
//! TLS and HTTP/2 are the reverse proxy's job (see RUNBOOK.md).

mod body;
mod send;

use almanac_service::config::ServerSettings;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use body::{Budget, Leftover, Watched};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use send::SendTimeout;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// Descriptors kept free for the database, the log and files.
const RESERVED_DESCRIPTORS: u64 = 256;
/// The most of an unread request body drained to keep a connection open.
const DRAIN_LIMIT: u64 = 64 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// How long requests in flight may finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// Listens on `address` (`host:port`) with a long accept queue: a burst of
/// connections waits there for the accept loop instead of being dropped.
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    const BACKLOG: u32 = 4096;
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(address).await? {
        let socket = if candidate.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(candidate) {
            Ok(()) => return socket.listen(BACKLOG),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "the address names no host")
    }))
}

/// Raises the descriptor limit as far as allowed and returns how many
/// connections fit under it with `max_connections` as the ceiling.
pub fn connection_capacity(max_connections: usize) -> usize {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let fits =
        usize::try_from(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)).unwrap_or(usize::MAX);
    if fits < max_connections {
        tracing::warn!(
            descriptors = limit,
            max_connections,
            "the descriptor limit allows only {fits} connections; raise LimitNOFILE"
        );
    }
    max_connections.min(fits)
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let capacity = connection_capacity(settings.max_connections);
    let slots = Arc::new(Semaphore::new(capacity));
    let limits = Arc::new(Limits::from(settings));
    let budget = Budget::new(settings.max_buffered_body_bytes);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was
                    // accepted: wait a moment and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = {
            let (app, limits, budget) = (app.clone(), limits.clone(), budget.clone());
            hyper::service::service_fn(move |request| {
                handle(app.clone(), limits.clone(), budget.clone(), peer, request)
            })
        };
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read)
            .title_case_headers(true)
            .serve_connection(
                TokioIo::new(SendTimeout::new(stream, limits.send_stall)),
                service,
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running after the grace period were cut off");
    }
    Ok(())
}

struct Limits {
    header_read: Duration,
    body_idle: Duration,
    send_stall: Duration,
    request: Duration,
}

impl From<&ServerSettings> for Limits {
    fn from(settings: &ServerSettings) -> Self {
        Self {
            header_read: Duration::from_secs(settings.header_read_timeout_seconds.max(1)),
            body_idle: Duration::from_secs(settings.body_timeout_seconds.max(1)),
            send_stall: Duration::from_secs(settings.send_timeout_seconds.max(1)),
            request: Duration::from_secs(settings.request_timeout_seconds.max(1)),
        }
    }
}

/// One request: the application under the request timeout, with the body
/// watched for stalls and for what the application left unread.
async fn handle(
    app: Router,
    limits: Arc<Limits>,
    budget: Budget,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<axum::body::Body>, Infallible> {
    let (mut parts, incoming) = request.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    let expects_continue = parts
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (body, leftover) = Watched::new(incoming, limits.body_idle, budget);
    let request = Request::from_parts(parts, axum::body::Body::new(body));
    let response = tokio::time::timeout(limits.request, app.oneshot(request)).await;
    let mut response = match response {
        Ok(Ok(response)) => response,
        Ok(Err(never)) => match never {},
        Err(_) => {
            tracing::warn!(%peer, "a request took longer than the request timeout");
            return Ok(closing(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "The request took too long; try again later.\n",
            )));
        }
    };
    if leftover.starved() {
        return Ok(closing(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is receiving too much at once; try again in a moment.\n",
        )));
    }
    if leftover.timed_out() {
        return Ok(closing(plain(
            StatusCode::REQUEST_TIMEOUT,
            "The request body stopped arriving.\n",
        )));
    }
    if !finish_body(&leftover, expects_continue).await {
        response = closing(response);
    }
    Ok(response)
}

/// Reads what the application left of the body, if it is small enough, so
/// the connection can serve the next request. False: close it instead.
async fn finish_body(leftover: &Leftover, expects_continue: bool) -> bool {
    let Some(rest) = leftover.take() else {
        return true;
    };
    // The client waits for a go-ahead before it sends the body: asking for
    // it now would only waste its time.
    if expects_continue && !leftover.started() {
        return false;
    }
    let small = http_body::Body::size_hint(&rest)
        .upper()
        .is_none_or(|upper| upper <= DRAIN_LIMIT);
    if !small {
        return false;
    }
    let limited = http_body_util::Limited::new(rest, usize::try_from(DRAIN_LIMIT).unwrap_or(0));
    matches!(
        tokio::time::timeout(DRAIN_TIME, http_body_util::BodyExt::collect(limited)).await,
        Ok(Ok(_))
    )
}

fn plain(status: StatusCode, text: &'static str) -> Response<axum::body::Body> {
    let mut response = Response::new(axum::body::Body::from(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn closing(mut response: Response<axum::body::Body>) -> Response<axum::body::Body> {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A connection beyond `max_connections`: a short 503, then close.
async fn refuse(mut stream: TcpStream) {
    const TEXT: &str = "The server is at its connection limit; try again in a few seconds.\n";
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Retry-After: 5\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{TEXT}",
        TEXT.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes: closing with its
        // request unread would reset the connection, and the reset can
        // reach the client before the answer does.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}
