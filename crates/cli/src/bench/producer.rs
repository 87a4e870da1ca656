//! `mqbench producer`: RocketMQ's benchmark producer. `-w` tasks send fixed-size messages
//! synchronously, asynchronously (in flight bounded by a semaphore) or in batches until the
//! duration ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, ValueEnum};
use client::{Message, Producer};
use tokio::sync::Semaphore;

use crate::bench::stats::{ms, ms_f, Window};
use crate::bench::{client_config, duration, Recorder};
use crate::error::{CliError, Result};

/// How messages are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// One awaited send at a time per task.
    Sync,
    /// Sends in spawned tasks, at most `--in-flight` at once.
    Async,
    /// `--batch-size` messages per send.
    Batch,
}

/// `mqbench producer` options (RocketMQ benchmark letters where it has them).
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    /// Name server addresses (default: NAMESRV_ADDR).
    #[arg(short = 'n', long = "namesrvAddr", env = "NAMESRV_ADDR")]
    pub namesrv: Option<String>,
    /// Topic.
    #[arg(short = 't', long = "topic", default_value = "BenchmarkTest")]
    pub topic: String,
    /// Sending tasks (RocketMQ's threadCount).
    #[arg(short = 'w', long = "threadCount", default_value_t = 64)]
    pub tasks: usize,
    /// Body size in bytes.
    #[arg(short = 's', long = "messageSize", default_value_t = 128)]
    pub size: usize,
    /// sync, async or batch.
    #[arg(long = "mode", value_enum, default_value_t = Mode::Sync)]
    pub mode: Mode,
    /// Messages per batch (batch mode).
    #[arg(short = 'b', long = "batch-size", default_value_t = 16)]
    pub batch_size: usize,
    /// Most sends in flight (async mode).
    #[arg(long = "in-flight", default_value_t = 1024)]
    pub in_flight: usize,
    /// Run time in seconds.
    #[arg(short = 'd', long = "duration", default_value_t = 60)]
    pub duration: u64,
    /// Tag of every message.
    #[arg(short = 'g', long = "tag", default_value = "TagA")]
    pub tag: String,
}

/// What a run achieved.
#[derive(Debug, Clone)]
pub struct ProducerSummary {
    pub total: Window,
    pub elapsed_secs: f64,
}

impl ProducerSummary {
    /// Messages per second over the run.
    pub fn tps(&self) -> f64 {
        self.total.tps(self.elapsed_secs)
    }
}

/// One per-second line.
pub fn second_line(w: &Window, secs: f64) -> String {
    let h = &w.rt_us;
    format!(
        "Send TPS: {:.0} | Max RT(ms): {} | Average RT(ms): {} | Send Failed: {} | \
         p50(ms): {} | p99(ms): {} | p999(ms): {}",
        w.tps(secs),
        ms(h.max()),
        ms_f(h.mean()),
        w.failed,
        ms(h.value_at_percentile(50.0)),
        ms(h.value_at_percentile(99.0)),
        ms(h.value_at_percentile(99.9)),
    )
}

/// The closing line.
pub fn summary_line(s: &ProducerSummary) -> String {
    let h = &s.total.rt_us;
    format!(
        "[Summary] Send Total: {} | Send TPS: {:.0} | Send Failed: {} | Max RT(ms): {} | \
         Average RT(ms): {} | p50(ms): {} | p99(ms): {} | p999(ms): {} | Seconds: {:.1}",
        s.total.ok,
        s.tps(),
        s.total.failed,
        ms(h.max()),
        ms_f(h.mean()),
        ms(h.value_at_percentile(50.0)),
        ms(h.value_at_percentile(99.0)),
        ms(h.value_at_percentile(99.9)),
        s.elapsed_secs,
    )
}

fn check(a: &ProducerArgs) -> Result<Duration> {
    if a.tasks == 0 || a.tasks > 10_000 {
        return Err(CliError::usage("threadCount must be 1..=10000"));
    }
    if a.size == 0 || a.size > 4 * 1024 * 1024 {
        return Err(CliError::usage("messageSize must be 1..=4194304"));
    }
    if a.mode == Mode::Batch && (a.batch_size == 0 || a.batch_size > 1024) {
        return Err(CliError::usage("batch-size must be 1..=1024"));
    }
    if a.mode == Mode::Async && a.in_flight == 0 {
        return Err(CliError::usage("in-flight must be at least 1"));
    }
    duration(a.duration)
}

