//! Forgets clients whose connection closed (RocketMQ `ClientHousekeepingService`): their
//! producer and consumer registrations go, and the consumer groups they left are told to
//! rebalance.

use std::sync::{Arc, Weak};

use remoting::{Channel, ChannelEventListener};

use crate::broker2client;
use crate::broker_controller::BrokerController;

/// The connection listener of both ports.
pub struct ClientHousekeepingService {
    // Weak: the server's processor table must not keep the broker alive.
    controller: Weak<BrokerController>,
}

impl ClientHousekeepingService {
    /// A listener for `controller`'s registries.
    pub fn new(controller: &Arc<BrokerController>) -> Self {
        Self { controller: Arc::downgrade(controller) }
    }
}

impl ChannelEventListener for ClientHousekeepingService {
    fn on_close(&self, channel: &Channel) {
        let Some(c) = self.controller.upgrade() else { return };
        c.producer_manager.do_channel_close_event(channel);
        for change in c.consumer_manager.do_channel_close_event(channel) {
            broker2client::notify_consumer_ids_changed(&c, &change);
        }
    }
}
