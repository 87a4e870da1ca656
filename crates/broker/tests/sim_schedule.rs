//! Simulation test of the schedule service: delay-level messages on RocketMQ's default levels
//! (up to 10 min, cheap in simulated time), a graceful broker restart on the same SimDisk while
//! most of them are still held, and then every message delivered to its real topic exactly
//! once and none before its store time plus its level's delay.
//!
//! Run: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-broker --test sim_schedule`.
#![cfg(madsim)]

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use broker::schedule::DelayLevelTable;
use broker::{BrokerConfig, BrokerController};
use bytes::Bytes;
use common::*;
use protocol::message::properties::encode_properties;
use protocol::message::MessageExt;
use protocol::{RemotingCommand, RequestCode, ResponseCode};
use remoting::{ClientConfig, RemotingClient};
use rt::disk::{SimDisk, SimDiskConfig};

const TOPIC: &str = "SimDelay";
const QUEUES: i32 = 4;
/// Levels sent: 1 s, 10 s, 1 min, 4 min, 6 min and 10 min.
const LEVELS: [i32; 6] = [1, 3, 5, 8, 10, 14];
const MESSAGES: usize = 24;

fn send_delayed(queue_id: i32, level: i32, body: &str) -> RemotingCommand {
    let level = level.to_string();
    let properties =
        encode_properties([("WAIT", "true"), ("DELAY", level.as_str()), ("UNIQ_KEY", body)])
            .unwrap();
    let h = send_header(TOPIC, queue_id, properties);
    let mut req = RemotingCommand::new_request(RequestCode::SEND_MESSAGE_V2);
    h.to_ext_v2(&mut req.ext_fields);
    req.with_body(Bytes::copy_from_slice(body.as_bytes()))
}

async fn delivered(client: &RemotingClient, addr: &str) -> Vec<MessageExt> {
    let mut all = Vec::new();
    for q in 0..QUEUES {
        let r = client.invoke(addr, pull("G", TOPIC, q, 0, "*", 0, 0), TIMEOUT).await.unwrap();
        all.extend(decode_body(&r));
    }
    all
}

#[tokio::test]
async fn delayed_messages_survive_a_graceful_restart() {
    let sim = SimDisk::new(SimDiskConfig::with_seed(11));
    let config = BrokerConfig {
        listen_port: 10911,
        broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..broker_config()
    };
    let levels = DelayLevelTable::default();
    let handle =
        BrokerController::start(config.clone(), store_config(), sim.as_disk_ref()).await.unwrap();
    let addr = handle.controller().broker_addr();
    let client = RemotingClient::new(ClientConfig::default());

    // body -> delay in ms
    let mut sent = BTreeMap::new();
    for i in 0..MESSAGES {
        let level = LEVELS[i % LEVELS.len()];
        let body = format!("d{i:02}");
        let r = client.invoke(&addr, send_delayed(i as i32 % QUEUES, level, &body), TIMEOUT).await;
        assert_eq!(r.unwrap().code, ResponseCode::SUCCESS);
        sent.insert(body, levels.delay_millis(level).unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Two minutes in: the 1 s, 10 s and 1 min levels are out, the rest still held.
    tokio::time::sleep(Duration::from_secs(120)).await;
    let early = delivered(&client, &addr).await;
    assert_eq!(
        early.len(),
        MESSAGES / 2,
        "{:?}",
        early.iter().map(|m| &m.body).collect::<Vec<_>>()
    );
    client.close_all();
    handle.shutdown().await.unwrap();

    tokio::time::sleep(Duration::from_secs(5)).await;
    let handle = BrokerController::start(config, store_config(), sim.as_disk_ref()).await.unwrap();
    let client = RemotingClient::new(ClientConfig::default());
    for _ in 0..(15 * 60 / 10) {
        if delivered(&client, &addr).await.len() >= MESSAGES {
            break;
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
    // Let anything that would be a duplicate arrive before counting.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = delivered(&client, &addr).await;

    let mut seen = BTreeMap::new();
    for m in &got {
        let body = String::from_utf8(m.body.to_vec()).unwrap();
        let delay = sent[&body];
        assert_eq!(m.property("UNIQ_KEY"), Some(body.as_str()));
        assert_eq!(m.property("DELAY"), None);
        // The born time is the sender's clock just before the send; the delivered copy's
        // store time is the broker's clock at the re-put.
        assert!(
            m.store_timestamp >= m.born_timestamp + delay,
            "{body} delivered {} ms early",
            m.born_timestamp + delay - m.store_timestamp
        );
        *seen.entry(body).or_insert(0) += 1;
    }
    assert_eq!(
        seen.len(),
        MESSAGES,
        "missing: {:?}",
        sent.keys().filter(|b| !seen.contains_key(*b)).collect::<Vec<_>>()
    );
    assert!(seen.values().all(|n| *n == 1), "duplicates after a graceful restart: {seen:?}");
    let offsets = handle.controller().schedule_message_service.offset_table().offset_table;
    for level in LEVELS {
        assert_eq!(offsets.get(&level), Some(&((MESSAGES / LEVELS.len()) as i64)), "{offsets:?}");
    }
    client.close_all();
    handle.shutdown().await.unwrap();
}
