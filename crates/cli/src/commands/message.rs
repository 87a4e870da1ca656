//! Message commands: `queryMsgById`, `queryMsgByKey`, `sendMessage`, `consumeMessage`.

use std::time::Duration;

use clap::Args;
use client::{Message, MessageExt, MessageQueue, Producer, SendResult};
use protocol::message::compression::decompress_body;

use crate::commands::Ctx;
use crate::error::{CliError, Result};
use crate::format::{body_text, format_millis, Table};

/// Largest body printed after inflating a compressed one.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Messages asked for per pull by `consumeMessage`.
const PULL_BATCH: i32 = 32;
/// How long `consumeMessage` waits for more once every queue is caught up.
const CAUGHT_UP_WAIT: Duration = Duration::from_millis(500);

/// `queryMsgById` options.
#[derive(Debug, Clone, Args)]
pub struct QueryMsgByIdArgs {
    /// offsetMsgId(s), comma-separated.
    #[arg(short = 'i', long = "msgId", value_delimiter = ',', required = true)]
    pub msg_ids: Vec<String>,
}

/// `queryMsgByKey` options.
#[derive(Debug, Clone, Args)]
pub struct QueryMsgByKeyArgs {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Message key (KEYS).
    #[arg(short = 'k', long = "msgKey")]
    pub key: String,
    /// Most messages asked of each broker.
    #[arg(short = 'c', long = "maxNum", default_value_t = 64)]
    pub max_num: i32,
}

/// `sendMessage` options.
#[derive(Debug, Clone, Args)]
pub struct SendMessageArgs {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Message body.
    #[arg(short = 'p', long = "body")]
    pub body: String,
    /// Tag.
    #[arg(short = 'c', long = "tags")]
    pub tags: Option<String>,
    /// Keys (space-separated).
    #[arg(short = 'k', long = "keys")]
    pub keys: Option<String>,
    /// Send to this broker name (with -i).
    #[arg(short = 'b', long = "broker", requires = "queue_id")]
    pub broker: Option<String>,
    /// Send to this queue id (with -b).
    #[arg(short = 'i', long = "qid", requires = "broker")]
    pub queue_id: Option<i32>,
}

/// `consumeMessage` options.
#[derive(Debug, Clone, Args)]
pub struct ConsumeMessageArgs {
    /// Topic.
    #[arg(short = 't', long = "topic")]
    pub topic: String,
    /// Only this broker name.
    #[arg(short = 'b', long = "brokerName")]
    pub broker: Option<String>,
    /// Only this queue id.
    #[arg(short = 'i', long = "queueId")]
    pub queue_id: Option<i32>,
    /// Start offset in each queue (default: the queue's first stored message).
    #[arg(short = 'o', long = "offset")]
    pub offset: Option<i64>,
    /// Stop after this many messages.
    #[arg(short = 'c', long = "messageNumber", default_value_t = 128)]
    pub count: usize,
    /// Consumer group named in the pulls (no offset is committed).
    #[arg(short = 'g', long = "consumerGroup", default_value = "TOOLS_CONSUMER")]
    pub group: String,
}

/// One message in full, the fields RocketMQ's `queryMsgById` prints.
pub fn render_message(m: &MessageExt) -> String {
    let body = decompress_body(&m.body, m.sys_flag, MAX_BODY)
        .map(|b| body_text(&b))
        .unwrap_or_else(|e| format!("<cannot inflate: {e}>"));
    let props: Vec<String> = m.properties.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut out = String::new();
    let mut line = |name: &str, value: String| out.push_str(&format!("{name:<20} {value}\n"));
    line("OffsetID:", m.msg_id());
    line("Topic:", m.topic.clone());
    line("Tags:", format!("[{}]", m.tags().unwrap_or_default()));
    line("Keys:", format!("[{}]", m.keys().unwrap_or_default()));
    line("Queue ID:", m.queue_id.to_string());
    line("Queue Offset:", m.queue_offset.to_string());
    line("CommitLog Offset:", m.commit_log_offset.to_string());
    line("Reconsume Times:", m.reconsume_times.to_string());
    line("Born Timestamp:", format_millis(m.born_timestamp));
    line("Store Timestamp:", format_millis(m.store_timestamp));
    line("Born Host:", m.born_host.to_string());
    line("Store Host:", m.store_host.to_string());
    line("System Flag:", m.sys_flag.to_string());
    line("Properties:", format!("{{{}}}", props.join(", ")));
    line("Message Body:", body);
    out
}

/// `queryMsgById`: VIEW_MESSAGE_BY_ID at the broker named in each id.
pub async fn query_msg_by_id(ctx: &Ctx, a: &QueryMsgByIdArgs) -> Result<String> {
    let mut out = String::new();
    for id in &a.msg_ids {
        let m = ctx.admin.view_message(id.trim()).await?;
        out.push_str(&render_message(&m));
        out.push('\n');
    }
    Ok(out)
}

/// `queryMsgByKey`: the messages indexed under a key, oldest first.
pub async fn query_msg_by_key(ctx: &Ctx, a: &QueryMsgByKeyArgs) -> Result<String> {
    let msgs = ctx.admin.query_message(&a.topic, &a.key, a.max_num, 0, i64::MAX).await?;
    let mut table = Table::new(["#Message ID", "#QID", "#Offset", "#Store Time"]);
    for m in &msgs {
        table.row([
            m.msg_id(),
            m.queue_id.to_string(),
            m.queue_offset.to_string(),
            format_millis(m.store_timestamp),
        ]);
    }
    Ok(table.render())
}

