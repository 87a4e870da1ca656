//! One registered client connection (RocketMQ `ClientChannelInfo`).

use protocol::LanguageCode;
use remoting::Channel;

/// A client's connection as the producer and consumer registries keep it.
#[derive(Clone)]
pub struct ClientChannelInfo {
    /// The connection; NOTIFY_CONSUMER_IDS_CHANGED and transaction checks go out on it.
    pub channel: Channel,
    /// `clientIP@instanceName`.
    pub client_id: String,
    pub language: LanguageCode,
    /// The client's protocol version.
    pub version: i32,
    /// Last heartbeat, ms since the epoch.
    pub last_update_timestamp: i64,
}

impl std::fmt::Debug for ClientChannelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientChannelInfo")
            .field("channel", &self.channel.id())
            .field("remote", &self.channel.remote_addr())
            .field("client_id", &self.client_id)
            .field("version", &self.version)
            .finish()
    }
}
