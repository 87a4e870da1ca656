//! The route registry: brokers, their topics, their liveness, and the JSON forms routes are
//! answered in.

pub mod broker_live_info;
pub mod legacy_json;
pub mod route_info_manager;

pub use broker_live_info::{
    BrokerAddrInfo, BrokerLiveInfo, ChannelId, DEFAULT_BROKER_CHANNEL_EXPIRED_TIME_MILLIS,
};
pub use route_info_manager::{
    BrokerRegistration, BrokerUnregistration, RegisterBrokerResult, RouteInfoManager,
    RouteInfoOptions,
};
