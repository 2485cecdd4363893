//! Figures of a run that answer V1's quantitative questions (issue 13): how
//! long does a revoked certificate stay accepted, what does an operation
//! cost in time, and what load falls on the CA.
//!
//! The engine feeds [`Metrics`] from the events it already handles, so the
//! figures come from the same run the trace hashes; nothing is sampled.
//! Distributions are HDR histograms (three significant figures).
//!
//! **Revocation staleness** of an invalidated serial is the virtual time
//! from the CA's deletion of its row (the event at which the CA answers
//! `Invalidate` with OK, P13/S10) to the last grant of that serial anywhere
//! (a `Granted`, `MemberMenu` or `Balance` a service sends for it), or 0 if
//! no service granted it afterwards; the grants in that window are counted
//! per service. A serial invalidated near the end of a run is observed only
//! until the run ends: staleness is a lower bound there, and the report says
//! how long the run went on after the last invalidation.
//!
//! Observed staleness needs someone to present the revoked certificate.
//! **Exposure** does not: it is how long some service *would* grant the
//! serial from its own table (V1), from the deletion to the delivery of the
//! CA's notification (its CRL) to the last service that was to get one
//! (under `push-ack`, its first delivery, retransmissions included).
//! Without `push-ack` a notification that is lost is never made good, so
//! that service's window
//! stays open until the certificate expires; the figure counts such windows
//! as open and measures them up to the run's end (a lower bound). Online
//! checking (every use asks the CA) has no exposure: nothing is notified
//! because no service decides from its own table.

use crate::clock::Time;
use crate::workload::OpKind;
use commoncert_model::msg::{Msg, Request, Verdict};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A histogram with three significant figures that grows as needed.
fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("three significant figures are within hdrhistogram's range")
}

/// Record `v`, growing the histogram as needed (`saturating_record` would
/// clamp to the current range instead of growing it).
fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Collects a run's figures, event by event.
pub struct Metrics {
    latency: BTreeMap<OpKind, Histogram<u64>>,
    outcomes: BTreeMap<OpKind, BTreeMap<String, u64>>,
    started: u64,
    busy: u64,
    down: u64,
    /// Serial -> when the CA deleted it.
    deleted_at: HashMap<u64, Time>,
    /// Serial -> (last grant after its deletion, grants after its deletion).
    stale: HashMap<u64, (Time, u64)>,
    /// Service node -> grants of deleted serials.
    revoked_grants: BTreeMap<usize, u64>,
    /// Messages the CA received, per second of virtual time.
    ca_per_s: Vec<u64>,
    /// Operations ended, per second of virtual time.
    done_per_s: Vec<u64>,
    last_invalidation: Option<Time>,
    /// CRL -> the serial its notification is about.
    crl_serial: HashMap<u64, u64>,
    /// (serial, service) -> when the notification reached it (None: not yet).
    exposure: HashMap<(u64, usize), Option<Time>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            latency: OpKind::ALL.iter().map(|k| (*k, histogram())).collect(),
            outcomes: BTreeMap::new(),
            started: 0,
            busy: 0,
            down: 0,
            deleted_at: HashMap::new(),
            stale: HashMap::new(),
            revoked_grants: BTreeMap::new(),
            ca_per_s: Vec::new(),
            done_per_s: Vec::new(),
            last_invalidation: None,
            crl_serial: HashMap::new(),
            exposure: HashMap::new(),
        }
    }
}

fn bump(series: &mut Vec<u64>, at: Time) {
    let second = (at / 1000) as usize;
    if series.len() <= second {
        series.resize(second + 1, 0);
    }
    series[second] += 1;
}

impl Metrics {
    /// A workload operation started.
    pub fn started(&mut self) {
        self.started += 1;
    }

    /// An arrival found its user still busy with its last operation.
    pub fn busy(&mut self) {
        self.busy += 1;
    }

    /// An arrival found its user down.
    pub fn down(&mut self) {
        self.down += 1;
    }

    /// A workload operation of `kind` started at `from` ended at `now` with `outcome`.
    pub fn ended(&mut self, kind: OpKind, from: Time, now: Time, outcome: &str) {
        if let Some(h) = self.latency.get_mut(&kind) {
            record(h, now.saturating_sub(from));
        }
        let counts = self.outcomes.entry(kind).or_default();
        // The outcome's name is copied only the first time it is seen.
        match counts.get_mut(outcome) {
            Some(n) => *n += 1,
            None => {
                counts.insert(outcome.to_string(), 1);
            }
        }
        bump(&mut self.done_per_s, now);
    }

