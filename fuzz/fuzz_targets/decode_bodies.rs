//! Arbitrary bytes as JSON bodies and compressed registrations: errors, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::body::{
    quote_numeric_keys, ClusterInfo, HeartbeatData, JsonBody, RegisterBrokerBody, TopicRouteData,
};

fuzz_target!(|data: &[u8]| {
    let _ = quote_numeric_keys(data);
    let _ = TopicRouteData::decode(data);
    let _ = ClusterInfo::decode(data);
    let _ = HeartbeatData::decode(data);
    let _ = RegisterBrokerBody::decode_body(data, false);
    let _ = RegisterBrokerBody::decode_body(data, true);
});
