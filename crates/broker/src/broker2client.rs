//! Requests the broker sends to its clients (RocketMQ `Broker2Client`).

use protocol::header::NotifyConsumerIdsChangedRequestHeader;
use protocol::{RemotingCommand, RequestCode};

use crate::broker_controller::BrokerController;
use crate::consumer_manager::GroupChange;

/// Tells every consumer of a group, one-way, that its members changed, so each re-reads the
/// member list and rebalances — unless the group turned notifications off.
pub fn notify_consumer_ids_changed(c: &BrokerController, change: &GroupChange) {
    let enabled = c
        .subscription_group_manager
        .get(&change.group)
        .is_none_or(|g| g.notify_consumer_ids_changed_enable);
    if !enabled {
        return;
    }
    let header = NotifyConsumerIdsChangedRequestHeader { consumer_group: change.group.clone() };
    for channel in &change.channels {
        let request = RemotingCommand::request(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &header);
        if let Err(e) = channel.invoke_oneway(request) {
            tracing::debug!(group = %change.group, remote = %channel.remote_addr(), error = %e,
                "cannot notify consumer");
        }
    }
}
