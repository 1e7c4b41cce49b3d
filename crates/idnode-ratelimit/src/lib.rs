//! Per-client-address rate limits shared by the front ends (governor), with periodic
//! pruning so that many distinct (or spoofed) addresses cannot grow the state without bound.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Checks between two prunings of idle addresses.
const PRUNE_EVERY: u64 = 4096;

/// A keyed GCRA limiter: `burst` requests at once, refilled one per `period`.
pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    checks: AtomicU64,
}

impl ClientLimiter {
    /// `per_second` requests a second, bursts of three seconds' worth.
    pub fn per_second(per_second: u32) -> Self {
        let n = NonZeroU32::new(per_second.max(1)).expect("max(1)");
        let burst = NonZeroU32::new(n.get().saturating_mul(3)).expect("positive");
        Self::new(Quota::per_second(n).allow_burst(burst))
    }

    /// At most `per_day` requests in a day (the whole allowance may be spent at once; it
    /// refills evenly over the day).
    pub fn per_day(per_day: NonZeroU32) -> Self {
        let period = Duration::from_secs(86_400) / per_day.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("non-zero period")
            .allow_burst(per_day);
        Self::new(quota)
    }

    fn new(quota: Quota) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota),
            checks: AtomicU64::new(0),
        }
    }

    /// Takes one request from `peer`'s allowance; false when it is spent.
    pub fn allow(&self, peer: IpAddr) -> bool {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&peer).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_daily_allowance_is_spent_per_address() {
        let l = ClientLimiter::per_day(NonZeroU32::new(3).unwrap());
        let a = IpAddr::from([192, 0, 2, 1]);
        let b = IpAddr::from([192, 0, 2, 2]);
        assert!((0..3).all(|_| l.allow(a)));
        assert!(!l.allow(a));
        assert!(l.allow(b));
    }

    #[test]
    fn per_second_limits_allow_a_burst_of_three_seconds() {
        let l = ClientLimiter::per_second(2);
        let a = IpAddr::from([192, 0, 2, 1]);
        assert!((0..6).all(|_| l.allow(a)));
        assert!(!l.allow(a));
    }
}
