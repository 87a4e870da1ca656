//! The verdict: valid or not, every anomaly kind found with exact counts and the first few
//! pieces of evidence, counts of what happened, and the smallest counter-example.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::anomaly::{Anomaly, AnomalyKind};
use crate::options::CheckOptions;

/// Counts of what the history holds. Per-group figures are summed over groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Send invocations.
    pub attempted: usize,
    /// Sends acknowledged.
    pub acked: usize,
    /// Sends that definitely failed.
    pub failed: usize,
    /// Sends with an unknown outcome, including those never completed.
    pub unknown: usize,
    /// Receive observations, over all groups.
    pub received: usize,
    /// Consumer groups in the history.
    pub groups: usize,
    /// Groups that drained (recorded or assumed).
    pub drained_groups: usize,
    /// Acknowledged values a drained group never received, per group.
    pub lost: usize,
    /// The part of `lost` before the first received value of its stream.
    pub lost_prefix: usize,
    /// The part of `lost` between received values of its stream.
    pub lost_middle: usize,
    /// The part of `lost` after the last received value of its stream.
    pub lost_postfix: usize,
    /// Acknowledged values not received by a group that did not drain, per group.
    pub unseen: usize,
    /// Values received but never sent, per group.
    pub unexpected: usize,
    /// Values received more often than sent, per group.
    pub duplicated: usize,
    /// Values whose sends all had unknown outcomes, later received by some group.
    pub recovered: usize,
}

/// Every anomaly of one kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnomalyReport {
    /// Whether this kind makes the verdict invalid.
    pub fatal: bool,
    /// How many were found: exact, whatever the number listed.
    pub count: usize,
    /// The first few, sorted by their evidence (lowest values and offsets first).
    pub examples: Vec<Anomaly>,
    /// The one with the fewest ops, over all found.
    pub smallest: Anomaly,
}

/// What the checkers concluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// No fatal anomaly was found.
    pub valid: bool,
    /// The anomalies found, by kind; kinds with none are absent.
    pub anomalies: BTreeMap<AnomalyKind, AnomalyReport>,
    /// What happened.
    pub stats: Stats,
}

impl Verdict {
    /// Sorts and caps the anomalies found and decides validity.
    pub(crate) fn new(found: Vec<Anomaly>, stats: Stats, options: &CheckOptions) -> Self {
        let mut by_kind: BTreeMap<AnomalyKind, Vec<Anomaly>> = BTreeMap::new();
        for anomaly in found {
            by_kind.entry(anomaly.kind()).or_default().push(anomaly);
        }
        let mut anomalies = BTreeMap::new();
        for (kind, mut list) in by_kind {
            list.sort();
            let count = list.len();
            // The sort above makes this choice deterministic among equally small ones.
            let Some(smallest) = list.iter().min_by_key(|a| a.ops.len()).cloned() else {
                continue;
            };
            list.truncate(options.examples_per_kind);
            let fatal = options.is_fatal(kind);
            anomalies.insert(kind, AnomalyReport { fatal, count, examples: list, smallest });
        }
        let valid = !anomalies.values().any(|report| report.fatal);
        Self { valid, anomalies, stats }
    }

    /// How many anomalies of `kind` were found.
    pub fn count(&self, kind: AnomalyKind) -> usize {
        self.anomalies.get(&kind).map_or(0, |report| report.count)
    }

    /// The listed anomalies of `kind`.
    pub fn examples(&self, kind: AnomalyKind) -> &[Anomaly] {
        self.anomalies.get(&kind).map_or(&[], |report| report.examples.as_slice())
    }

    /// The fatal anomaly shown by the fewest ops, the first kind winning ties; `None` when the
    /// verdict is valid.
    pub fn smallest_counterexample(&self) -> Option<&Anomaly> {
        self.anomalies
            .values()
            .filter(|report| report.fatal)
            .map(|report| &report.smallest)
            .min_by_key(|anomaly| anomaly.ops.len())
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(f, "{}", if self.valid { "valid" } else { "INVALID" })?;
        writeln!(
            f,
            "sends: {} attempted, {} acked, {} failed, {} unknown; {} receives by {} group(s), \
             {} drained",
            s.attempted, s.acked, s.failed, s.unknown, s.received, s.groups, s.drained_groups
        )?;
        writeln!(
            f,
            "lost {} (prefix {}, middle {}, postfix {}), unseen {}, unexpected {}, \
             duplicated {}, recovered {}",
            s.lost,
            s.lost_prefix,
            s.lost_middle,
            s.lost_postfix,
            s.unseen,
            s.unexpected,
            s.duplicated,
            s.recovered
        )?;
        for (kind, report) in &self.anomalies {
            let verdict = if report.fatal { "fatal" } else { "allowed" };
            writeln!(f, "{kind} ({verdict}): {}", report.count)?;
            for anomaly in &report.examples {
                writeln!(f, "  {} (ops {:?})", anomaly.evidence, anomaly.ops)?;
            }
            if report.count > report.examples.len() {
                writeln!(f, "  ... {} more", report.count - report.examples.len())?;
            }
        }
        if let Some(anomaly) = self.smallest_counterexample() {
            writeln!(f, "smallest counter-example: {anomaly}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anomaly::Evidence;

    fn unexpected(value: u64, ops: Vec<u64>) -> Anomaly {
        Anomaly::new(Evidence::Unexpected { group: "g".into(), value, received: 1 }, ops)
    }

    #[test]
    fn caps_examples_but_keeps_counts_and_the_smallest() {
        let options = CheckOptions { examples_per_kind: 2, ..CheckOptions::default() };
        let found = vec![
            unexpected(9, vec![1, 2, 3]),
            unexpected(3, vec![4, 5]),
            unexpected(1, vec![7, 8, 9]),
            unexpected(5, vec![6]),
        ];
        let verdict = Verdict::new(found, Stats::default(), &options);
        assert!(!verdict.valid);
        let report = &verdict.anomalies[&AnomalyKind::Unexpected];
        assert_eq!(report.count, 4);
        let shown: Vec<_> = report.examples.iter().map(|a| a.ops.clone()).collect();
        assert_eq!(shown, vec![vec![7, 8, 9], vec![4, 5]]);
        assert_eq!(verdict.smallest_counterexample().map(|a| a.ops.clone()), Some(vec![6]));
        let text = verdict.to_string();
        assert!(text.contains("unexpected (fatal): 4"), "{text}");
        assert!(text.contains("... 2 more"), "{text}");
    }

    #[test]
    fn allowed_kinds_keep_the_verdict_valid() {
        let found = vec![Anomaly::new(
            Evidence::Duplicated {
                group: "g".into(),
                value: 1,
                attempts: 1,
                received: 2,
                positions: vec![],
            },
            vec![1, 2],
        )];
        let verdict = Verdict::new(found, Stats::default(), &CheckOptions::default());
        assert!(verdict.valid);
        assert_eq!(verdict.count(AnomalyKind::Duplicated), 1);
        assert!(verdict.smallest_counterexample().is_none());
        let json = serde_json::to_string(&verdict).unwrap();
        assert!(json.contains(r#""duplicated":{"fatal":false"#), "{json}");
        assert_eq!(serde_json::from_str::<Verdict>(&json).unwrap(), verdict);
    }
}
