//! The HTTP API: ingest (native, Alertmanager, named mappings, OTLP logs), queries, operator actions,
//! the live feed (SSE), the overview's history, OpenAPI, metrics and health. Every JSON
//! error body is `{"error": "..."}` (plus `rejected` for ingest).

use crate::live::LiveMsg;
use crate::state::{Rejected, Shared};
use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use serde::Serialize;
use sitrep_core::actions::{ActionRequest, CommandError};
use sitrep_core::query::Query;
use sitrep_core::InputFormat;
use std::sync::Arc;
use tokio_stream::wrappers::BroadcastStream;

pub type AppState = Arc<Shared>;

/// Largest operator action body accepted (a comment included).
pub const MAX_ACTION_BYTES: usize = 64 * 1024;

pub fn router(shared: AppState, metrics: Option<metrics_exporter_prometheus::PrometheusHandle>) -> Router {
    let api = Router::new()
        .route("/api/v1/events", post(post_events))
        .route("/api/v1/alertmanager", post(post_alertmanager))
        .route("/api/v1/ingest/:mapping", post(post_mapping))
        // the OTLP/HTTP path, so that an exporter's endpoint can be this server's base URL
        .route("/v1/logs", post(crate::otlp::post_logs))
        .route("/api/v1/alerts", get(list_alerts))
        .route("/api/v1/alerts/:id", get(one_alert))
        .route("/api/v1/incidents", get(list_incidents))
        .route("/api/v1/incidents/:id", get(one_incident))
        .route("/api/v1/incidents/:id/actions", post(post_action))
        .route("/api/v1/incidents/:id/similar", get(similar_incidents))
        .route("/api/v1/stats", get(stats))
        .route("/api/v1/learned", get(learned))
        .route("/api/v1/live", get(live))
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), auth));
    Router::new()
        .merge(api)
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move {
                    match m {
                        Some(h) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render())
                            .into_response(),
                        None => (StatusCode::NOT_FOUND, "metrics recorder not installed").into_response(),
                    }
                }
            }),
        )
        .merge(crate::ui::router())
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            browser_guard,
        ))
        .with_state(shared)
}

/// Defences for the one client that runs other people's code: the browser.
/// - A state-changing request that carries an `Origin` (browsers always send one on POST)
///   must come from the page's own origin: a form or `fetch` on another site cannot post
///   events or actions here (CSRF), even with no token configured.
/// - When the server listens on loopback, such a request must also name a loopback host: a
///   page on a rebound DNS name (`evil.example` → 127.0.0.1) is refused.
/// - Every response forbids framing, sniffing and foreign scripts (CSP).
///
/// Clients that are not browsers (curl, Alertmanager, collectors) send no `Origin` and are
/// unaffected.
async fn browser_guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (false, Some(origin)) = (safe, req.headers().get(header::ORIGIN)) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, h)| h)
            .unwrap_or("");
        if origin_host != host {
            return error(
                StatusCode::FORBIDDEN,
                format!(
                    "cross-origin request from `{}` refused",
                    origin.to_str().unwrap_or("?")
                ),
            );
        }
        if s.cfg.listen.ip().is_loopback() && !is_loopback_host(host) {
            return error(
                StatusCode::FORBIDDEN,
                format!("this server listens on loopback; host `{host}` is not a loopback name"),
            );
        }
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    r
}

/// `localhost`, `127.x.x.x` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": msg.into() }))).into_response()
}

