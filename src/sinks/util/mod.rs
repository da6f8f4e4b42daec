//! What every HTTP sink shares: config keys, secrets, TLS, the client,
//! retry timing, templates, the dead-letter file, and the delivery engine.

pub mod client;
pub mod config;
pub mod dead_letter;
pub mod driver;
pub mod retry;
pub mod secret;
pub mod template;
pub mod tls;

use http::StatusCode;

use client::{snippet, Response, SendError};
use dead_letter::Rejection;
use driver::{Attempt, Retry};

/// A failed attempt without a response: always retried.
pub fn transport_retry(e: &SendError) -> Attempt {
    let kind = match e {
        SendError::Timeout => "timeout",
        SendError::Transport(_) => "network",
    };
    Attempt::Retry(Retry {
        kind,
        detail: e.to_string(),
        after: None,
    })
}

/// The common judgement of a status: 2xx delivered; 408, 429 and 5xx
/// retried (honouring `Retry-After`); 401/403 retried as `auth` (a revoked
/// or mistyped credential is an operator's fix, not the events' fault:
/// they wait, with the checkpoint, until it is fixed, instead of filling the
/// dead-letter file); 413 split; other 4xx rejected with the body's text.
pub fn classify_status(resp: &Response) -> Attempt {
    let s = resp.status;
    if s.is_success() {
        return Attempt::Delivered;
    }
    let detail = || format!("HTTP {}: {}", s.as_u16(), snippet(&resp.body, 300));
    if s == StatusCode::REQUEST_TIMEOUT || s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error()
    {
        return Attempt::Retry(Retry {
            kind: status_kind(s),
            detail: detail(),
            after: retry::retry_after(&resp.headers),
        });
    }
    if s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN {
        return Attempt::Retry(Retry {
            kind: "auth",
            detail: detail(),
            after: retry::retry_after(&resp.headers),
        });
    }
    let rej = Rejection {
        status: Some(s.as_u16()),
        kind: status_kind(s),
        reason: detail(),
    };
    if s == StatusCode::PAYLOAD_TOO_LARGE {
        return Attempt::Split(rej);
    }
    Attempt::Reject(rej)
}

/// A fixed label for a status (metric values stay few).
pub fn status_kind(s: StatusCode) -> &'static str {
    match s.as_u16() {
        400 => "http_400",
        404 => "http_404",
        408 => "http_408",
        413 => "http_413",
        422 => "http_422",
        429 => "http_429",
        500..=599 => "http_5xx",
        _ => "http_4xx",
    }
}
