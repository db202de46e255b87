//! What the webhook benchmarks' clients share: one timed AdmissionReview over HTTPS, judged by
//! its answer, and latency percentiles.

use std::time::{Duration, Instant};

/// The number after `name` on the command line, or `default`.
pub fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends one AdmissionReview; returns how long the answer took and whether it was an HTTP 200
/// AdmissionReview.
pub async fn review(client: &reqwest::Client, url: &str, body: Vec<u8>) -> (Duration, bool) {
    let sent = Instant::now();
    let ok = match client.post(url).body(body).send().await {
        Ok(response) => {
            let good = response.status().is_success();
            let text = response.bytes().await;
            good && text.is_ok_and(|b| b.starts_with(b"{\"apiVersion\""))
        }
        Err(_) => false,
    };
    (sent.elapsed(), ok)
}

/// The `p` quantile (0–1) of sorted latencies, in milliseconds.
#[allow(dead_code)]
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted.get(i).copied().unwrap_or_default().as_secs_f64() * 1e3
}

/// Waits for the client tasks and joins their latencies and error counts.
pub async fn gather(
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
    capacity: usize,
) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::with_capacity(capacity);
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    (latencies, errors)
}