/// A send result as RocketMQ's `sendMessage` prints it.
pub fn render_send_result(r: &SendResult) -> String {
    let mut table = Table::new(["#Broker Name", "#QID", "#Send Result", "#MsgId", "#OffsetMsgId"]);
    table.row([
        r.message_queue.broker_name.clone(),
        r.message_queue.queue_id.to_string(),
        format!("{:?}", r.send_status).to_uppercase().replace("SENDOK", "SEND_OK"),
        r.msg_id.clone(),
        r.offset_msg_id.clone(),
    ]);
    table.render()
}

/// `sendMessage`: one message, to any queue or the one given.
pub async fn send_message(ctx: &Ctx, a: &SendMessageArgs) -> Result<String> {
    let mut msg = Message::new(a.topic.clone(), a.body.clone().into_bytes());
    if let Some(tags) = &a.tags {
        msg.set_tags(tags.clone());
    }
    if let Some(keys) = &a.keys {
        msg = msg.with_keys(keys.split_whitespace());
    }
    let producer = Producer::new("PID_MQADMIN", ctx.config.clone());
    producer.start().await?;
    let result = match (&a.broker, a.queue_id) {
        (Some(broker), Some(queue_id)) => {
            let mq = MessageQueue { topic: a.topic.clone(), broker_name: broker.clone(), queue_id };
            producer.send_to_queue(msg, &mq).await
        }
        _ => producer.send(msg).await,
    };
    producer.shutdown().await;
    Ok(render_send_result(&result?))
}

/// One queue being read by `consumeMessage`.
struct Cursor {
    mq: MessageQueue,
    offset: i64,
}

/// The queues `consumeMessage` reads: those of brokers with a master serving them.
async fn cursors(ctx: &Ctx, a: &ConsumeMessageArgs) -> Result<Vec<Cursor>> {
    let route = ctx.admin.topic_route(&a.topic).await?;
    let mut out = Vec::new();
    for qd in &route.queue_datas {
        if a.broker.as_ref().is_some_and(|b| *b != qd.broker_name) {
            continue;
        }
        let has_master = route
            .broker_datas
            .iter()
            .any(|b| b.broker_name == qd.broker_name && b.master_addr().is_some());
        if !has_master {
            continue;
        }
        for queue_id in 0..qd.read_queue_nums {
            if a.queue_id.is_some_and(|q| q != queue_id) {
                continue;
            }
            let mq = MessageQueue {
                topic: a.topic.clone(),
                broker_name: qd.broker_name.clone(),
                queue_id,
            };
            let offset = match a.offset {
                Some(o) => o,
                None => ctx.admin.min_offset(&mq).await?,
            };
            out.push(Cursor { mq, offset });
        }
    }
    if out.is_empty() {
        return Err(CliError::usage(format!("no readable queue of {} matches", a.topic)));
    }
    Ok(out)
}

/// One pull without long polling; returns the messages (bodies inflated) and the next offset.
async fn pull_once(ctx: &Ctx, group: &str, c: &Cursor, max: i32) -> Result<(Vec<MessageExt>, i64)> {
    let r = ctx.admin.pull(group, &c.mq, "*", c.offset, max).await?;
    Ok((r.msgs, r.next_begin_offset))
}

/// One pulled message on one line.
pub fn render_consumed(m: &MessageExt, broker: &str) -> String {
    // The pull inflated compressed bodies already.
    let body = body_text(&m.body);
    format!(
        "MSGID: {} | BROKER: {broker} | QID: {} | OFFSET: {} | TAGS: {} | KEYS: {} | \
         STORE: {} | BODY: {body}\n",
        m.msg_id(),
        m.queue_id,
        m.queue_offset,
        m.tags().unwrap_or_default(),
        m.keys().unwrap_or_default(),
        format_millis(m.store_timestamp),
    )
}

/// `consumeMessage`: pulls every selected queue in turn until `count` messages or until all
/// are caught up (checked twice, `CAUGHT_UP_WAIT` apart). Commits nothing.
pub async fn consume_message(ctx: &Ctx, a: &ConsumeMessageArgs) -> Result<String> {
    let mut cursors = cursors(ctx, a).await?;
    let mut out = String::new();
    let mut got = 0usize;
    let mut waited = false;
    while got < a.count {
        let mut round = 0usize;
        for c in &mut cursors {
            let left = a.count - got;
            if left == 0 {
                break;
            }
            let max = PULL_BATCH.min(i32::try_from(left).unwrap_or(PULL_BATCH));
            let (msgs, next) = pull_once(ctx, &a.group, c, max).await?;
            for m in msgs.iter().take(left) {
                out.push_str(&render_consumed(m, &c.mq.broker_name));
                got += 1;
                round += 1;
            }
            // Stop exactly after the last printed message, so a re-run with -o continues.
            c.offset = match msgs.get(left.saturating_sub(1)) {
                Some(m) if msgs.len() > left => m.queue_offset + 1,
                _ => next,
            };
        }
        if round == 0 {
            if waited {
                break;
            }
            waited = true;
            tokio::time::sleep(CAUGHT_UP_WAIT).await;
        } else {
            waited = false;
        }
    }
    out.push_str(&format!("Consumed {got} message(s) from {}\n", a.topic));
    Ok(out)
}