    /// A message reached the CA.
    pub fn ca_received(&mut self, now: Time) {
        bump(&mut self.ca_per_s, now);
    }

    /// What one CA event sent at `now`: a deletion (its OK to an
    /// `Invalidate`) and the notifications (V1 CRLs) it pushed for it.
    pub fn ca_sent<'m>(&mut self, sends: impl IntoIterator<Item = (usize, &'m Msg)>, now: Time) {
        let sends: Vec<(usize, &Msg)> = sends.into_iter().collect();
        let deleted = sends.iter().find_map(|(_, m)| match m {
            Msg::Answer {
                serial,
                request: Request::Invalidate,
                verdict: Verdict::Ok,
                ..
            } => Some(*serial),
            _ => None,
        });
        let Some(serial) = deleted else {
            return;
        };
        self.deleted_at.entry(serial).or_insert(now);
        self.last_invalidation = Some(now);
        for (to, m) in sends {
            if let Msg::Revocation { crl } = m {
                self.crl_serial.insert(crl.0, serial);
                self.exposure.entry((serial, to)).or_insert(None);
            }
        }
    }

    /// `msg` reached node `to` at `now`.
    pub fn delivered(&mut self, to: usize, msg: &Msg, now: Time) {
        if let Msg::Revocation { crl } = msg
            && let Some(serial) = self.crl_serial.get(&crl.0)
            && let Some(slot @ None) = self.exposure.get_mut(&(*serial, to))
        {
            *slot = Some(now);
        }
    }

    /// Node `from` sent `msg` at `now` (grants of deleted serials).
    pub fn sent(&mut self, from: usize, msg: &Msg, now: Time) {
        if let Some((serial, _, _)) = msg.grant()
            && self.deleted_at.contains_key(&serial)
        {
            let e = self.stale.entry(serial).or_insert((now, 0));
            e.0 = now;
            e.1 += 1;
            *self.revoked_grants.entry(from).or_default() += 1;
        }
    }

    /// The figures, with node ids named by `name`, for a run that ended at `end`.
    pub fn summary(&self, end: Time, name: impl Fn(usize) -> String) -> Summary {
        let mut all = histogram();
        let mut latency = Vec::new();
        for (kind, h) in &self.latency {
            all.add(h).ok();
            if !h.is_empty() {
                latency.push(Percentiles::of(kind.name(), h));
            }
        }
        if !all.is_empty() {
            latency.insert(0, Percentiles::of("all", &all));
        }
        let mut staleness = histogram();
        let mut grants_after = 0;
        for (serial, deleted) in &self.deleted_at {
            let (last, grants) = self.stale.get(serial).copied().unwrap_or((*deleted, 0));
            record(&mut staleness, last.saturating_sub(*deleted));
            grants_after += grants;
        }
        let mut window: HashMap<u64, Time> = HashMap::new();
        let mut open = 0u64;
        for ((serial, _), closed) in &self.exposure {
            let deleted = self.deleted_at.get(serial).copied().unwrap_or(0);
            let until = closed.unwrap_or_else(|| {
                open += 1;
                end
            });
            let w = window.entry(*serial).or_default();
            *w = (*w).max(until.saturating_sub(deleted));
        }
        let mut exposure = histogram();
        for serial in self.deleted_at.keys() {
            record(&mut exposure, window.get(serial).copied().unwrap_or(0));
        }
        let ca_messages: u64 = self.ca_per_s.iter().sum();
        let seconds = (end / 1000 + 1) as f64;
        Summary {
            ops: OpCounts {
                started: self.started,
                ended: self.outcomes.values().flat_map(|m| m.values()).sum(),
                busy: self.busy,
                down: self.down,
            },
            outcomes: self
                .outcomes
                .iter()
                .map(|(k, m)| (k.name().to_string(), m.clone()))
                .collect(),
            latency,
            staleness: Staleness {
                invalidated: self.deleted_at.len() as u64,
                accepted_after: self.stale.len() as u64,
                grants_after,
                observed_after_last_ms: self.last_invalidation.map(|t| end.saturating_sub(t)),
                percentiles: Percentiles::of("staleness", &staleness),
                cdf: cdf(&staleness),
                notifications: self.exposure.len() as u64,
                notifications_lost: open,
                exposure: Percentiles::of("exposure", &exposure),
                exposure_cdf: cdf(&exposure),
            },
            ca_load: CaLoad {
                messages: ca_messages,
                mean_per_s: ca_messages as f64 / seconds,
                peak_per_s: self.ca_per_s.iter().copied().max().unwrap_or(0),
                per_s: self.ca_per_s.clone(),
            },
            throughput_per_s: self.done_per_s.clone(),
            revoked_accepted_by_service: self
                .revoked_grants
                .iter()
                .map(|(id, n)| (name(*id), *n))
                .collect(),
            duration_ms: end,
        }
    }
}

