//! Topic commands: `updateTopic`, `topicList`, `topicRoute`, `topicStatus`.

use std::collections::BTreeSet;

use clap::{ArgGroup, Args};
use client::TopicConfig;
use protocol::body::perm;

use crate::commands::Ctx;
use crate::error::{CliError, Result};
use crate::format::{format_millis, Table};

/// `updateTopic` options (RocketMQ's letters).
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct UpdateTopicArgs {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Create on this broker (`host:port`).
    #[arg(short = 'b', long = "brokerAddr")]
    pub broker_addr: Option<String>,
    /// Create on the master of every broker of this cluster.
    #[arg(short = 'c', long = "clusterName")]
    pub cluster_name: Option<String>,
    /// Read queues per broker.
    #[arg(short = 'r', long = "readQueueNums", default_value_t = 8)]
    pub read_queue_nums: i32,
    /// Write queues per broker.
    #[arg(short = 'w', long = "writeQueueNums", default_value_t = 8)]
    pub write_queue_nums: i32,
    /// Permission: 2 write, 4 read, 6 read and write.
    #[arg(short = 'p', long = "perm", default_value_t = 6)]
    pub perm: i32,
    /// Ordered topic.
    #[arg(short = 'o', long = "order", default_value_t = false, action = clap::ArgAction::Set)]
    pub order: bool,
}

/// `topicList` options.
#[derive(Debug, Clone, Args)]
pub struct TopicListArgs {
    /// Also show the cluster of each topic.
    #[arg(short = 'c', long = "clusterModel")]
    pub cluster_model: bool,
}

/// Commands that take just a topic.
#[derive(Debug, Clone, Args)]
pub struct TopicArg {
    /// Topic name.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
}

/// RocketMQ's `PermName.perm2String`: `RW-`, `R--`, `-WX`...
pub fn perm_string(p: i32) -> String {
    let flag = |bit: i32, c: char| if p & bit == bit { c } else { '-' };
    [flag(perm::READ, 'R'), flag(perm::WRITE, 'W'), flag(perm::INHERIT, 'X')].iter().collect()
}

/// A topic config the way RocketMQ's `TopicConfig.toString` prints it.
pub fn topic_config_line(c: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, \
         topicFilterType={}, topicSysFlag={}, order={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm_string(c.perm),
        c.topic_filter_type,
        c.topic_sys_flag,
        c.order
    )
}

/// `updateTopic`: UPDATE_AND_CREATE_TOPIC on one broker or every master of a cluster.
pub async fn update_topic(ctx: &Ctx, a: &UpdateTopicArgs) -> Result<String> {
    if a.read_queue_nums <= 0 || a.write_queue_nums <= 0 {
        return Err(CliError::usage("readQueueNums and writeQueueNums must be positive"));
    }
    if a.perm & !(perm::READ | perm::WRITE | perm::INHERIT) != 0 {
        return Err(CliError::usage(format!("perm {} is not a combination of 2, 4 and 1", a.perm)));
    }
    let config = TopicConfig {
        topic_name: a.topic.clone(),
        read_queue_nums: a.read_queue_nums,
        write_queue_nums: a.write_queue_nums,
        perm: a.perm,
        order: a.order,
        ..TopicConfig::default()
    };
    let addrs = match (&a.broker_addr, &a.cluster_name) {
        (Some(addr), _) => {
            ctx.admin.create_topic_on_broker(addr, &config).await?;
            vec![addr.clone()]
        }
        (None, Some(cluster)) => ctx.admin.create_topic(cluster, &config).await?,
        (None, None) => return Err(CliError::usage("give -b brokerAddr or -c clusterName")),
    };
    let mut out = String::new();
    for addr in &addrs {
        out.push_str(&format!("create topic to {addr} success.\n"));
    }
    out.push_str(&topic_config_line(&config));
    out.push('\n');
    Ok(out)
}

/// `topicList`: every topic; with `-c`, each with the clusters serving it.
pub async fn topic_list(ctx: &Ctx, a: &TopicListArgs) -> Result<String> {
    let topics = ctx.admin.topic_list().await?;
    if !a.cluster_model {
        return Ok(topics.iter().map(|t| format!("{t}\n")).collect());
    }
    let mut table = Table::new(["#Cluster Name", "#Topic"]);
    for topic in &topics {
        // A topic listed but without a route (being deleted) still shows, with no cluster.
        let clusters: BTreeSet<String> = match ctx.admin.topic_route(topic).await {
            Ok(route) => route.broker_datas.iter().map(|b| b.cluster.clone()).collect(),
            Err(_) => BTreeSet::new(),
        };
        if clusters.is_empty() {
            table.row(["", topic.as_str()]);
        }
        for cluster in clusters {
            table.row([cluster.as_str(), topic.as_str()]);
        }
    }
    Ok(table.render())
}

/// `topicRoute`: the route as pretty JSON.
pub async fn topic_route(ctx: &Ctx, a: &TopicArg) -> Result<String> {
    let route = ctx.admin.topic_route(&a.topic).await?;
    let mut text = serde_json::to_string_pretty(&route)
        .map_err(|e| CliError::usage(format!("cannot print the route: {e}")))?;
    text.push('\n');
    Ok(text)
}

/// `topicStatus`: min and max offset and last update time of every queue.
pub async fn topic_status(ctx: &Ctx, a: &TopicArg) -> Result<String> {
    let stats = ctx.admin.topic_stats(&a.topic).await?;
    let mut table = Table::new([
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Min Offset",
        "#Max Offset",
        "#Last Updated",
    ]);
    for (mq, off) in &stats.offset_table {
        table.row([
            mq.topic.clone(),
            mq.broker_name.clone(),
            mq.queue_id.to_string(),
            off.min_offset.to_string(),
            off.max_offset.to_string(),
            format_millis(off.last_update_timestamp),
        ]);
    }
    Ok(table.render())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_and_config_line() {
        assert_eq!(perm_string(6), "RW-");
        assert_eq!(perm_string(4), "R--");
        assert_eq!(perm_string(7), "RWX");
        let c = TopicConfig { topic_name: "T".into(), read_queue_nums: 4, ..Default::default() };
        let line = topic_config_line(&c);
        assert!(line.starts_with("TopicConfig [topicName=T, readQueueNums=4, writeQueueNums=16"));
        assert!(line.contains("perm=RW-"), "{line}");
    }
}
