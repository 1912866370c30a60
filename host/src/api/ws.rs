//! WebSocket push: every client gets `{"type": "candle" | "signal" | "order" | "trade" |
//! "plugin", "data": {...}}` messages as the core produces them.

use super::AppState;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Upgrade to a WebSocket that streams host events.
#[utoipa::path(get, path = "/ws", responses((status = 101, description = "WebSocket stream of candle, signal, order, trade and plugin messages")))]
pub async fn ws(State(state): State<AppState>, upgrade: WebSocketUpgrade) -> Response {
    let rx = state.bus.subscribe();
    upgrade.on_upgrade(move |socket| stream(socket, rx))
}

async fn stream(mut socket: WebSocket, mut rx: tokio::sync::broadcast::Receiver<Arc<str>>) {
    let hello = serde_json::json!({ "type": "hello", "data": { "messages": ["candle", "signal", "order", "trade", "plugin"] } });
    if socket.send(Message::Text(hello.to_string().into())).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(text) => {
                    if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let note = serde_json::json!({ "type": "lagged", "data": { "missed": n } });
                    if socket.send(Message::Text(note.to_string().into())).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