/// At most this many points describe a CDF.
const CDF_POINTS: usize = 200;

/// (value, fraction of samples at or below it), from the recorded values.
fn cdf(h: &Histogram<u64>) -> Vec<(u64, f64)> {
    let total = h.len();
    if total == 0 {
        return Vec::new();
    }
    let mut points = Vec::new();
    let mut seen = 0u64;
    for v in h.iter_recorded() {
        seen += v.count_since_last_iteration();
        points.push((
            h.highest_equivalent(v.value_iterated_to()),
            seen as f64 / total as f64,
        ));
    }
    if points.len() > CDF_POINTS {
        let step = points.len().div_ceil(CDF_POINTS);
        let last = points.last().copied();
        points = points.into_iter().step_by(step).collect();
        if points.last().copied() != last
            && let Some(l) = last
        {
            points.push(l);
        }
    }
    points
}

/// A distribution's count and percentiles, in virtual ms.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Percentiles {
    pub what: String,
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}

impl Percentiles {
    fn of(what: &str, h: &Histogram<u64>) -> Percentiles {
        let q = |x| {
            if h.is_empty() {
                0
            } else {
                h.highest_equivalent(h.value_at_quantile(x))
            }
        };
        Percentiles {
            what: what.to_string(),
            count: h.len(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            max: if h.is_empty() { 0 } else { h.max() },
        }
    }
}

/// Operations the workload started and how they went.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpCounts {
    pub started: u64,
    pub ended: u64,
    /// Arrivals skipped: the user was still busy.
    pub busy: u64,
    /// Arrivals skipped: the user was down.
    pub down: u64,
}

/// Revocation staleness over every serial the CA invalidated.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Staleness {
    pub invalidated: u64,
    /// Serials some service granted after the CA deleted them.
    pub accepted_after: u64,
    /// Grants of deleted serials, in all.
    pub grants_after: u64,
    /// How long the run went on after its last invalidation: staleness is
    /// observed up to the run's end only.
    pub observed_after_last_ms: Option<Time>,
    pub percentiles: Percentiles,
    /// (staleness in ms, fraction of invalidated serials at or below it).
    pub cdf: Vec<(u64, f64)>,
    /// V1 notifications the CA pushed for these deletions, and how many
    /// never arrived (their service accepts the serial until it expires).
    pub notifications: u64,
    pub notifications_lost: u64,
    /// Per serial, deletion to the last service's notification (open
    /// windows measured to the run's end).
    pub exposure: Percentiles,
    pub exposure_cdf: Vec<(u64, f64)>,
}

/// Messages the CA received.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CaLoad {
    pub messages: u64,
    pub mean_per_s: f64,
    pub peak_per_s: u64,
    /// Per second of virtual time.
    pub per_s: Vec<u64>,
}

/// A workload run's figures (`--json`, the report).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub ops: OpCounts,
    /// Kind -> outcome -> count.
    pub outcomes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per kind (and "all" first), in virtual ms.
    pub latency: Vec<Percentiles>,
    pub staleness: Staleness,
    pub ca_load: CaLoad,
    /// Operations ended per second of virtual time.
    pub throughput_per_s: Vec<u64>,
    /// Service -> grants of serials the CA had deleted.
    pub revoked_accepted_by_service: BTreeMap<String, u64>,
    pub duration_ms: Time,
}

#[cfg(test)]
mod tests {
    use super::*;
    use commoncert_model::msg::{Basis, Session};

    fn answer(serial: u64) -> Msg {
        Msg::Answer {
            session: Session {
                peer: stateright::actor::Id::from(0),
                op: 0,
            },
            serial,
            request: Request::Invalidate,
            verdict: Verdict::Ok,
        }
    }

    fn deleted(m: &mut Metrics, serial: u64, at: Time) {
        m.ca_sent([(1, &answer(serial))], at);
    }