/// Bearer-token check: mutating requests need it when a token is set; reads only when
/// `auth_reads` is on. GET requests may carry it as `?token=` (EventSource cannot set
/// headers).
async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = s.api_token.as_deref() else {
        return next.run(req).await;
    };
    let mutating = req.method() != Method::GET;
    if !mutating && !s.cfg.auth_reads {
        return next.run(req).await;
    }
    let header_token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    // a token in a URL ends up in logs and histories: only the live feed takes one, as a
    // browser's EventSource cannot send a header
    let takes_query_token = !mutating && req.uri().path() == "/api/v1/live";
    let query_token = takes_query_token
        .then(|| req.uri().query())
        .flatten()
        .and_then(|q| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                .ok()?
                .into_iter()
                .find(|(k, _)| k == "token")
                .map(|(_, v)| v)
        });
    match header_token.or(query_token) {
        None => {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "this endpoint needs `Authorization: Bearer <token>` (server.api_token or SITREP_API_TOKEN)",
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sitrep\""),
            );
            r
        }
        Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => next.run(req).await,
        Some(_) => error(
            StatusCode::FORBIDDEN,
            "the bearer token is not valid for this server",
        ),
    }
}

/// The guard of an API that serves no pages (the Kafka worker's actions endpoint): any
/// request a browser sends from a page (it carries an `Origin`) is refused, as no page of
/// this API exists to be same-origin with; with a token set (`SITREP_API_TOKEN`), every
/// request needs `Authorization: Bearer <token>`.
pub async fn headless_api_guard(State(token): State<Option<Arc<str>>>, req: Request, next: Next) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        return error(
            StatusCode::FORBIDDEN,
            format!(
                "cross-origin request from `{}` refused: this API serves no pages",
                origin.to_str().unwrap_or("?")
            ),
        );
    }
    if let Some(token) = token.as_deref() {
        let presented = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            None => {
                return error(
                    StatusCode::UNAUTHORIZED,
                    "this endpoint needs `Authorization: Bearer <token>` (SITREP_API_TOKEN)",
                )
            }
            Some(t) if !constant_time_eq(t.as_bytes(), token.as_bytes()) => {
                return error(
                    StatusCode::FORBIDDEN,
                    "the bearer token is not valid for this server",
                )
            }
            Some(_) => {}
        }
    }
    next.run(req).await
}

/// Compares a presented token with the expected one in time that depends only on the
/// expected token's length: every byte is compared, whatever the presented length.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = (presented.len() != expected.len()) as u8;
    for (i, e) in expected.iter().enumerate() {
        diff |= presented.get(i).copied().unwrap_or(!e) ^ e;
    }
    diff == 0
}

#[derive(Serialize)]
struct IngestReply {
    accepted: usize,
    rejected: Vec<Rejected>,
}

async fn post_events(State(s): State<AppState>, req: Request) -> Response {
    ingest(s, InputFormat::Native, "http", req).await
}

async fn post_alertmanager(State(s): State<AppState>, req: Request) -> Response {
    ingest(s, InputFormat::Alertmanager, "alertmanager", req).await
}

async fn post_mapping(State(s): State<AppState>, Path(mapping): Path<String>, req: Request) -> Response {
    if !s.mappings.contains(&mapping) {
        let known = s.mappings.join(", ");
        return error(
            StatusCode::NOT_FOUND,
            format!("no mapping `{mapping}` in the config (known: {known})"),
        );
    }
    ingest(s, InputFormat::Mapping(mapping.clone()), "mapping", req).await
}

pub(crate) enum BodyError {
    TooLarge,
    Slow(Response),
}

/// The whole body, bounded in size and in time (`server.body_timeout_secs`): a client that
/// trickles its body must not hold an in-flight slot for as long as it likes.
pub(crate) async fn read_body(
    s: &AppState,
    req: Request,
    limit: usize,
) -> Result<axum::body::Bytes, BodyError> {
    let secs = s.cfg.body_timeout_secs.max(1);
    match tokio::time::timeout(
        std::time::Duration::from_secs(secs),
        axum::body::to_bytes(req.into_body(), limit),
    )
    .await
    {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(_)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::Slow(error(
            StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {secs} s (server.body_timeout_secs)"),
        ))),
    }
}

