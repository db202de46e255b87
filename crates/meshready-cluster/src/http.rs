//! One GET against the API server, retried the way client-go retries: exponential backoff with
//! jitter for 429 (honouring `Retry-After`), 5xx, connections closed or reset without an answer,
//! and requests that outlive their own timeout. Failures keep kubectl's words.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use kube::Client;
use kube::client::Body;

use crate::limit::Limiter;
use crate::pieces::joined;

/// The longest `Retry-After` honoured (a larger one is shortened to this).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts per request, the first included (at least 1).
    pub attempts: u32,
    /// The delay before the first retry; it doubles on every later one.
    pub base: Duration,
    /// The longest delay between two attempts (before jitter).
    pub max: Duration,
    /// How long one request (answer and body) may take before it is abandoned and retried.
    pub request_timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(250),
            max: Duration::from_secs(8),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl Retry {
    /// The delay before retry number `retry` (1-based): `base · 2^(retry-1)`, at most `max`,
    /// then jittered down by up to a half (so that many clients do not retry in step).
    #[must_use]
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let full = self.base.saturating_mul(factor).min(self.max);
        let half = full / 2;
        let jitter = random_fraction();
        half + half.mul_f64(jitter)
    }
}

/// A number in `[0, 1)` from the standard library's randomly seeded hasher.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    // 53 random bits, the precision of an f64.
    #[allow(clippy::cast_precision_loss)]
    let bits = (hasher.finish() >> 11) as f64;
    bits / (1u64 << 53) as f64
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The API server answered with an error.
    Status {
        /// HTTP status code.
        code: u16,
        /// The Status object's `reason` (`Forbidden`, `Expired`), or one derived from the code.
        reason: String,
        /// The Status object's `message`, or a description of a body that was not a Status.
        message: String,
    },
    /// No answer: the connection failed, was closed or reset, or the request timed out.
    Transport(String),
}

impl Failure {
    /// The HTTP status code, when the server answered.
    #[must_use]
    pub fn code(&self) -> Option<u16> {
        match self {
            Self::Status { code, .. } => Some(*code),
            Self::Transport(_) => None,
        }
    }

    /// Whether client-go would retry it: 429, 5xx, and no answer at all.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { code, .. } => *code == 429 || (500..600).contains(code),
            Self::Transport(_) => true,
        }
    }

    /// A failure from a response that was not a success.
    fn from_response(code: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Status {
            #[serde(default)]
            kind: String,
            #[serde(default)]
            reason: String,
            #[serde(default)]
            message: String,
        }
        match serde_json::from_slice::<Status>(body) {
            Ok(status) if status.kind == "Status" => Self::Status {
                code,
                reason: if status.reason.is_empty() {
                    reason_for(code).to_string()
                } else {
                    status.reason
                },
                message: status.message,
            },
            _ => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let text: String = text.chars().take(200).collect();
                Self::Status {
                    code,
                    reason: reason_for(code).to_string(),
                    message: if text.is_empty() {
                        format!(
                            "the server responded with the status code {code} but did not return more information"
                        )
                    } else {
                        format!(
                            "an error on the server (\"{text}\") has prevented the request from succeeding"
                        )
                    },
                }
            }
        }
    }
}

/// kubectl's reason for a status code whose body was not a Status object.
fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Expired",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

impl fmt::Display for Failure {
    /// kubectl's words: `Error from server (Forbidden): …`, `Unable to connect to the server: …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                reason, message, ..
            } => write!(f, "Error from server ({reason}): {message}"),
            Self::Transport(message) => write!(f, "Unable to connect to the server: {message}"),
        }
    }
}

/// A transport error's message: its own and its causes', without repetition.
fn transport(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    Failure::Transport(parts.join(": "))
}

/// GETs `path` (with `accept` as the Accept header), retrying as [`Retry`] says. Every attempt
/// waits for the client-side rate limit, when there is one, and counts in `requests`. The body
/// comes as the pieces the client received it in, not copied into one buffer
/// ([`crate::pieces`]); `on_first_piece` sees the first piece of a successful answer as soon as
/// it arrives (on every attempt), so that a list's next page can be asked for before this one
/// has fully arrived.
///
/// # Errors
/// The last failure, once it is not retryable or the attempts are spent.
pub async fn get(
    client: &Client,
    path: &str,
    accept: &str,
    retry: &Retry,
    limiter: Option<&Limiter>,
    requests: &std::sync::atomic::AtomicUsize,
    on_first_piece: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<Vec<Bytes>, Failure> {
    let attempts = retry.attempts.max(1);
    let mut attempt = 1;
    loop {
        if let Some(limiter) = limiter {
            limiter.acquire().await;
        }
        requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = match tokio::time::timeout(
            retry.request_timeout,
            once(client, path, accept, on_first_piece),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err((
                Failure::Transport(format!(
                    "the request did not complete within {:?}",
                    retry.request_timeout
                )),
                None,
            )),
        };
        match result {
            Ok(body) => return Ok(body),
            Err((failure, retry_after)) if failure.is_retryable() && attempt < attempts => {
                let delay =
                    retry_after.map_or_else(|| retry.delay(attempt), |d| d.min(MAX_RETRY_AFTER));
                tracing::debug!(%path, attempt, ?delay, %failure, "retrying");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err((failure, _)) => return Err(failure),
        }
    }
}

/// One attempt: the body of a successful answer, in pieces (the first shown to
/// `on_first_piece` as it arrives), or the failure and the `Retry-After` delay.
async fn once(
    client: &Client,
    path: &str,
    accept: &str,
    on_first_piece: &mut (dyn FnMut(&[u8]) + Send),
) -> Result<Vec<Bytes>, (Failure, Option<Duration>)> {
    let request = http::Request::get(path)
        .header(http::header::ACCEPT, accept)
        .body(Body::empty())
        .map_err(|e| (transport(&e), None))?;
    let response = client
        .send(request)
        .await
        .map_err(|e| (transport(&e), None))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut stream = response.into_body();
    let mut body = Vec::new();
    while let Some(frame) = stream.frame().await {
        let frame = frame.map_err(|e| (transport(&e), None))?;
        if let Ok(data) = frame.into_data() {
            if body.is_empty() && status.is_success() {
                on_first_piece(&data);
            }
            body.push(data);
        }
    }
    if status.is_success() {
        Ok(body)
    } else {
        Err((
            Failure::from_response(status.as_u16(), &joined(&body)),
            retry_after,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_maximum_with_jitter() {
        let retry = Retry {
            attempts: 10,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            request_timeout: Duration::from_secs(1),
        };
        for (n, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (9, 1000)] {
            let d = retry.delay(n);
            assert!(
                d >= Duration::from_millis(full / 2) && d <= Duration::from_millis(full),
                "retry {n}: {d:?}"
            );
        }
    }

    #[test]
    fn failures_speak_like_kubectl() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"The provided continue parameter is too old","reason":"Expired","code":410}"#;
        let f = Failure::from_response(410, status);
        assert_eq!(
            f.to_string(),
            "Error from server (Expired): The provided continue parameter is too old"
        );
        assert!(!f.is_retryable());
        let f = Failure::from_response(502, b"<html>bad gateway</html>");
        assert_eq!(
            f.to_string(),
            "Error from server (InternalError): an error on the server (\"<html>bad gateway</html>\") has prevented the request from succeeding"
        );
        assert!(f.is_retryable());
        assert!(Failure::from_response(429, b"").is_retryable());
        assert!(!Failure::from_response(403, b"").is_retryable());
        assert!(Failure::Transport("connection reset".into()).is_retryable());
    }
}
