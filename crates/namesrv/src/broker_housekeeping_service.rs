//! BrokerHousekeepingService: the name server's connection listener. A broker whose connection
//! closes (it stopped, crashed, or idled past `serverChannelMaxIdleTimeSeconds`) is removed at
//! once rather than after its heartbeat timeout, so clients stop being sent to it sooner.

use std::sync::Arc;

use remoting::{Channel, ChannelEventListener};

use crate::controller::NamesrvController;

/// Tells the controller about connections opening and closing.
pub struct BrokerHousekeepingService {
    controller: Arc<NamesrvController>,
}

impl BrokerHousekeepingService {
    pub fn new(controller: Arc<NamesrvController>) -> Self {
        Self { controller }
    }
}

impl ChannelEventListener for BrokerHousekeepingService {
    fn on_connect(&self, channel: &Channel) {
        tracing::debug!(id = channel.id(), remote = %channel.remote_addr(), "connection opened");
        self.controller.channel_opened(channel);
    }

    fn on_close(&self, channel: &Channel) {
        tracing::debug!(id = channel.id(), remote = %channel.remote_addr(), "connection closed");
        self.controller.channel_closed(channel);
    }
}