async fn ingest(s: AppState, format: InputFormat, source: &'static str, req: Request) -> Response {
    // bounded: beyond this many requests in flight, callers back off instead of queueing
    let Ok(_permit) = s.inflight.try_acquire() else {
        crate::telemetry::request_shed();
        let mut r = error(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded: retry after the delay given",
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    };
    let limit = s.cfg.max_body_bytes;
    let body = match read_body(&s, req, limit).await {
        Ok(b) => b,
        Err(BodyError::Slow(r)) => return r,
        Err(BodyError::TooLarge) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body is over the limit of {limit} bytes (server.max_body_bytes)"),
            )
        }
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        // an empty body is a client mistake (curl posting a file that is not there), never
        // an acknowledged nothing
        return error(StatusCode::BAD_REQUEST, "the body is empty: nothing to ingest");
    }
    let ingested = s.ingest(&format, source, &body, s.now());
    if let Some(durable) = ingested.durable {
        if let Err(e) = durable.wait().await {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("journal write failed, nothing in this request is acknowledged: {e}"),
            );
        }
    }
    let (n, rejected) = (ingested.accepted, ingested.rejected);
    let status = if rejected.is_empty() {
        StatusCode::ACCEPTED
    } else {
        StatusCode::BAD_REQUEST
    };
    (
        status,
        Json(IngestReply {
            accepted: n,
            rejected,
        }),
    )
        .into_response()
}

fn parse_query(raw: Option<String>) -> Result<Query, Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    let kept: Vec<(String, String)> = pairs.into_iter().filter(|(k, _)| k != "token").collect();
    let text = serde_urlencoded::to_string(&kept).unwrap_or_default();
    serde_urlencoded::from_str::<Query>(&text).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            format!("bad query parameter: {e} (state, severity, service, source, text, since, until, offset, limit)"),
        )
    })
}

/// An unknown `state` is an error, as an unknown `severity` is: an empty page would read
/// as "nothing is in that state".
fn check_state(q: &Query, known: &[&str]) -> Result<(), Response> {
    match q.state.as_deref() {
        Some(s) if !known.contains(&s) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("unknown state `{s}` (one of: {})", known.join(", ")),
        )),
        _ => Ok(()),
    }
}

async fn list_alerts(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match parse_query(q).and_then(|q| check_state(&q, &["open", "cleared"]).map(|()| q)) {
        Ok(q) => Json(s.engine().query_alerts(&q)).into_response(),
        Err(r) => r,
    }
}

async fn list_incidents(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let states = ["active", "open", "acknowledged", "resolved", "closed"];
    match parse_query(q).and_then(|q| check_state(&q, &states).map(|()| q)) {
        Ok(q) => Json(s.engine().query_incidents(&q)).into_response(),
        Err(r) => r,
    }
}

async fn one_alert(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    match s.engine().alert_by_id(&id) {
        Some(a) => Json(a).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no alert `{id}`")),
    }
}

async fn one_incident(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let found = s.engine().incident_by_id(&id);
    match found {
        Some((view, alerts)) => {
            let mut v = serde_json::to_value(view).expect("serialises");
            v["alerts"] = serde_json::to_value(alerts).expect("serialises");
            Json(v).into_response()
        }
        None => error(StatusCode::NOT_FOUND, format!("no incident `{id}`")),
    }
}

