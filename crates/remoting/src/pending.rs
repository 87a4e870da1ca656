//! Requests sent on one connection that wait for their responses, keyed by opaque.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use protocol::RemotingCommand;
use tokio::sync::oneshot;

use crate::error::RemotingError;

/// A bounded opaque -> waiter map. Once closed it refuses new waiters, so a request registered
/// while the connection goes down fails at once instead of waiting for its timeout.
pub(crate) struct PendingMap {
    inner: Mutex<Inner>,
    limit: usize,
}

struct Inner {
    closed: bool,
    waiters: HashMap<i32, oneshot::Sender<RemotingCommand>>,
}

impl PendingMap {
    pub(crate) fn new(limit: usize) -> Self {
        Self { inner: Mutex::new(Inner { closed: false, waiters: HashMap::new() }), limit }
    }

    // A panic while holding this lock cannot leave the map inconsistent (every operation is a
    // single insert or remove), so a poisoned lock is simply used.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a waiter for the response to `opaque`. Fails with `ConnectionClosed` once the
    /// connection is closed and with `Busy` when `limit` requests are already waiting (or, after
    /// the opaque counter wrapped, one with the same opaque still is).
    pub(crate) fn register(
        &self,
        opaque: i32,
    ) -> Result<oneshot::Receiver<RemotingCommand>, RemotingError> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(RemotingError::ConnectionClosed);
        }
        if inner.waiters.len() >= self.limit || inner.waiters.contains_key(&opaque) {
            return Err(RemotingError::Busy);
        }
        let (tx, rx) = oneshot::channel();
        inner.waiters.insert(opaque, tx);
        Ok(rx)
    }

    /// Hands a response to its waiter. Returns the response back if nobody waits for its opaque
    /// (timed out, cancelled, or never sent).
    pub(crate) fn complete(&self, response: RemotingCommand) -> Result<(), RemotingCommand> {
        let waiter = self.lock().waiters.remove(&response.opaque);
        match waiter {
            Some(tx) => tx.send(response),
            None => Err(response),
        }
    }

    /// Forgets the waiter for `opaque` (its request timed out or was cancelled).
    pub(crate) fn remove(&self, opaque: i32) {
        self.lock().waiters.remove(&opaque);
    }

    /// Refuses new waiters and fails every current one: dropping a waiter's sender wakes its
    /// receiver with an error, which the invoker reports as `ConnectionClosed`.
    pub(crate) fn close(&self) {
        let drained: Vec<_> = {
            let mut inner = self.lock();
            inner.closed = true;
            inner.waiters.drain().collect()
        };
        drop(drained);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().waiters.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(opaque: i32) -> RemotingCommand {
        RemotingCommand::response(0, None).with_opaque(opaque)
    }

    #[tokio::test]
    async fn completes_registered_waiters_and_returns_unknown_responses() {
        let map = PendingMap::new(4);
        let rx = map.register(7).unwrap();
        assert!(map.complete(response(8)).is_err());
        assert!(map.complete(response(7)).is_ok());
        assert_eq!(rx.await.unwrap().opaque, 7);
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn bound_and_duplicates_are_busy() {
        let map = PendingMap::new(2);
        let _a = map.register(1).unwrap();
        assert!(matches!(map.register(1), Err(RemotingError::Busy)));
        let _b = map.register(2).unwrap();
        assert!(matches!(map.register(3), Err(RemotingError::Busy)));
        map.remove(2);
        let _c = map.register(3).unwrap();
    }

    #[tokio::test]
    async fn close_fails_waiters_and_refuses_new_ones() {
        let map = PendingMap::new(2);
        let rx = map.register(1).unwrap();
        map.close();
        assert!(rx.await.is_err());
        assert!(matches!(map.register(2), Err(RemotingError::ConnectionClosed)));
    }
}
