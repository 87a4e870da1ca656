//! Hand-made histories, each showing one anomaly (or none), and what the verdict must say.

use checker::{
    check, AnomalyKind, CheckOptions, Evidence, HistoryBuilder, LossPosition, QueueId, Stream,
    ValueId, Verdict,
};

const G: &str = "g";

fn q(id: i32) -> QueueId {
    QueueId::new("t", "broker-a", id)
}

/// A synchronous send acknowledged at `offset` of `queue`; returns the ack's index.
fn sent(
    b: &mut HistoryBuilder,
    process: u64,
    value: ValueId,
    key: Option<&str>,
    queue: &QueueId,
    offset: i64,
) -> u64 {
    let pending = b.send(process, value, key);
    b.send_ok(pending, queue.clone(), offset)
}

fn judge(b: HistoryBuilder) -> Verdict {
    check(&b.build(), &CheckOptions::default())
}

fn kinds(verdict: &Verdict) -> Vec<AnomalyKind> {
    verdict.anomalies.keys().copied().collect()
}

fn lost_values(verdict: &Verdict, kind: AnomalyKind) -> Vec<ValueId> {
    verdict
        .examples(kind)
        .iter()
        .filter_map(|a| match &a.evidence {
            Evidence::Lost { value, .. } => Some(*value),
            _ => None,
        })
        .collect()
}

#[test]
fn a_clean_history_is_valid() {
    let mut b = HistoryBuilder::new();
    b.assign(10, G, vec![q(0), q(1)]);
    for (value, queue, offset) in [(1, 0, 0), (2, 1, 0), (3, 0, 1), (4, 1, 1)] {
        sent(&mut b, value % 2, value, None, &q(queue), offset);
    }
    b.receive(10, G, 1, q(0), 0);
    b.receive(10, G, 2, q(1), 0);
    b.commit(10, G, q(0), 1);
    b.drain(10, G);
    b.receive(10, G, 3, q(0), 1);
    b.receive(10, G, 4, q(1), 1);
    b.commit(10, G, q(0), 2);
    b.commit(10, G, q(1), 2);
    let verdict = judge(b);
    assert!(verdict.valid, "{verdict}");
    assert!(verdict.anomalies.is_empty(), "{verdict}");
    let s = &verdict.stats;
    assert_eq!((s.attempted, s.acked, s.received, s.groups, s.drained_groups), (4, 4, 4, 1, 1));
    assert_eq!(verdict.smallest_counterexample(), None);
}

#[test]
fn an_empty_history_is_valid() {
    let verdict = judge(HistoryBuilder::new());
    assert!(verdict.valid && verdict.anomalies.is_empty(), "{verdict}");
}

#[test]
fn missing_values_are_unseen_without_a_drain_and_lost_with_one() {
    let history = |drain: bool| {
        let mut b = HistoryBuilder::new();
        for value in 0..3 {
            sent(&mut b, 1, value, None, &q(0), value as i64);
        }
        b.receive(10, G, 0, q(0), 0);
        if drain {
            b.drain(10, G);
        }
        b
    };
    let verdict = judge(history(false));
    assert!(verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Unseen]);
    assert_eq!((verdict.stats.unseen, verdict.stats.lost), (2, 0));

    let verdict = judge(history(true));
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::LostPostfix]);
    assert_eq!(lost_values(&verdict, AnomalyKind::LostPostfix), vec![1, 2]);
    assert_eq!((verdict.stats.unseen, verdict.stats.lost, verdict.stats.lost_postfix), (0, 2, 2));

    // The same run judged as if it had drained.
    let options = CheckOptions { assume_drained: true, ..CheckOptions::default() };
    let verdict = check(&history(false).build(), &options);
    assert_eq!(lost_values(&verdict, AnomalyKind::LostPostfix), vec![1, 2]);
    // An assumed drain has no op to cite: evidence is the ack and the last read.
    assert_eq!(verdict.examples(AnomalyKind::LostPostfix)[0].ops, vec![3, 6]);
}

