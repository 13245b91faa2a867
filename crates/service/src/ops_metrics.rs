//! Operational metrics that Prometheus scrapes: requests and their latency
//! by method and status, requests in flight, the database pool, and sync
//! polls. Names carry their units.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::sync::Arc;
use std::time::Instant;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PollLabels {
    /// unchanged: answered from the collection row alone.
    result: String,
}

pub struct OpsMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RequestLabels, Histogram>,
    in_flight: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
    sync_polls: Family<PollLabels, Counter>,
}

impl Default for OpsMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("almanac");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method and status",
            requests.clone(),
        );
        let latency = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
        });
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer a request, by method and status",
            Unit::Seconds,
            latency.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        let sync_polls = Family::<PollLabels, Counter>::default();
        registry.register(
            "sync_polls",
            "sync-collection reports, by whether anything had changed",
            sync_polls.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            in_flight,
            pool_connections,
            pool_idle,
            sync_polls,
        }
    }
}

impl OpsMetrics {
    /// The registry in the OpenMetrics text format, with the database
    /// pool's size and idle connections as of now.
    pub fn encode(&self, pool_size: u32, pool_idle: usize) -> Result<String, std::fmt::Error> {
        self.pool_connections.set(i64::from(pool_size));
        self.pool_idle
            .set(i64::try_from(pool_idle).unwrap_or(i64::MAX));
        let mut body = String::new();
        prometheus_client::encoding::text::encode(&mut body, &self.registry)?;
        Ok(body)
    }

    pub fn sync_poll(&self, changed: bool) {
        let result = if changed { "changed" } else { "unchanged" };
        self.sync_polls
            .get_or_create(&PollLabels {
                result: result.to_owned(),
            })
            .inc();
    }
}

/// Keeps label values few: unknown methods count as "OTHER".
fn method_label(method: &str) -> &str {
    match method {
        "GET" | "HEAD" | "PUT" | "POST" | "DELETE" | "OPTIONS" | "PROPFIND" | "PROPPATCH"
        | "MKCOL" | "MKCALENDAR" | "COPY" | "MOVE" | "REPORT" => method,
        _ => "OTHER",
    }
}

pub async fn track(
    State(metrics): State<Arc<OpsMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let method = method_label(request.method().as_str()).to_owned();
    let started = Instant::now();
    metrics.in_flight.inc();
    let response = next.run(request).await;
    metrics.in_flight.dec();
    let labels = RequestLabels {
        method,
        status: response.status().as_u16().to_string(),
    };
    metrics.requests.get_or_create(&labels).inc();
    metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}