    fn grant(m: &mut Metrics, service: usize, serial: u64, at: Time) {
        let g = Msg::Granted {
            op: 0,
            serial,
            subject: "x".into(),
            basis: Basis::OwnTable,
        };
        m.sent(service, &g, at);
    }

    #[test]
    fn staleness_is_deletion_to_last_grant() {
        let mut m = Metrics::default();
        grant(&mut m, 2, 7, 10); // before deletion: not stale
        deleted(&mut m, 7, 100);
        deleted(&mut m, 8, 100);
        grant(&mut m, 2, 7, 150);
        grant(&mut m, 3, 7, 400);
        let s = m.summary(1000, |id| format!("n{id}"));
        assert_eq!(s.staleness.invalidated, 2);
        assert_eq!(s.staleness.accepted_after, 1);
        assert_eq!(s.staleness.grants_after, 2);
        assert_eq!(s.staleness.percentiles.max, 300);
        assert_eq!(s.staleness.percentiles.p50, 0);
        assert_eq!(s.staleness.observed_after_last_ms, Some(900));
        assert_eq!(
            s.revoked_accepted_by_service,
            BTreeMap::from([("n2".to_string(), 1), ("n3".to_string(), 1)])
        );
        assert_eq!(s.staleness.cdf.first().map(|p| p.1), Some(0.5));
        assert_eq!(s.staleness.cdf.last().map(|p| p.1), Some(1.0));
    }

    #[test]
    fn long_windows_are_recorded_not_clamped() {
        let mut m = Metrics::default();
        deleted(&mut m, 7, 0);
        grant(&mut m, 2, 7, 3_600_000);
        let s = m.summary(4_000_000, |_| String::new()).staleness;
        // Three significant figures: within 0.1%.
        let max = s.percentiles.max;
        assert!((3_600_000..=3_603_600).contains(&max), "{max}");
    }

    #[test]
    fn a_lost_notification_keeps_its_window_open() {
        use commoncert_model::x509::CrlId;
        let mut m = Metrics::default();
        let (a, b) = (CrlId(11), CrlId(12));
        let push = |crl| Msg::Revocation { crl };
        m.ca_sent([(1, &answer(5)), (2, &push(a)), (3, &push(a))], 100);
        m.ca_sent([(1, &answer(6)), (2, &push(b))], 200);
        m.delivered(2, &push(a), 120);
        m.delivered(2, &push(a), 150); // a duplicate closes nothing more
        m.delivered(2, &push(b), 210);
        // Serial 5's notification to node 3 was lost: open to the end.
        let s = m.summary(1000, |_| String::new()).staleness;
        assert_eq!((s.notifications, s.notifications_lost), (3, 1));
        assert_eq!(s.exposure.max, 900);
        assert_eq!(s.exposure.count, 2);
        assert_eq!(s.exposure_cdf.first().map(|p| p.0), Some(10));
    }

    #[test]
    fn online_deletions_have_no_exposure() {
        let mut m = Metrics::default();
        deleted(&mut m, 9, 50);
        let s = m.summary(500, |_| String::new()).staleness;
        assert_eq!((s.invalidated, s.exposure.max, s.notifications), (1, 0, 0));
    }

    #[test]
    fn a_deletion_not_answered_by_the_ca_is_not_one() {
        let mut m = Metrics::default();
        let answer = Msg::Answer {
            session: Session {
                peer: stateright::actor::Id::from(0),
                op: 0,
            },
            serial: 5,
            request: Request::Invalidate,
            verdict: Verdict::Ok,
        };
        m.sent(4, &answer, 1);
        assert_eq!(m.summary(10, |_| String::new()).staleness.invalidated, 0);
    }

    #[test]
    fn latency_percentiles_and_load_series() {
        let mut m = Metrics::default();
        for i in 0..100 {
            m.started();
            m.ended(OpKind::Use, 0, i + 1, "granted");
        }
        m.ca_received(10);
        m.ca_received(1500);
        m.ca_received(1600);
        let s = m.summary(2000, |_| String::new());
        let all = &s.latency[0];
        assert_eq!((all.what.as_str(), all.count), ("all", 100));
        assert_eq!((all.p50, all.p90, all.p99, all.max), (50, 90, 99, 100));
        assert_eq!(s.ca_load.per_s, vec![1, 2]);
        assert_eq!(s.ca_load.peak_per_s, 2);
        assert_eq!(s.ops.ended, 100);
        assert_eq!(s.outcomes["use"]["granted"], 100);
    }
}