#[test]
fn lost_values_are_split_into_prefix_middle_and_postfix_per_key() {
    let mut b = HistoryBuilder::new();
    for value in 1..=5 {
        sent(&mut b, 1, value, Some("k"), &q(0), value as i64);
    }
    // Keyless values of one queue, ranked by offset: 11 was stored after 12.
    sent(&mut b, 2, 12, None, &q(1), 0);
    sent(&mut b, 2, 11, None, &q(1), 1);
    sent(&mut b, 2, 13, None, &q(1), 2);
    // A queue the group received nothing from.
    sent(&mut b, 3, 21, None, &q(2), 0);
    b.receive(10, G, 2, q(0), 2);
    b.receive(11, G, 4, q(0), 4);
    b.receive(12, G, 12, q(1), 0);
    b.receive(13, G, 13, q(1), 2);
    b.drain(10, G);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(lost_values(&verdict, AnomalyKind::LostPrefix), vec![1]);
    assert_eq!(lost_values(&verdict, AnomalyKind::LostMiddle), vec![3, 11]);
    assert_eq!(lost_values(&verdict, AnomalyKind::LostPostfix), vec![5, 21]);
    let s = &verdict.stats;
    assert_eq!((s.lost, s.lost_prefix, s.lost_middle, s.lost_postfix), (5, 1, 2, 2));
    let middle = &verdict.examples(AnomalyKind::LostMiddle)[0];
    let Evidence::Lost { stream, position, read_bounds, .. } = &middle.evidence else {
        panic!("{middle}");
    };
    assert_eq!(
        (stream, *position, *read_bounds),
        (&Stream::Key("k".into()), LossPosition::Middle, Some((2, 4)))
    );
    let postfix = &verdict.examples(AnomalyKind::LostPostfix)[1];
    assert!(matches!(&postfix.evidence, Evidence::Lost { read_bounds: None, .. }), "{postfix}");
}

#[test]
fn values_acked_after_the_drain_began_are_only_unseen() {
    let mut b = HistoryBuilder::new();
    b.drain(10, G);
    sent(&mut b, 1, 7, None, &q(0), 0);
    let verdict = judge(b);
    assert!(verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Unseen]);
}

#[test]
fn every_group_must_receive_everything() {
    let mut b = HistoryBuilder::new();
    sent(&mut b, 1, 1, None, &q(0), 0);
    b.receive(10, "a", 1, q(0), 0);
    b.drain(10, "a");
    b.drain(11, "b");
    let verdict = judge(b);
    let lost = verdict.examples(AnomalyKind::LostPostfix);
    assert_eq!(lost.len(), 1, "{verdict}");
    assert!(matches!(&lost[0].evidence, Evidence::Lost { group, .. } if group == "b"));
}

#[test]
fn values_never_sent_are_unexpected() {
    let mut b = HistoryBuilder::new();
    b.receive(10, G, 99, q(0), 0);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Unexpected]);
    assert_eq!(verdict.stats.unexpected, 1);
    assert_eq!(verdict.smallest_counterexample().map(|a| a.ops.clone()), Some(vec![0]));
}

#[test]
fn duplicates_are_counted_but_allowed() {
    let mut b = HistoryBuilder::new();
    b.assign(10, G, vec![q(0)]);
    sent(&mut b, 1, 1, None, &q(0), 0);
    sent(&mut b, 1, 2, None, &q(0), 1);
    b.receive(10, G, 1, q(0), 0);
    b.receive(10, G, 2, q(0), 1);
    // A restart rewinds to the committed offset and delivers 1 again.
    b.assign(10, G, vec![q(0)]);
    b.receive(10, G, 1, q(0), 0);
    b.receive(10, G, 2, q(0), 1);
    b.drain(10, G);
    let verdict = judge(b);
    assert!(verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Duplicated]);
    assert_eq!(verdict.stats.duplicated, 2);
    let Evidence::Duplicated { attempts, received, positions, .. } =
        &verdict.examples(AnomalyKind::Duplicated)[0].evidence
    else {
        panic!("{verdict}");
    };
    assert_eq!((*attempts, *received, positions.len()), (1, 2, 1));
    let verdict = check(&HistoryBuilder::new().build(), &CheckOptions::exactly_once());
    assert!(verdict.valid);
}

