//! Client-side rate limiting as client-go does it: a token bucket of `burst` requests that
//! refills at `qps` per second, which every request attempt (retries included) waits on.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate limit settings: `qps` requests per second on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second in the steady state; zero or less turns the limit off.
    pub qps: f32,
    /// Requests that may be sent at once before the steady rate applies (at least 1).
    pub burst: u32,
}

impl Default for Rate {
    /// kubectl's limits for its discovery client (50 requests per second, bursts of 300): a
    /// whole-cluster read sends a few hundred list requests, as discovery does.
    fn default() -> Self {
        Self {
            qps: 50.0,
            burst: 300,
        }
    }
}

/// A token bucket shared by every request of one read.
#[derive(Debug)]
pub struct Limiter {
    qps: f64,
    burst: f64,
    /// Tokens available at `at` (negative: reserved by waiting requests).
    state: Mutex<(f64, Instant)>,
}

impl Limiter {
    /// A full bucket; `None` when `rate.qps` turns the limit off.
    #[must_use]
    pub fn new(rate: Rate) -> Option<Self> {
        if rate.qps.is_nan() || rate.qps <= 0.0 {
            return None;
        }
        let burst = f64::from(rate.burst.max(1));
        Some(Self {
            qps: f64::from(rate.qps),
            burst,
            state: Mutex::new((burst, Instant::now())),
        })
    }

    /// Takes one token, reserving it in turn when the bucket is empty, and returns how long the
    /// caller must wait before sending (zero when a token was available).
    pub fn reserve(&self) -> Duration {
        self.reserve_at(Instant::now())
    }

    /// [`Self::reserve`] at a given time (never earlier than the previous call's).
    fn reserve_at(&self, now: Instant) -> Duration {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens, at) = *state;
        let now = now.max(at);
        let refilled = (tokens + (now - at).as_secs_f64() * self.qps).min(self.burst);
        let left = refilled - 1.0;
        *state = (left, now);
        if left >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-left / self.qps)
        }
    }

    /// Waits for a token (FIFO: earlier callers reserve earlier tokens).
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tracing::debug!(?wait, "client-side rate limit");
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_or_negative_qps_turns_the_limit_off() {
        assert!(
            Limiter::new(Rate {
                qps: 0.0,
                burst: 10
            })
            .is_none()
        );
        assert!(
            Limiter::new(Rate {
                qps: -1.0,
                burst: 10
            })
            .is_none()
        );
        assert!(
            Limiter::new(Rate {
                qps: f32::NAN,
                burst: 10
            })
            .is_none()
        );
    }

    #[test]
    fn a_burst_passes_then_requests_wait_their_turn() {
        let limiter = Limiter::new(Rate { qps: 5.0, burst: 3 }).unwrap();
        let start = limiter.state.lock().unwrap().1;
        let at = |ms: u64| start + Duration::from_millis(ms);
        for _ in 0..3 {
            assert_eq!(limiter.reserve_at(at(0)), Duration::ZERO);
        }
        // The bucket is empty: the next ones are 200 ms apart.
        let waits: Vec<u128> = (0..3)
            .map(|_| limiter.reserve_at(at(0)).as_millis())
            .collect();
        assert_eq!(waits, [200, 400, 600]);
        // 100 ms later the next one gets the slot at 800 ms: it waits 700 ms.
        assert_eq!(limiter.reserve_at(at(100)).as_millis(), 700);
        // Ten seconds later the reservations have passed and the bucket holds a full burst,
        // never more.
        for _ in 0..3 {
            assert_eq!(limiter.reserve_at(at(10_000)), Duration::ZERO);
        }
        assert_eq!(limiter.reserve_at(at(10_000)).as_millis(), 200);
    }

    #[test]
    fn a_clock_going_backwards_does_not_add_tokens() {
        let limiter = Limiter::new(Rate { qps: 1.0, burst: 1 }).unwrap();
        let start = limiter.state.lock().unwrap().1;
        assert_eq!(
            limiter.reserve_at(start + Duration::from_secs(5)),
            Duration::ZERO
        );
        assert_eq!(limiter.reserve_at(start).as_millis(), 1000);
    }
}
