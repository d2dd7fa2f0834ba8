//! The situation room: a single-page UI served from the binary (no CDN, works offline).
//! Plain HTML, CSS and JavaScript, no build step: the page reads the same REST API and
//! live feed (SSE) as any client, and draws its charts on canvas. Everything shown is
//! set as text, never as HTML, so event content cannot inject markup.

use crate::api::AppState;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

const INDEX: &str = include_str!("../ui/index.html");
const APP_JS: &str = include_str!("../ui/app.js");
const APP_CSS: &str = include_str!("../ui/app.css");

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response() }),
        )
        .route(
            "/ui/app.js",
            get(|| async {
                ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS).into_response()
            }),
        )
        .route(
            "/ui/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response() }),
        )
}