/// The earlier incidents most like this one, best first: `?limit=` (1..50, default 5).
async fn similar_incidents(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let q = match parse_query(raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let limit = if q.limit == 0 { 5 } else { q.limit.min(50) };
    let found = s.engine().similar_incidents(&id, limit);
    match found {
        Some(items) => Json(serde_json::json!({ "items": items })).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no incident `{id}`")),
    }
}

/// An action as posted: the action's own fields plus who does it.
async fn post_action(State(s): State<AppState>, Path(id): Path<String>, req: Request) -> Response {
    // an action is a few fields and perhaps a comment: no reason for more, and a body read
    // whole must be bounded (it is journalled and served back in the timeline)
    let body = match read_body(&s, req, MAX_ACTION_BYTES).await {
        Ok(b) => b,
        Err(BodyError::Slow(r)) => return r,
        Err(BodyError::TooLarge) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("an action body is at most {MAX_ACTION_BYTES} bytes"),
            )
        }
    };
    let request: ActionRequest = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("bad action: {e} ({})", ActionRequest::HELP),
            )
        }
    };
    let cmd = request.into_command(id.clone(), s.now());
    match s.command(cmd) {
        Ok(durable) => {
            if let Err(e) = durable.wait().await {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("journal write failed: {e}"),
                );
            }
            crate::telemetry::action_applied();
            let view = s.engine().incident_by_id(&id).map(|(v, _)| v);
            (StatusCode::OK, Json(view)).into_response()
        }
        Err(e @ CommandError::UnknownIncident(_)) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e) => error(StatusCode::CONFLICT, e.to_string()),
    }
}

/// Ready unless the journal is failing: a load balancer then sends inputs elsewhere
/// instead of having them refused with 503 one by one.
async fn readyz(State(s): State<AppState>) -> Response {
    if s.journal_failing() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the latest journal write failed (disk full or I/O error); inputs are refused until a write succeeds\n",
        )
            .into_response();
    }
    "ready".into_response()
}

async fn stats(State(s): State<AppState>) -> Response {
    let engine = s.engine().stats();
    Json(serde_json::json!({ "engine": engine, "history": s.history(), "feed": s.feed_status() }))
        .into_response()
}

/// What learned recipes have learned: every attribute key (its lift, close pairs, whether it
/// is evidence) and the learned topology (which sources' alerts name which), strongest
/// first; `?limit=` bounds the edges (1..5000, default 500).
async fn learned(State(s): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let q = match parse_query(raw) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let limit = if q.limit == 0 { 500 } else { q.limit.min(5000) };
    let e = s.engine();
    Json(serde_json::json!({
        "attributes": e.learned_attributes(),
        "edges": e.learned_edges(limit),
    }))
    .into_response()
}

/// Server-sent events: `incident` (an incident update, schema v1) and `stats` (a sample
/// per tick). A client that falls behind gets `lagged` and should refetch the list.
async fn live(State(s): State<AppState>) -> impl IntoResponse {
    let rx = s.feed.subscribe();
    let stream = BroadcastStream::new(rx).map(|m| {
        Ok::<_, std::convert::Infallible>(match m {
            Ok(LiveMsg::Incident(_, json)) => SseEvent::default().event("incident").data(&*json),
            Ok(LiveMsg::Stats(json)) => SseEvent::default().event("stats").data(&*json),
            Err(_) => SseEvent::default().event("lagged").data("{}"),
        })
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    (headers, Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(include_str!("openapi.json")),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// The headless guard: a browser's request is refused; with a token, only the bearer.
    #[tokio::test]
    async fn the_headless_guard_refuses_browsers_and_wrong_tokens() {
        let app = |token: Option<&str>| {
            Router::new().route("/act", post(|| async { "done" })).layer(
                axum::middleware::from_fn_with_state(token.map(Arc::<str>::from), headless_api_guard),
            )
        };
        let serve = |r: Router| async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let a = l.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(l, r).await });
            format!("http://{a}/act")
        };
        let c = reqwest::Client::new();
        let open = serve(app(None)).await;
        assert_eq!(c.post(&open).send().await.unwrap().status(), 200);
        let from_page = c
            .post(&open)
            .header("origin", "http://evil.example")
            .send()
            .await
            .unwrap();
        assert_eq!(from_page.status(), 403);
        let locked = serve(app(Some("s3cret"))).await;
        assert_eq!(c.post(&locked).send().await.unwrap().status(), 401);
        assert_eq!(
            c.post(&locked).bearer_auth("nope").send().await.unwrap().status(),
            403
        );
        assert_eq!(
            c.post(&locked)
                .bearer_auth("s3cret")
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }

    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:80",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:80",
            "",
            "[fe80::1]:80",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
    }
}
