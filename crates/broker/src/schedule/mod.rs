//! Delay-level (scheduled) messages, as RocketMQ 4.x/5.x brokers run them: a message whose
//! DELAY property names a level of `messageDelayLevel` is stored in `SCHEDULE_TOPIC_XXXX`
//! (queue = level - 1) instead of its topic, and the [`ScheduleMessageService`] puts it back
//! on its real topic and queue once its store time plus the level's delay has passed. The
//! consumer send-back uses the same path for its retry back-off (level 3 + reconsume times).
//!
//! - `delay_level`: the levels and the deliver-time arithmetic;
//! - `transform`: the put-side and due-side rewrites of a message;
//! - `delay_offset`: how far each level has delivered, persisted in `config/delayOffset.json`;
//! - `schedule_message_service`: the service and its per-level delivery tasks.
//!
//! Delivery is at-least-once: the offsets are persisted periodically and at shutdown, so after
//! a crash a level re-puts what it delivered since the last persist.

pub mod delay_level;
pub mod delay_offset;
pub mod schedule_message_service;
pub mod transform;

pub use delay_level::{DelayLevelTable, DEFAULT_MESSAGE_DELAY_LEVEL};
pub use delay_offset::{DelayOffsetSerializeWrapper, DELAY_OFFSET_FILE};
pub use schedule_message_service::ScheduleMessageService;
