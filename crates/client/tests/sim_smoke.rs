//! Simulation smoke test: a name server, a broker on a SimDisk, a producer and a push consumer,
//! all inside the simulator over simulated TCP: auto-created topic, sends, consumption of
//! everything, offsets committed at shutdown.
//!
//! Run: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-client --test sim_smoke`.
#![cfg(madsim)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker::{BrokerConfig, BrokerController};
use client::{
    Admin, ClientConfig, ConsumeConcurrentlyStatus, ConsumeFromWhere, Message, Producer,
    PushConsumer,
};
use rt::disk::{SimDisk, SimDiskConfig};
use store::MessageStoreConfig;

#[tokio::test]
async fn produce_and_push_consume_in_simulation() {
    let ns = namesrv::start(namesrv::NamesrvConfig { listen_port: 9876, ..Default::default() })
        .await
        .unwrap();
    let namesrv_addr = "127.0.0.1:9876".to_owned();
    let sim = SimDisk::new(SimDiskConfig::with_seed(11));
    let store = MessageStoreConfig {
        mapped_file_size_commit_log: 1024 * 1024,
        mapped_file_size_consume_queue: 1000 * 20,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        ..MessageStoreConfig::default()
    };
    let config = BrokerConfig {
        listen_port: 10911,
        namesrv_addr: vec![namesrv_addr.clone()],
        ..BrokerConfig::default()
    };
    let broker = BrokerController::start(config, store, sim.as_disk_ref()).await.unwrap();

    let client_config = ClientConfig::new(namesrv_addr);
    let admin = Admin::new(client_config.clone());
    for _ in 0..100 {
        if admin.topic_route("TBW102").await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let producer = Producer::new("PG-sim", client_config.clone());
    producer.start().await.unwrap();
    let mut sent = BTreeSet::new();
    for i in 0..20 {
        let r = producer.send(Message::new("SimTopic", format!("m{i}"))).await.unwrap();
        sent.insert(r.msg_id);
    }

    let consumer = PushConsumer::new("CG-sim", ClientConfig::new("127.0.0.1:9876"));
    consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    consumer.subscribe("SimTopic", "*").unwrap();
    let got: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let sink = got.clone();
    consumer.register_message_listener_concurrently(move |msgs, _| {
        let mut got = sink.lock().unwrap();
        got.extend(msgs.iter().filter_map(|m| m.uniq_key().map(str::to_owned)));
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    consumer.start().await.unwrap();
    for _ in 0..300 {
        if got.lock().unwrap().len() >= sent.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(*got.lock().unwrap(), sent);
    consumer.shutdown().await;

    let stats = admin.consume_stats("CG-sim", Some("SimTopic")).await.unwrap();
    assert_eq!(stats.total_diff(), 0, "{stats:?}");
    producer.shutdown().await;
    admin.shutdown().await;
    broker.shutdown().await.unwrap();
    ns.shutdown().await;
}
