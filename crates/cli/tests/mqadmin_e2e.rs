//! mqadmin's commands end to end against an in-process name server and broker over loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use broker::{BrokerConfig, BrokerController};
use cli::commands::{self, Ctx};
use client::{ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer};
use rt::disk::FsDisk;
use store::MessageStoreConfig;

async fn mqadmin(ctx: &Ctx, args: &[&str]) -> cli::Result<String> {
    let parsed = commands::parse(std::iter::once("mqadmin").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    commands::run(ctx, &parsed.command).await
}

async fn eventually(ctx: &Ctx, args: &[&str], want: &str) -> String {
    let mut last = String::new();
    for _ in 0..200 {
        match mqadmin(ctx, args).await {
            Ok(out) if out.contains(want) => return out,
            Ok(out) => last = out,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{args:?} never printed {want:?}; last:\n{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_end_to_end() {
    let ns = namesrv::start(namesrv::NamesrvConfig { listen_port: 0, ..Default::default() })
        .await
        .unwrap();
    let ns_addr = format!("127.0.0.1:{}", ns.local_addr().port());
    let dir = tempfile::tempdir().unwrap();
    let cfg = BrokerConfig {
        listen_port: 0,
        broker_name: "broker-cli".into(),
        namesrv_addr: vec![ns_addr.clone()],
        ..BrokerConfig::default()
    };
    let store_cfg = MessageStoreConfig {
        mapped_file_size_commit_log: 8 * 1024 * 1024,
        mapped_file_size_consume_queue: 1000 * 20,
        max_hash_slot_num: 1000,
        max_index_num: 4000,
        ..MessageStoreConfig::default()
    };
    let disk = Arc::new(FsDisk::new(dir.path()).unwrap());
    let broker = BrokerController::start(cfg, store_cfg, disk).await.unwrap();
    let broker_addr = format!("127.0.0.1:{}", broker.addr().unwrap().port());
    let ctx = Ctx::new(Some(ns_addr.clone())).unwrap();

    let out = eventually(&ctx, &["clusterList"], &broker_addr).await;
    assert!(out.starts_with("#Cluster Name"), "{out}");
    let row = out.lines().find(|l| l.contains(&broker_addr)).unwrap();
    assert!(
        row.split_whitespace().take(5).eq([
            "DefaultCluster",
            "broker-cli",
            "0",
            &broker_addr,
            "V5_3_3"
        ]),
        "{row}"
    );

    let out =
        mqadmin(&ctx, &["updateTopic", "-c", "DefaultCluster", "-t", "CliT", "-r", "2", "-w", "2"])
            .await
            .unwrap();
    assert!(out.contains(&format!("create topic to {broker_addr} success.")), "{out}");
    assert!(out.contains("readQueueNums=2, writeQueueNums=2, perm=RW-"), "{out}");
    let route = eventually(&ctx, &["topicRoute", "-t", "CliT"], "\"readQueueNums\": 2").await;
    assert!(route.contains("\"brokerName\": \"broker-cli\""), "{route}");
    assert!(route.contains(&broker_addr), "{route}");
    let list = mqadmin(&ctx, &["topicList"]).await.unwrap();
    assert!(list.lines().any(|l| l == "CliT"), "{list}");
    let list = mqadmin(&ctx, &["topicList", "-c"]).await.unwrap();
    assert!(list.lines().any(|l| l.split_whitespace().eq(["DefaultCluster", "CliT"])), "{list}");

    // Three messages: two anywhere, one to queue 1.
    let mut offset_ids = Vec::new();
    for (i, extra) in [(0, vec![]), (1, vec![]), (2, vec!["-b", "broker-cli", "-i", "1"])] {
        let body = format!("hello-{i}");
        let key = format!("key-{i}");
        let mut args = vec!["sendMessage", "-t", "CliT", "-p", &body, "-c", "TagA", "-k", &key];
        args.extend(extra);
        let out = mqadmin(&ctx, &args).await.unwrap();
        assert!(out.starts_with("#Broker Name  #QID  #Send Result"), "{out}");
        let row: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!((row[0], row[2]), ("broker-cli", "SEND_OK"), "{out}");
        if i == 2 {
            assert_eq!(row[1], "1");
        }
        offset_ids.push(row[4].to_owned());
    }

    // The consume queues are built by the dispatcher just after the store acknowledges: wait
    // until all three sends are in them.
    let max_sum = |status: &str| -> i64 {
        status
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(4)?.parse::<i64>().ok())
            .sum()
    };
    let mut status = String::new();
    for _ in 0..200 {
        status = mqadmin(&ctx, &["topicStatus", "-t", "CliT"]).await.unwrap();
        if max_sum(&status) == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines[0], "#Topic  #Broker Name  #QID  #Min Offset  #Max Offset  #Last Updated");
    assert_eq!(lines.len(), 3, "{status}");
    assert_eq!(max_sum(&status), 3, "{status}");

    let out = mqadmin(&ctx, &["queryMsgById", "-i", &offset_ids[2]]).await.unwrap();
    assert!(out.contains(&format!("OffsetID:            {}", offset_ids[2])), "{out}");
    assert!(out.contains("Message Body:        hello-2"), "{out}");
    assert!(out.contains("Tags:                [TagA]"), "{out}");
    assert!(out.contains("Queue ID:            1"), "{out}");

    let out =
        eventually(&ctx, &["queryMsgByKey", "-t", "CliT", "-k", "key-1"], &offset_ids[1]).await;
    assert_eq!(out.lines().count(), 2, "{out}");

    let out = mqadmin(&ctx, &["consumeMessage", "-t", "CliT", "-c", "10"]).await.unwrap();
    assert!(out.ends_with("Consumed 3 message(s) from CliT\n"), "{out}");
    for i in 0..3 {
        assert!(out.contains(&format!("BODY: hello-{i}")), "{out}");
    }
    let out = mqadmin(&ctx, &["consumeMessage", "-t", "CliT", "-b", "broker-cli", "-i", "1"])
        .await
        .unwrap();
    assert!(out.contains("BODY: hello-2") && out.contains("Consumed"), "{out}");
    let out = mqadmin(&ctx, &["consumeMessage", "-t", "CliT", "-c", "1"]).await.unwrap();
    assert!(out.ends_with("Consumed 1 message(s) from CliT\n"), "{out}");

    // A group that consumed everything shows no lag.
    let consumed = Arc::new(AtomicUsize::new(0));
    let seen = consumed.clone();
    let consumer = PushConsumer::new("CliGroup", ctx.config.clone());
    consumer.subscribe("CliT", "*").unwrap();
    consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    consumer.register_message_listener_concurrently(move |msgs, _| {
        seen.fetch_add(msgs.len(), Ordering::SeqCst);
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    consumer.start().await.unwrap();
    for _ in 0..400 {
        if consumed.load(Ordering::SeqCst) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    consumer.shutdown().await;
    let out =
        eventually(&ctx, &["consumerProgress", "-g", "CliGroup", "-t", "CliT"], "Diff Total: 0")
            .await;
    assert!(
        out.starts_with("#Topic  #Broker Name  #QID  #Broker Offset  #Consumer Offset"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.split_whitespace().take(3).eq(["CliT", "broker-cli", "1"])),
        "{out}"
    );

    // Errors are results, never panics.
    assert!(mqadmin(&ctx, &["topicRoute", "-t", "NoSuchTopic"]).await.is_err());
    assert!(mqadmin(&ctx, &["queryMsgById", "-i", "nothex"]).await.is_err());

    ctx.shutdown().await;
    broker.shutdown().await.unwrap();
    ns.shutdown().await;
}

#[tokio::test]
async fn unreachable_name_server_is_an_error() {
    let ctx = Ctx::new(Some("127.0.0.1:1".to_owned())).unwrap();
    let err = mqadmin(&ctx, &["topicList"]).await.unwrap_err();
    assert!(!err.to_string().is_empty());
}
