//! One error type for every handler: a status and a clear message, never internals.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// The request is malformed; the message says how.
    BadRequest(String),
    /// The thing asked for does not exist.
    NotFound(String),
    /// No API key was sent to a mutating endpoint.
    Unauthorized(String),
    /// A wrong API key was sent.
    Forbidden(String),
    /// Too many requests for this key; the message says when to retry.
    RateLimited(String),
    /// An exchange answered with an error or could not be reached: the status chosen
    /// for it (400 refused order, 404 unknown order, 409 halted, 429 throttled, 502
    /// exchange or network failure) and the exchange's words.
    Exchange(u16, String),
    /// The core loop is not answering (shutting down).
    Unavailable,
    /// Something failed inside; details are in the log, not the response.
    Internal,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::RateLimited(m) => (StatusCode::TOO_MANY_REQUESTS, m),
            ApiError::Exchange(code, m) => (StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY), m),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "the host is shutting down".into()),
            ApiError::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal error; see the host log".into()),
        };
        (status, Json(serde_json::json!({ "error": message, "status": status.as_u16() }))).into_response()
    }
}
