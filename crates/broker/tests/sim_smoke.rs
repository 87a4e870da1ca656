//! Simulation smoke test: one broker inside the simulator on a SimDisk, served over simulated
//! TCP: send, pull, a long poll woken by a send, then a graceful restart on the same disk.
//!
//! Run: `MADSIM_TEST_SEED=<n> cargo sim -p apogee-broker --test sim_smoke`.
#![cfg(madsim)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use broker::{BrokerConfig, BrokerController};
use common::*;
use protocol::message::sysflag::pull::SUSPEND;
use protocol::ResponseCode;
use remoting::{ClientConfig, RemotingClient};
use rt::disk::{SimDisk, SimDiskConfig};

#[tokio::test]
async fn broker_on_sim_disk() {
    let sim = SimDisk::new(SimDiskConfig::with_seed(7));
    let config = BrokerConfig {
        listen_port: 10911,
        broker_ip1: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..broker_config()
    };
    let handle =
        BrokerController::start(config.clone(), store_config(), sim.as_disk_ref()).await.unwrap();
    let addr = handle.controller().broker_addr();
    let client = RemotingClient::new(ClientConfig::default());
    for i in 0..3 {
        let r = client.invoke(&addr, send_v2("SimT", 0, None, &format!("s{i}")), TIMEOUT).await;
        assert_eq!(r.unwrap().code, ResponseCode::SUCCESS);
    }
    let store = handle.controller().store.clone();
    store.wait_dispatched(store.max_phy_offset()).await;
    let r = client.invoke(&addr, pull("G", "SimT", 0, 0, "*", 0, 0), TIMEOUT).await.unwrap();
    assert_eq!(decode_body(&r).len(), 3);

    let c2 = client.clone();
    let a2 = addr.clone();
    let parked = tokio::spawn(async move {
        c2.invoke(&a2, pull("G", "SimT", 0, 3, "*", SUSPEND, 15_000), TIMEOUT).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = client.invoke(&addr, send_v2("SimT", 0, None, "late"), TIMEOUT).await.unwrap();
    assert_eq!(r.code, 0);
    let r = parked.await.unwrap();
    assert_eq!(r.code, ResponseCode::SUCCESS, "{r:?}");
    assert_eq!(&decode_body(&r)[0].body[..], b"late");

    client.close_all();
    handle.shutdown().await.unwrap();
    let handle = BrokerController::start(config, store_config(), sim.as_disk_ref()).await.unwrap();
    let client = RemotingClient::new(ClientConfig::default());
    let r = client.invoke(&addr, pull("G", "SimT", 0, 0, "*", 0, 0), TIMEOUT).await.unwrap();
    assert_eq!(decode_body(&r).len(), 4);
    client.close_all();
    handle.shutdown().await.unwrap();
}
