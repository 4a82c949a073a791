//! The time limits and retry budget of delivery, with safe defaults and a bound that
//! keeps every cycle shorter than the reporting period.

use std::time::Duration;

/// How long delivery may take, and how it retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Limit on opening a connection.
    pub connect_timeout: Duration,
    /// Limit on one request, from sending to the end of the answer.
    pub request_timeout: Duration,
    /// Limit on all the requests of one destination in one cycle, retries included.
    pub deadline: Duration,
    /// Tries of one request, the first included.
    pub max_attempts: u32,
    /// Backoff before the first retry; it doubles for each retry after.
    pub base_delay: Duration,
    /// Longest backoff.
    pub max_delay: Duration,
    /// Longest wait a server's `Retry-After` can ask for; a longer one gives up.
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            deadline: Duration::from_secs(60),
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl Policy {
    /// The policy bounded so that a cycle, retries included, ends well within `period`
    /// (four fifths of it): a cycle never runs into the next one.
    pub fn within_period(self, period: Duration) -> Policy {
        let deadline = self.deadline.min(period * 4 / 5).max(Duration::from_millis(1));
        Policy {
            deadline,
            request_timeout: self.request_timeout.min(deadline),
            connect_timeout: self.connect_timeout.min(deadline),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_bounded_and_fit_a_long_period() {
        let p = Policy::default();
        assert_eq!(p.within_period(Duration::from_secs(3 * 3600)), p);
        assert!(p.deadline < Duration::from_secs(90), "within the service's watchdog");
    }

    #[test]
    fn a_short_period_shortens_every_limit() {
        let p = Policy::default().within_period(Duration::from_millis(500));
        assert_eq!(p.deadline, Duration::from_millis(400));
        assert_eq!(p.request_timeout, Duration::from_millis(400));
        assert_eq!(p.connect_timeout, Duration::from_millis(400));
        assert_eq!(p.max_attempts, 4);
    }
}