#[test]
fn unknown_sends_later_received_are_recovered() {
    let mut b = HistoryBuilder::new();
    let pending = b.send(1, 1, None);
    b.send_info(pending);
    let _never_completed = b.send(2, 2, None);
    let pending = b.send(3, 3, None);
    b.send_info(pending);
    b.receive(10, G, 1, q(0), 0);
    b.receive(10, G, 2, q(0), 1);
    b.drain(10, G);
    let verdict = judge(b);
    assert!(verdict.valid, "{verdict}");
    assert!(verdict.anomalies.is_empty(), "{verdict}");
    assert_eq!((verdict.stats.unknown, verdict.stats.recovered), (3, 2));
}

#[test]
fn a_failed_send_must_not_be_delivered() {
    let mut b = HistoryBuilder::new();
    let pending = b.send(1, 1, None);
    b.send_fail(pending);
    b.receive(10, G, 1, q(0), 0);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::FailedSendReceived]);
    assert_eq!(verdict.examples(AnomalyKind::FailedSendReceived)[0].ops, vec![1, 2]);
}

#[test]
fn a_later_send_must_get_a_higher_offset() {
    let mut b = HistoryBuilder::new();
    let a = b.send(1, 1, None);
    // Concurrent with 1: any offset is fine.
    let c = b.send(2, 3, None);
    b.send_ok(a, q(0), 5);
    b.send_ok(c, q(0), 4);
    // Invoked after 1 was acknowledged, yet stored below it.
    sent(&mut b, 2, 2, None, &q(0), 5);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::InconsistentOffset, AnomalyKind::QueueSendOrder]);
    let order = verdict.examples(AnomalyKind::QueueSendOrder);
    assert_eq!(order.len(), 1, "{verdict}");
    assert!(matches!(
        order[0].evidence,
        Evidence::QueueSendOrder { earlier: 1, earlier_offset: 5, later: 2, later_offset: 5, .. }
    ));
    assert_eq!(order[0].ops, vec![2, 4, 5]);
}

#[test]
fn a_group_must_first_receive_a_queue_in_offset_order() {
    let mut b = HistoryBuilder::new();
    sent(&mut b, 1, 1, None, &q(0), 0);
    sent(&mut b, 1, 2, None, &q(0), 1);
    b.receive(10, G, 2, q(0), 1);
    b.receive(11, G, 1, q(0), 0);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::QueueDeliveryOrder]);
    let verdict = check(&history_of(verdict_free_rewind()), &CheckOptions::default());
    assert!(verdict.valid, "{verdict}");
}

/// Offsets 0..3 read, then a new owner rewinds to 1 and goes on: nothing out of order.
fn verdict_free_rewind() -> HistoryBuilder {
    let mut b = HistoryBuilder::new();
    for value in 0..4 {
        sent(&mut b, 1, value, Some("k"), &q(0), value as i64);
    }
    for value in 0..3 {
        b.receive(10, G, value, q(0), value as i64);
    }
    for value in 1..4 {
        b.receive(11, G, value, q(0), value as i64);
    }
    b
}

fn history_of(b: HistoryBuilder) -> checker::History {
    b.build()
}

#[test]
fn a_key_must_first_be_received_in_send_order() {
    let mut b = HistoryBuilder::new();
    // The key's queue moved between the two sends, so queue order cannot see the swap.
    sent(&mut b, 1, 1, Some("k"), &q(0), 0);
    sent(&mut b, 1, 2, Some("k"), &q(1), 0);
    // Unrelated key, concurrent sends: no order between them.
    let x = b.send(2, 3, Some("x"));
    let y = b.send(3, 4, Some("x"));
    b.send_ok(y, q(2), 0);
    b.send_ok(x, q(3), 0);
    b.receive(10, G, 2, q(1), 0);
    b.receive(11, G, 1, q(0), 0);
    b.receive(10, G, 4, q(2), 0);
    b.receive(11, G, 3, q(3), 0);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::KeyOrder]);
    let anomaly = &verdict.examples(AnomalyKind::KeyOrder)[0];
    assert!(matches!(&anomaly.evidence, Evidence::KeyOrder { earlier: 1, later: 2, .. }));
    assert_eq!(anomaly.ops, vec![1, 2, 8, 9]);
    let verdict = check(&history_of_key_swap(), &CheckOptions::concurrent_consumer());
    assert!(verdict.valid, "{verdict}");
}

