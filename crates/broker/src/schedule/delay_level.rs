//! The delay levels (RocketMQ `messageDelayLevel`, which its `ScheduleMessageService` parses in
//! `parseDelayLevel`) and the deliver-time arithmetic of one scheduled message.

/// RocketMQ's default `messageDelayLevel`: 18 levels, level 1 = 1 s ... level 18 = 2 h.
pub const DEFAULT_MESSAGE_DELAY_LEVEL: &str =
    "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h";

/// Delay of each level in ms; level `n` (1-based, as in the DELAY property) is `[n - 1]`.
/// RocketMQ keeps a `delayLevelTable` map of level → ms; a vector indexed by level - 1 is the
/// same table without the boxing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DelayLevelTable {
    millis: Vec<i64>,
}

impl DelayLevelTable {
    /// Parses `messageDelayLevel`: whitespace-separated `<n><unit>`, unit one of s, m, h, d.
    /// Unlike RocketMQ, which logs a bad level and keeps going with a partial table, any bad
    /// item is an error: a broker whose level 5 silently means level 6's delay is worse than
    /// one that refuses to start.
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut millis = Vec::new();
        for item in value.split_whitespace() {
            let Some(unit_at) = item.len().checked_sub(1).filter(|&i| item.is_char_boundary(i))
            else {
                return Err(format!("delay level {item:?} is not <number><s|m|h|d>"));
            };
            let (num, unit) = item.split_at(unit_at);
            let per_unit: i64 = match unit {
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("delay level {item:?} has no unit s, m, h or d")),
            };
            let n: i64 = num
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("delay level {item:?} is not a positive number"))?;
            let ms = n
                .checked_mul(per_unit)
                .ok_or_else(|| format!("delay level {item:?} is too long"))?;
            millis.push(ms);
        }
        if millis.is_empty() {
            return Err("messageDelayLevel lists no delay level".to_owned());
        }
        Ok(Self { millis })
    }

    /// The highest level (RocketMQ `maxDelayLevel`); DELAY values above it are capped to it.
    pub fn max_level(&self) -> i32 {
        i32::try_from(self.millis.len()).unwrap_or(i32::MAX)
    }

    /// The delay of `level` in ms; `None` outside 1..=max_level.
    pub fn delay_millis(&self, level: i32) -> Option<i64> {
        let idx = usize::try_from(level).ok()?.checked_sub(1)?;
        self.millis.get(idx).copied()
    }

    /// The levels 1..=max_level.
    pub fn levels(&self) -> impl Iterator<Item = i32> {
        1..=self.max_level()
    }
}

impl Default for DelayLevelTable {
    fn default() -> Self {
        // The default string is well-formed; the fallback only keeps this free of panics.
        Self::parse(DEFAULT_MESSAGE_DELAY_LEVEL).unwrap_or(Self { millis: vec![1_000] })
    }
}

/// The schedule topic's queue of a level (RocketMQ `delayLevel2QueueId`).
pub fn delay_level_to_queue_id(level: i32) -> i32 {
    level - 1
}

/// The level of a schedule topic queue (RocketMQ `queueId2DelayLevel`).
pub fn queue_id_to_delay_level(queue_id: i32) -> i32 {
    queue_id + 1
}

/// When a message stored at `store_timestamp` on a level of `delay` ms falls due, as seen at
/// `now` (all ms since the epoch).
///
/// The plain answer is `store_timestamp + delay`. If that is further away than a whole delay
/// from now, the wall clock must have jumped backwards since the message was stored (or its
/// store time is garbage); waiting for it could hold the level's queue, and every message
/// behind it, for as long as the jump. RocketMQ's `correctDeliverTimestamp` delivers such a
/// message now, and so does this.
pub fn deliver_timestamp(store_timestamp: i64, delay: i64, now: i64) -> i64 {
    let deliver = store_timestamp.saturating_add(delay);
    if deliver > now.saturating_add(delay) {
        now
    } else {
        deliver
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_levels_are_rocketmqs() {
        let t = DelayLevelTable::default();
        assert_eq!(t.max_level(), 18);
        assert_eq!(t.delay_millis(1), Some(1_000));
        assert_eq!(t.delay_millis(3), Some(10_000));
        assert_eq!(t.delay_millis(5), Some(60_000));
        assert_eq!(t.delay_millis(18), Some(7_200_000));
        assert_eq!(t.delay_millis(0), None);
        assert_eq!(t.delay_millis(19), None);
        assert_eq!(t.delay_millis(-1), None);
        assert_eq!(t.levels().collect::<Vec<_>>().len(), 18);
    }

    #[test]
    fn parses_units_and_rejects_bad_items() {
        let t = DelayLevelTable::parse("  1s 2m\t3h 1d ").unwrap();
        assert_eq!(t.millis, vec![1_000, 120_000, 10_800_000, 86_400_000]);
        for bad in
            ["", "   ", "1", "s", "1x", "0s", "-1s", "1.5s", "1 s", "99999999999999999d", "1é"]
        {
            assert!(DelayLevelTable::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn queue_ids_are_level_minus_one() {
        assert_eq!(delay_level_to_queue_id(1), 0);
        assert_eq!(delay_level_to_queue_id(18), 17);
        assert_eq!(queue_id_to_delay_level(17), 18);
    }

    #[test]
    fn deliver_time_is_store_time_plus_delay() {
        assert_eq!(deliver_timestamp(10_000, 5_000, 10_000), 15_000);
        assert_eq!(deliver_timestamp(10_000, 5_000, 20_000), 15_000);
        // The clock went back 1 h after the store: no waiting an extra hour.
        assert_eq!(deliver_timestamp(3_610_000, 5_000, 10_000), 10_000);
        // Exactly one delay ahead is still honest.
        assert_eq!(deliver_timestamp(10_000, 5_000, 10_000), 15_000);
        assert_eq!(deliver_timestamp(i64::MAX, 5_000, 0), 0);
    }
}
