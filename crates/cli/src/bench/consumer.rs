//! `mqbench consumer`: a push consumer that counts messages and measures end-to-end latency:
//! receipt time minus the message's store time, and minus its born time.

use std::sync::{Arc, Mutex, PoisonError};

use clap::Args;
use client::{ConsumeConcurrentlyStatus, ConsumeFromWhere, PushConsumer};

use crate::bench::stats::{ms, ms_f, Histogram};
use crate::bench::{client_config, duration};
use crate::error::Result;

/// `mqbench consumer` options.
#[derive(Debug, Clone, Args)]
pub struct ConsumerArgs {
    /// Name server addresses (default: NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    pub namesrv: Option<String>,
    /// Topic.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    pub topic: String,
    /// Consumer group (default: a fresh `benchmark_consumer_<n>`).
    #[arg(short = 'g', long = "group")]
    pub group: Option<String>,
    /// Start from the beginning of each queue instead of the end.
    #[arg(long = "from-first")]
    pub from_first: bool,
    /// Run time in seconds.
    #[arg(short = 'd', long = "duration", default_value_t = 60)]
    pub duration: u64,
}

/// Latencies of one interval, milliseconds.
#[derive(Debug, Clone, Default)]
pub struct E2eWindow {
    pub count: u64,
    /// Receipt minus store time.
    pub store: Histogram,
    /// Receipt minus born time.
    pub born: Histogram,
}

impl E2eWindow {
    fn merge(&mut self, o: &E2eWindow) {
        self.count += o.count;
        self.store.merge(&o.store);
        self.born.merge(&o.born);
    }
}

fn fmt_hist(h: &Histogram) -> String {
    // Recorded in milliseconds; `ms` takes microseconds.
    format!(
        "avg {} max {} p99 {}",
        ms_f(h.mean() * 1000.0),
        ms(h.max() * 1000),
        ms(h.value_at_percentile(99.0) * 1000)
    )
}

/// One per-second line.
pub fn second_line(w: &E2eWindow, secs: f64) -> String {
    let tps = if secs > 0.0 { w.count as f64 / secs } else { 0.0 };
    format!(
        "Consume TPS: {tps:.0} | Store->Receive(ms): {} | Born->Receive(ms): {}",
        fmt_hist(&w.store),
        fmt_hist(&w.born)
    )
}

/// Runs the consumer for the duration; returns the whole run's window.
pub async fn run(a: &ConsumerArgs) -> Result<E2eWindow> {
    let run_for = duration(a.duration)?;
    let config = client_config(a.namesrv.as_deref())?;
    let group =
        a.group.clone().unwrap_or_else(|| format!("benchmark_consumer_{}", rt::rand::u32()));
    let consumer = PushConsumer::new(group.clone(), config);
    consumer.subscribe(&a.topic, "*")?;
    if a.from_first {
        consumer.set_consume_from_where(ConsumeFromWhere::FirstOffset);
    }
    let current: Arc<Mutex<E2eWindow>> = Arc::default();
    let sink = current.clone();
    consumer.register_message_listener_concurrently(move |msgs, _ctx| {
        let now = rt::clock::now_millis() as i64;
        let mut w = sink.lock().unwrap_or_else(PoisonError::into_inner);
        for m in msgs {
            w.count += 1;
            w.store.record(u64::try_from(now - m.store_timestamp).unwrap_or(0));
            w.born.record(u64::try_from(now - m.born_timestamp).unwrap_or(0));
        }
        ConsumeConcurrentlyStatus::ConsumeSuccess
    });
    consumer.start().await?;
    println!("mqbench consumer: topic={} group={group} duration={}s", a.topic, a.duration);

    let take = || std::mem::take(&mut *current.lock().unwrap_or_else(PoisonError::into_inner));
    let start = rt::clock::now();
    let mut last = start;
    let mut total = E2eWindow::default();
    let second = std::time::Duration::from_secs(1);
    let mut tick = tokio::time::interval_at(start + second, second);
    loop {
        tick.tick().await;
        let now = rt::clock::now();
        let w = take();
        println!("{}", second_line(&w, now.duration_since(last).as_secs_f64()));
        total.merge(&w);
        last = now;
        if now.duration_since(start) >= run_for {
            break;
        }
    }
    consumer.shutdown().await;
    total.merge(&take());
    let secs = rt::clock::now().duration_since(start).as_secs_f64();
    println!(
        "[Summary] Consumed: {} | Consume TPS: {:.0} | Store->Receive(ms): {} | \
         Born->Receive(ms): {}",
        total.count,
        total.count as f64 / secs.max(f64::MIN_POSITIVE),
        fmt_hist(&total.store),
        fmt_hist(&total.born)
    );
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reports_both_latencies() {
        let mut w = E2eWindow { count: 10, ..Default::default() };
        for v in [2, 4] {
            w.store.record(v);
            w.born.record(v + 1);
        }
        let line = second_line(&w, 2.0);
        assert_eq!(
            line,
            "Consume TPS: 5 | Store->Receive(ms): avg 3.000 max 4.000 p99 4.000 | \
             Born->Receive(ms): avg 4.000 max 5.000 p99 5.000"
        );
    }
}