fn history_of_key_swap() -> checker::History {
    let mut b = HistoryBuilder::new();
    sent(&mut b, 1, 1, Some("k"), &q(0), 0);
    sent(&mut b, 1, 2, Some("k"), &q(0), 1);
    b.receive(10, G, 2, q(0), 1);
    b.receive(10, G, 1, q(0), 0);
    b.build()
}

#[test]
fn one_offset_must_hold_one_value() {
    let mut b = HistoryBuilder::new();
    sent(&mut b, 1, 1, None, &q(0), 3);
    b.receive(10, G, 2, q(0), 3);
    // A redelivery's offset may name a retry queue: it is not evidence.
    b.redelivery(10, G, 1, q(0), 7, 1);
    let verdict = judge(b);
    assert!(verdict.anomalies.contains_key(&AnomalyKind::InconsistentOffset), "{verdict}");
    let anomaly = &verdict.examples(AnomalyKind::InconsistentOffset)[0];
    assert!(matches!(&anomaly.evidence, Evidence::InconsistentOffset { offset: 3, values, .. }
        if values == &vec![1, 2]));
    assert_eq!(anomaly.ops, vec![1, 2]);
    assert_eq!(verdict.count(AnomalyKind::InconsistentOffset), 1);
}

#[test]
fn reads_within_a_tenure_must_move_forward() {
    let history = |reassign: bool| {
        let mut b = HistoryBuilder::new();
        for value in 0..3 {
            sent(&mut b, 1, value, None, &q(0), value as i64);
        }
        b.assign(10, G, vec![q(0)]);
        b.receive(10, G, 0, q(0), 0);
        b.receive(10, G, 1, q(0), 1);
        if reassign {
            b.assign(10, G, vec![q(0)]);
        }
        b.receive(10, G, 1, q(0), 1);
        b.receive(10, G, 2, q(0), 2);
        b
    };
    let verdict = judge(history(false));
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Duplicated, AnomalyKind::NonmonotonicPoll]);
    let anomaly = &verdict.examples(AnomalyKind::NonmonotonicPoll)[0];
    assert!(matches!(anomaly.evidence, Evidence::NonmonotonicPoll { previous: 1, offset: 1, .. }));
    let verdict = judge(history(true));
    assert!(verdict.valid, "{verdict}");
    let verdict = check(&history(false).build(), &CheckOptions::subscribe());
    assert!(verdict.valid, "{verdict}");
}

#[test]
fn an_offset_reset_starts_a_new_tenure_and_commit_floor() {
    let mut b = HistoryBuilder::new();
    for value in 0..3 {
        sent(&mut b, 1, value, None, &q(0), value as i64);
    }
    b.receive(10, G, 0, q(0), 0);
    b.receive(10, G, 1, q(0), 1);
    b.commit(10, G, q(0), 2);
    b.reset_offset(99, G, q(0), 0);
    b.receive(10, G, 0, q(0), 0);
    b.commit(10, G, q(0), 1);
    let verdict = judge(b);
    assert!(verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::Unseen, AnomalyKind::Duplicated]);
}