/// Runs the benchmark, printing a line per second and a summary.
pub async fn run(a: &ProducerArgs) -> Result<ProducerSummary> {
    let run_for = check(a)?;
    let config = client_config(a.namesrv.as_deref())?;
    let producer = Producer::new(format!("benchmark_producer_{}", rt::rand::u32()), config);
    producer.start().await?;
    // A first send surfaces an unreachable name server or a missing route as one clear error
    // instead of a stream of failures.
    let body = Bytes::from(vec![b'a'; a.size]);
    let msg = Message::new(a.topic.clone(), body.clone()).with_tags(a.tag.clone());
    if let Err(e) = producer.send(msg.clone()).await {
        producer.shutdown().await;
        return Err(e.into());
    }
    println!(
        "mqbench producer: topic={} mode={:?} tasks={} size={} batch={} duration={}s",
        a.topic, a.mode, a.tasks, a.size, a.batch_size, a.duration
    );

    let recorder = Recorder::default();
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(Semaphore::new(a.in_flight));
    let mut workers = Vec::new();
    for _ in 0..a.tasks {
        let (producer, recorder, stop, msg) =
            (producer.clone(), recorder.clone(), stop.clone(), msg.clone());
        let (mode, batch, in_flight) = (a.mode, a.batch_size, in_flight.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match mode {
                    Mode::Sync => {
                        let t0 = rt::clock::now();
                        let ok = producer.send(msg.clone()).await.is_ok();
                        record(&recorder, t0, ok, 1);
                    }
                    Mode::Batch => {
                        let t0 = rt::clock::now();
                        let msgs = vec![msg.clone(); batch];
                        let ok = producer.send_batch(msgs).await.is_ok();
                        record(&recorder, t0, ok, batch as u64);
                    }
                    Mode::Async => {
                        let Ok(permit) = in_flight.clone().acquire_owned().await else { break };
                        let (producer, recorder, msg) =
                            (producer.clone(), recorder.clone(), msg.clone());
                        tokio::spawn(async move {
                            let t0 = rt::clock::now();
                            let ok = producer.send(msg).await.is_ok();
                            record(&recorder, t0, ok, 1);
                            drop(permit);
                        });
                    }
                }
            }
        }));
    }

    let total = report(&recorder, run_for, second_line).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    // Let async sends still in flight finish (each is bounded by the send timeout).
    if a.mode == Mode::Async {
        let all = u32::try_from(a.in_flight).unwrap_or(u32::MAX);
        let _ = in_flight.acquire_many(all).await;
    }
    producer.shutdown().await;
    let mut total = total;
    total.merge(&recorder.take());
    let summary = ProducerSummary { total, elapsed_secs: run_for.as_secs_f64() };
    println!("{}", summary_line(&summary));
    Ok(summary)
}

fn record(recorder: &Recorder, t0: tokio::time::Instant, ok: bool, msgs: u64) {
    let us = u64::try_from(rt::clock::now().duration_since(t0).as_micros()).unwrap_or(u64::MAX);
    recorder.with(|w| {
        if ok {
            w.ok += msgs;
            w.rt_us.record(us);
        } else {
            w.failed += msgs;
        }
    });
}

/// Prints `line` for every second until `run_for` has passed; returns the sum of the windows.
pub async fn report(
    recorder: &Recorder,
    run_for: Duration,
    line: fn(&Window, f64) -> String,
) -> Window {
    let start = rt::clock::now();
    let mut total = Window::default();
    let mut last = start;
    let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = rt::clock::now();
        let w = recorder.take();
        println!("{}", line(&w, now.duration_since(last).as_secs_f64()));
        total.merge(&w);
        last = now;
        if now.duration_since(start) >= run_for {
            return total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct P {
        #[command(flatten)]
        a: ProducerArgs,
    }

    #[test]
    fn defaults_and_letters() {
        let p = P::try_parse_from(["p", "-n", "x:1"]).unwrap().a;
        assert_eq!((p.topic.as_str(), p.tasks, p.size, p.duration), ("BenchmarkTest", 64, 128, 60));
        assert_eq!((p.mode, p.batch_size), (Mode::Sync, 16));
        let p = P::try_parse_from(["p", "--mode", "batch", "-b", "8", "-w", "4", "-s", "1024"])
            .unwrap()
            .a;
        assert_eq!((p.mode, p.batch_size, p.tasks, p.size), (Mode::Batch, 8, 4, 1024));
        assert!(P::try_parse_from(["p", "--mode", "fast"]).is_err());
        let bad = P::try_parse_from(["p", "-d", "0"]).unwrap().a;
        assert!(check(&bad).is_err());
    }

    #[test]
    fn lines_show_the_figures() {
        let mut w = Window { ok: 2000, failed: 3, ..Default::default() };
        for us in [1000, 2000, 3000] {
            w.rt_us.record(us);
        }
        let line = second_line(&w, 1.0);
        assert!(line.starts_with("Send TPS: 2000 | Max RT(ms): 3.000 | Average RT(ms): 2.000"));
        assert!(line.contains("Send Failed: 3") && line.contains("p50(ms): 2.0"), "{line}");
        let s = ProducerSummary { total: w, elapsed_secs: 2.0 };
        assert!(summary_line(&s).contains("Send TPS: 1000 |"), "{}", summary_line(&s));
    }
}
