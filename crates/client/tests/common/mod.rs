//! A name server and brokers in this process over loopback TCP, each broker on a temporary
//! FsDisk, started through their library entry points.
#![allow(dead_code)]

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use broker::{BrokerConfig, BrokerController, BrokerHandle};
use client::{Admin, ClientConfig, TopicConfig};
use rt::disk::FsDisk;
use store::MessageStoreConfig;

pub const CLUSTER: &str = "DefaultCluster";

pub struct TestBroker {
    pub handle: Option<BrokerHandle>,
    pub addr: String,
    pub name: String,
    _dir: tempfile::TempDir,
}

pub struct Cluster {
    pub namesrv: namesrv::NamesrvHandle,
    pub namesrv_addr: String,
    pub brokers: Vec<TestBroker>,
}

fn store_config() -> MessageStoreConfig {
    MessageStoreConfig {
        mapped_file_size_commit_log: 8 * 1024 * 1024,
        mapped_file_size_consume_queue: 1000 * 20,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        // Retries wait out level 3 + reconsumeTimes; short levels keep the retry tests quick.
        message_delay_level: ["1s"; 18].join(" "),
        ..MessageStoreConfig::default()
    }
}

impl Cluster {
    /// A name server and `n` brokers (`broker-0`, `broker-1`, ...) registered with it.
    pub async fn start(n: usize) -> Self {
        let ns = namesrv::start(namesrv::NamesrvConfig { listen_port: 0, ..Default::default() })
            .await
            .unwrap();
        let namesrv_addr = format!("127.0.0.1:{}", ns.local_addr().port());
        let mut brokers = Vec::new();
        for i in 0..n {
            brokers.push(start_broker(&namesrv_addr, &format!("broker-{i}")).await);
        }
        let cluster = Self { namesrv: ns, namesrv_addr, brokers };
        // TBW102 of every broker routable before any client asks.
        let admin = Admin::new(cluster.config());
        wait_until("brokers registered", || async {
            admin.topic_route("TBW102").await.is_ok_and(|r| r.broker_datas.len() == n)
        })
        .await;
        admin.shutdown().await;
        cluster
    }

    /// A fresh client config (its own instance name) for this cluster.
    pub fn config(&self) -> ClientConfig {
        ClientConfig::new(self.namesrv_addr.clone())
    }

    /// Creates `topic` with `queues` queues on every broker and waits for its route.
    pub async fn create_topic(&self, topic: &str, queues: i32) {
        let admin = Admin::new(self.config());
        let cfg = TopicConfig {
            topic_name: topic.into(),
            read_queue_nums: queues,
            write_queue_nums: queues,
            ..TopicConfig::default()
        };
        let created = admin.create_topic(CLUSTER, &cfg).await.unwrap();
        assert_eq!(created.len(), self.brokers.len());
        let n = self.brokers.len();
        wait_until("topic routable", || async {
            admin.topic_route(topic).await.is_ok_and(|r| r.queue_datas.len() == n)
        })
        .await;
        admin.shutdown().await;
    }

    pub async fn shutdown(mut self) {
        for b in &mut self.brokers {
            if let Some(h) = b.handle.take() {
                h.shutdown().await.unwrap();
            }
        }
        self.namesrv.shutdown().await;
    }
}

pub async fn start_broker(namesrv_addr: &str, name: &str) -> TestBroker {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BrokerConfig {
        listen_port: 0,
        broker_name: name.into(),
        namesrv_addr: vec![namesrv_addr.to_owned()],
        ..BrokerConfig::default()
    };
    let disk = Arc::new(FsDisk::new(dir.path()).unwrap());
    let handle = BrokerController::start(cfg, store_config(), disk).await.unwrap();
    let addr = format!("127.0.0.1:{}", handle.addr().unwrap().port());
    TestBroker { handle: Some(handle), addr, name: name.into(), _dir: dir }
}

/// Polls `cond` every 50 ms for up to 20 s.
pub async fn wait_until<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}
