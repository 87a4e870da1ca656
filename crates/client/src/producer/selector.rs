//! Queue selectors for ordered sends (RocketMQ `MessageQueueSelector`,
//! `SelectMessageQueueByHash`, `SelectMessageQueueByRandom`).

use protocol::message::java_string_hash;

use crate::message::{Message, MessageQueue};

/// Picks the queue a message goes to from the topic's write queues, given the caller's `arg`
/// (typically an order id: the same arg, the same queue, the same order).
pub trait MessageQueueSelector<A: ?Sized> {
    fn select(&self, mqs: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue>;
}

impl<A: ?Sized, F> MessageQueueSelector<A> for F
where
    F: Fn(&[MessageQueue], &Message, &A) -> Option<MessageQueue>,
{
    fn select(&self, mqs: &[MessageQueue], msg: &Message, arg: &A) -> Option<MessageQueue> {
        self(mqs, msg, arg)
    }
}

/// A value with Java's `hashCode`, so that Rust and Java producers put a key in the same queue.
pub trait JavaHashCode {
    fn java_hash_code(&self) -> i32;
}

impl JavaHashCode for str {
    fn java_hash_code(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHashCode for String {
    fn java_hash_code(&self) -> i32 {
        java_string_hash(self)
    }
}

impl JavaHashCode for i32 {
    fn java_hash_code(&self) -> i32 {
        *self
    }
}

impl JavaHashCode for i64 {
    fn java_hash_code(&self) -> i32 {
        // Long.hashCode: the two halves xored.
        (*self ^ ((*self as u64) >> 32) as i64) as i32
    }
}

/// `abs(arg.hashCode() % queues)`, exactly as Java computes it.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByHash;

impl<A: JavaHashCode + ?Sized> MessageQueueSelector<A> for SelectMessageQueueByHash {
    fn select(&self, mqs: &[MessageQueue], _msg: &Message, arg: &A) -> Option<MessageQueue> {
        let n = i32::try_from(mqs.len()).ok().filter(|n| *n > 0)?;
        let index = (arg.java_hash_code() % n).unsigned_abs() as usize;
        mqs.get(index).cloned()
    }
}

/// A random queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct SelectMessageQueueByRandom;

impl<A: ?Sized> MessageQueueSelector<A> for SelectMessageQueueByRandom {
    fn select(&self, mqs: &[MessageQueue], _msg: &Message, _arg: &A) -> Option<MessageQueue> {
        if mqs.is_empty() {
            return None;
        }
        mqs.get(rt::rand::u32() as usize % mqs.len()).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: i32) -> Vec<MessageQueue> {
        (0..n)
            .map(|i| MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: i })
            .collect()
    }

    #[test]
    fn by_hash_matches_java_and_is_stable() {
        let mqs = queues(8);
        let msg = Message::new("T", "x");
        // "TagA".hashCode() = 2598919; 2598919 % 8 = 7.
        assert_eq!(SelectMessageQueueByHash.select(&mqs, &msg, "TagA").unwrap().queue_id, 7);
        // "polygenelubricants".hashCode() = i32::MIN; MIN % 8 = 0.
        let q = SelectMessageQueueByHash.select(&mqs, &msg, "polygenelubricants").unwrap();
        assert_eq!(q.queue_id, 0);
        // Negative hashes take the absolute remainder: -7 % 4 = -3 -> 3.
        assert_eq!(SelectMessageQueueByHash.select(&queues(4), &msg, &-7i32).unwrap().queue_id, 3);
        assert_eq!(5i64.java_hash_code(), 5);
        assert_eq!((-1i64).java_hash_code(), 0);
        for key in ["order-1", "order-2", "order-3"] {
            let a = SelectMessageQueueByHash.select(&mqs, &msg, key);
            assert_eq!(a, SelectMessageQueueByHash.select(&mqs, &msg, key));
        }
        assert!(SelectMessageQueueByHash.select(&[], &msg, "k").is_none());
        let closure = |mqs: &[MessageQueue], _: &Message, arg: &usize| mqs.get(*arg).cloned();
        assert_eq!(closure.select(&mqs, &msg, &2).unwrap().queue_id, 2);
        assert!(SelectMessageQueueByRandom.select(&mqs, &msg, &()).is_some());
    }
}
