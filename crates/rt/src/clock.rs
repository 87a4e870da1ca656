//! Wall-clock and monotonic time. (Being completed: per-node skew under simulation.)

/// Milliseconds since the Unix epoch, as RocketMQ stamps bornTimestamp/storeTimestamp.
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A monotonic instant, for timeouts and intervals.
pub fn now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}