#[test]
fn jumping_over_known_offsets_is_a_poll_skip_and_a_lost_write() {
    let mut b = HistoryBuilder::new();
    for value in 0..4 {
        sent(&mut b, 1, value, None, &q(0), value as i64);
    }
    b.receive(10, G, 0, q(0), 0);
    b.receive(10, G, 3, q(0), 3);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(
        kinds(&verdict),
        vec![AnomalyKind::Unseen, AnomalyKind::LostWrite, AnomalyKind::PollSkip]
    );
    let skip = &verdict.examples(AnomalyKind::PollSkip)[0];
    assert!(
        matches!(&skip.evidence, Evidence::PollSkip { previous: 0, offset: 3, skipped, skipped_count: 2, .. }
        if skipped == &vec![1, 2])
    );
    // The earlier read, the ack showing offset 1 holds a message, and the later read.
    assert_eq!(skip.ops, vec![3, 8, 9]);
    let lost: Vec<_> = verdict
        .examples(AnomalyKind::LostWrite)
        .iter()
        .map(|a| match &a.evidence {
            Evidence::LostWrite { value, read_offset, .. } => (*value, *read_offset),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(lost, vec![(1, 3), (2, 3)]);
}

#[test]
fn jumping_over_offsets_nobody_saw_is_no_skip() {
    let mut b = HistoryBuilder::new();
    sent(&mut b, 1, 0, None, &q(0), 0);
    sent(&mut b, 1, 3, None, &q(0), 3);
    b.receive(10, G, 0, q(0), 0);
    b.receive(10, G, 3, q(0), 3);
    b.drain(10, G);
    let verdict = judge(b);
    assert!(verdict.valid && verdict.anomalies.is_empty(), "{verdict}");
}

#[test]
fn committed_offsets_must_not_go_backwards() {
    let mut b = HistoryBuilder::new();
    b.commit(10, G, q(0), 5);
    b.commit(11, G, q(0), 5);
    b.commit(11, G, q(0), 3);
    b.commit(11, "other", q(0), 1);
    let verdict = judge(b);
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::CommitRegression]);
    let anomaly = &verdict.examples(AnomalyKind::CommitRegression)[0];
    assert!(matches!(anomaly.evidence, Evidence::CommitRegression { previous: 5, offset: 3, .. }));
    assert_eq!(anomaly.ops, vec![1, 2]);
}

#[test]
fn a_completion_without_invocation_is_malformed() {
    let ops = r#"{"index":0,"process":1,"type":"ok","f":"send","value":1}
{"index":1,"process":2,"type":"ok","f":"drain","group":"g"}"#;
    let history = checker::History::from_json_lines(ops).unwrap();
    let verdict = check(&history, &CheckOptions::default());
    assert!(!verdict.valid, "{verdict}");
    assert_eq!(kinds(&verdict), vec![AnomalyKind::LostPostfix, AnomalyKind::MalformedHistory]);
}

#[test]
fn the_smallest_counterexample_has_the_fewest_ops() {
    let mut b = HistoryBuilder::new();
    for value in 1..=3 {
        sent(&mut b, 1, value, Some("k"), &q(0), value as i64);
    }
    b.receive(10, G, 1, q(0), 1);
    b.receive(10, G, 3, q(0), 3);
    b.receive(10, G, 42, q(0), 4);
    b.drain(10, G);
    let verdict = judge(b);
    let smallest = verdict.smallest_counterexample().unwrap();
    assert_eq!(smallest.kind(), AnomalyKind::Unexpected, "{verdict}");
    assert_eq!(smallest.ops, vec![8]);
    // Lost middle shows the ack, both neighbouring reads and the drain.
    assert_eq!(verdict.examples(AnomalyKind::LostMiddle)[0].ops, vec![3, 6, 7, 9]);
    let text = verdict.to_string();
    assert!(text.starts_with("INVALID\n"), "{text}");
    assert!(text.contains("smallest counter-example: unexpected"), "{text}");
}

#[test]
fn verdicts_are_deterministic() {
    let build = || {
        let mut b = HistoryBuilder::new();
        for value in 0..50u64 {
            sent(
                &mut b,
                value % 3,
                value,
                Some(&format!("k{}", value % 4)),
                &q((value % 3) as i32),
                (value / 3) as i64,
            );
        }
        for value in (0..50u64).rev().step_by(3) {
            b.receive(10 + value % 2, G, value, q((value % 3) as i32), (value / 3) as i64);
        }
        b.drain(10, G);
        b.build()
    };
    let verdict = check(&build(), &CheckOptions::default());
    let one = serde_json::to_string(&verdict).unwrap();
    let two = serde_json::to_string(&check(&build(), &CheckOptions::default())).unwrap();
    assert_eq!(one, two);
    assert!(verdict.anomalies.len() >= 4, "{verdict}");
    let back: Verdict = serde_json::from_str(&one).unwrap();
    assert_eq!(back, verdict);
    let options = CheckOptions::concurrent_consumer();
    let text = serde_json::to_string(&options).unwrap();
    assert_eq!(serde_json::from_str::<CheckOptions>(&text).unwrap(), options);
}
