//! When to try again: exponential backoff with jitter, so that many deliveries failing
//! together (a receiver down) do not all come back at the same moment.

use std::time::Duration;

use ring::rand::{SecureRandom, SystemRandom};

/// The delay before retry number `attempt` (1 for the first retry): `base · 2^(attempt-1)`,
/// capped at `max`, then drawn uniformly from its upper half.
pub fn delay(attempt: i64, base: Duration, max: Duration) -> Duration {
    let exponent = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let full = base.saturating_mul(1u32 << exponent).min(max);
    let half = full / 2;
    half + half.mul_f64(unit_random())
}

/// A random number in [0, 1).
fn unit_random() -> f64 {
    let mut bytes = [0u8; 4];
    if SystemRandom::new().fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_within_jitter_and_stops_at_the_cap() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        for _ in 0..50 {
            let first = delay(1, base, max);
            assert!(
                first >= Duration::from_millis(50) && first <= base,
                "{first:?}"
            );
            let third = delay(3, base, max);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = delay(20, base, max);
            assert!(late >= max / 2 && late <= max, "{late:?}");
        }
    }

    #[test]
    fn jitter_spreads_the_retries() {
        let base = Duration::from_secs(10);
        let draws: std::collections::HashSet<_> = (0..20)
            .map(|_| delay(2, base, Duration::from_secs(3600)))
            .collect();
        assert!(draws.len() > 10, "{draws:?}");
    }
}
