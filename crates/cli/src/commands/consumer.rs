//! `consumerProgress`: a consumer group's offsets against the queues' ends.

use clap::Args;

use crate::commands::Ctx;
use crate::error::Result;
use crate::format::{format_millis, Table};
use client::admin::ConsumeStats;

/// `consumerProgress` options.
#[derive(Debug, Clone, Args)]
pub struct ConsumerProgressArgs {
    /// Consumer group.
    #[arg(short = 'g', long = "groupName")]
    pub group: String,
    /// Only this topic (default: every topic the group consumes).
    #[arg(short = 't', long = "topicName")]
    pub topic: Option<String>,
}

/// The progress table with its totals, as RocketMQ prints it.
pub fn render_progress(stats: &ConsumeStats) -> String {
    let mut table = Table::new([
        "#Topic",
        "#Broker Name",
        "#QID",
        "#Broker Offset",
        "#Consumer Offset",
        "#Diff",
        "#LastTime",
    ]);
    for (mq, w) in &stats.offset_table {
        table.row([
            mq.topic.clone(),
            mq.broker_name.clone(),
            mq.queue_id.to_string(),
            w.broker_offset.to_string(),
            w.consumer_offset.to_string(),
            w.diff().to_string(),
            format_millis(w.last_timestamp),
        ]);
    }
    let mut out = table.render();
    out.push('\n');
    out.push_str(&format!("Consume TPS: {:.2}\n", stats.consume_tps));
    out.push_str(&format!("Diff Total: {}\n", stats.total_diff()));
    out
}

/// `consumerProgress`.
pub async fn consumer_progress(ctx: &Ctx, a: &ConsumerProgressArgs) -> Result<String> {
    let stats = ctx.admin.consume_stats(&a.group, a.topic.as_deref()).await?;
    Ok(render_progress(&stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::admin::OffsetWrapper;
    use client::MessageQueue;

    #[test]
    fn totals_and_rows() {
        let mut stats = ConsumeStats::default();
        for (q, (b, c)) in [(10, 4), (3, 3)].into_iter().enumerate() {
            let mq =
                MessageQueue { topic: "T".into(), broker_name: "b".into(), queue_id: q as i32 };
            let w = OffsetWrapper { broker_offset: b, consumer_offset: c, ..Default::default() };
            stats.offset_table.insert(mq, w);
        }
        let text = render_progress(&stats);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("#Topic  #Broker Name  #QID  #Broker Offset"));
        assert!(lines[1].split_whitespace().eq(["T", "b", "0", "10", "4", "6", "-"]));
        assert!(text.contains("Diff Total: 6\n"), "{text}");
    }
}
