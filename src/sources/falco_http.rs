//! A listener for Falco's `http_output`: one alert per POST, as JSON. Bodies over the limit get
//! 413, bodies that are not Falco alerts 400, a missing or wrong token 401; the listener keeps
//! serving whatever one request sends.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use crate::config::FalcoConfig;
use crate::parse::falco;
use crate::store::status::Health;
use crate::store::writer::{StoreWriter, Write};

pub const SOURCE: &str = crate::store::status::names::FALCO_HTTP;
/// The header that carries the shared secret.
pub const TOKEN_HEADER: &str = "x-rampart-token";

#[derive(Clone)]
struct Shared {
    writer: StoreWriter,
    token: Option<String>,
}

async fn accept(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> (StatusCode, String) {
    if let Some(token) = &shared.token {
        let given = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        if given != Some(token.as_str()) {
            return (StatusCode::UNAUTHORIZED, "missing or wrong X-Rampart-Token\n".into());
        }
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return (StatusCode::BAD_REQUEST, "the body is not UTF-8\n".into());
    };
    match falco::parse(text) {
        Ok(alert) => match shared.writer.send(Write::Alert(alert)).await {
            Ok(()) => (StatusCode::OK, "stored\n".into()),
            Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        },
        Err(why) => (StatusCode::BAD_REQUEST, format!("{why}\n")),
    }
}

/// The service, for the listener and for tests.
pub fn router(writer: StoreWriter, config: &FalcoConfig) -> Router {
    Router::new()
        .route("/", post(accept))
        .layer(DefaultBodyLimit::max(config.max_body))
        .with_state(Shared { writer, token: config.token.clone() })
}

/// Serves on `config.listen` until the writer goes away or the listener fails (said in the status).
pub async fn run(writer: StoreWriter, config: FalcoConfig) {
    let Some(address) = config.listen.clone() else { return };
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(l) => l,
        Err(e) => {
            super::report(&writer, SOURCE, Health::Down, format!("cannot listen on {address}: {e}")).await;
            return;
        }
    };
    let detail = format!("listening on {address}{}", if config.token.is_some() { " (token required)" } else { "" });
    if !super::report(&writer, SOURCE, Health::Ok, detail).await {
        return;
    }
    if let Err(e) = axum::serve(listener, router(writer.clone(), &config)).await {
        super::report(&writer, SOURCE, Health::Down, format!("the listener on {address} stopped: {e}")).await;
    }
}
