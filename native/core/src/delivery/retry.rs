//! When to try a request again, as pure functions: Google's guidance is to retry network
//! failures, timeouts, 429 and 5xx with exponential backoff, and never other 4xx.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use super::Policy;

/// What one attempt of a request came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// An HTTP answer: its status and any `Retry-After` it carried.
    Answered {
        /// The status code.
        status: u16,
        /// The parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// No answer: the connection failed, was reset, timed out, or the answer was garbage.
    Failed,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The request was delivered.
    Delivered,
    /// Try again after this long.
    RetryAfter(Duration),
    /// Stop: the request is not worth retrying, or the budget is spent.
    GiveUp,
}

/// Decides after attempt number `attempt` (1 for the first) with `left` time remaining.
/// `jitter` in [0, 1) spreads retries of many nodes apart.
pub fn decide(attempt: u32, outcome: &Attempt, left: Duration, policy: &Policy, jitter: f64) -> Decision {
    let wait = match outcome {
        Attempt::Answered { status: 200..=299, .. } => return Decision::Delivered,
        Attempt::Answered { status: 429, retry_after }
        | Attempt::Answered { status: 500..=599, retry_after } => match retry_after {
            Some(asked) if *asked > policy.max_retry_after => return Decision::GiveUp,
            Some(asked) => *asked,
            None => backoff(attempt, policy, jitter),
        },
        Attempt::Answered { .. } => return Decision::GiveUp,
        Attempt::Failed => backoff(attempt, policy, jitter),
    };
    if attempt >= policy.max_attempts || wait >= left {
        Decision::GiveUp
    } else {
        Decision::RetryAfter(wait)
    }
}

/// `base * 2^(attempt-1)`, capped at `max_delay`, of which a random half is kept
/// ("equal jitter"): never less than half the step, never more than the step.
pub fn backoff(attempt: u32, policy: &Policy, jitter: f64) -> Duration {
    let step = policy.base_delay.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(policy.max_delay);
    step / 2 + step.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
}

/// A `Retry-After` value: delay-seconds, or an HTTP-date (RFC 9110, section 10.2.3).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A number in [0, 1) for jitter; randomness of no importance beyond spreading retries.
pub fn jitter() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ seed;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_attempts: 4,
            max_retry_after: Duration::from_secs(60),
            ..Policy::default()
        }
    }

    const PLENTY: Duration = Duration::from_secs(600);

    fn answered(status: u16) -> Attempt {
        Attempt::Answered { status, retry_after: None }
    }

    #[test]
    fn success_is_delivered_and_other_4xx_are_never_retried() {
        assert_eq!(decide(1, &answered(204), PLENTY, &policy(), 0.5), Decision::Delivered);
        for status in [400, 401, 403, 404, 413, 301] {
            assert_eq!(decide(1, &answered(status), PLENTY, &policy(), 0.5), Decision::GiveUp, "{status}");
        }
    }

    #[test]
    fn failures_429_and_5xx_are_retried_with_growing_backoff() {
        for outcome in [answered(500), answered(503), answered(429), Attempt::Failed] {
            assert_eq!(
                decide(1, &outcome, PLENTY, &policy(), 0.0),
                Decision::RetryAfter(Duration::from_millis(500))
            );
            assert_eq!(
                decide(2, &outcome, PLENTY, &policy(), 0.0),
                Decision::RetryAfter(Duration::from_secs(1))
            );
            assert_eq!(
                decide(3, &outcome, PLENTY, &policy(), 0.999_999),
                Decision::RetryAfter(backoff(3, &policy(), 0.999_999))
            );
            assert_eq!(
                decide(4, &outcome, PLENTY, &policy(), 0.0),
                Decision::GiveUp,
                "the attempts are bounded"
            );
        }
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_the_step() {
        let p = policy();
        assert_eq!(backoff(1, &p, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(1, &p, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(4, &p, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(10, &p, 1.0), Duration::from_secs(30), "capped");
        assert_eq!(backoff(60, &p, 1.0), Duration::from_secs(30), "no overflow");
        for _ in 0..1000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_a_cap() {
        let asked = |s| Attempt::Answered { status: 429, retry_after: Some(Duration::from_secs(s)) };
        assert_eq!(
            decide(1, &asked(7), PLENTY, &policy(), 0.0),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            decide(1, &asked(61), PLENTY, &policy(), 0.0),
            Decision::GiveUp,
            "a server cannot hold us for long"
        );
    }

    #[test]
    fn no_retry_is_started_that_the_deadline_cannot_hold() {
        assert_eq!(decide(1, &answered(503), Duration::from_millis(400), &policy(), 0.0), Decision::GiveUp);
        assert_eq!(
            decide(1, &answered(503), Duration::from_millis(600), &policy(), 0.0),
            Decision::RetryAfter(Duration::from_millis(500))
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "in the past"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
