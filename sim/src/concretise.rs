//! The concretisation check: a run with the X.509 arena's memo is the same
//! run as one where every certificate, CRL and proof is issued and checked
//! afresh.
//!
//! The checker's states hold certificate handles (`x509::CertId`) and the
//! arena remembers verdicts, so that a transition costs the same whatever a
//! certificate's size. That is only sound if remembering never changes a
//! verdict. This module replays a scenario twice, once with the memo given
//! (normally `Memo::On`) and once with `Memo::Off` (rcgen, x509-parser and
//! ring on every use, no verdict remembered), and compares the two traces
//! event by event: the same messages (certificate fingerprints included),
//! the same step labels, the same outcomes and the same property verdicts.
//! `cargo run --release` applies it to every shipped scenario and to every
//! counterexample of the standard matrix; `Memo::Stale`, a deliberate defect
//! in the memo, shows that it can fail.

use crate::scenario::Scenario;
use crate::sim::{Options, Run, SimError, run};
use commoncert_model::x509::Memo;

/// Run `sc` under `opts` and under `opts` with `Memo::Off`; `Ok` with the
/// first run if they agree, else the first difference, in words.
pub fn concretise(sc: &Scenario, opts: Options) -> Result<Run, String> {
    let remembered = run(sc, opts).map_err(|e: SimError| e.to_string())?;
    let concrete = run(
        sc,
        Options {
            memo: Memo::Off,
            ..opts
        },
    )
    .map_err(|e| e.to_string())?;
    match difference(&remembered, &concrete) {
        None => Ok(remembered),
        Some(d) => Err(format!(
            "{}: the run with memo {:?} differs from the concrete run: {d}",
            sc.name, opts.memo
        )),
    }
}

/// The first way two runs of one scenario differ, if any.
pub fn difference(a: &Run, b: &Run) -> Option<String> {
    let events = a.trace.events.iter().zip(&b.trace.events);
    for (x, y) in events {
        if x.what != y.what
            || x.steps != y.steps
            || x.done != y.done
            || x.violations != y.violations
            || x.kind != y.kind
        {
            return Some(format!(
                "event {} ({} -> {}): `{}` {:?} {:?} against `{}` {:?} {:?}",
                x.index, x.from, x.to, x.what, x.steps, x.done, y.what, y.steps, y.done
            ));
        }
    }
    if a.trace.events.len() != b.trace.events.len() {
        return Some(format!(
            "{} events against {}",
            a.trace.events.len(),
            b.trace.events.len()
        ));
    }
    let verdicts = |r: &Run| {
        r.violations
            .iter()
            .map(|v| v.property.clone())
            .collect::<Vec<_>>()
    };
    if verdicts(a) != verdicts(b) {
        return Some(format!(
            "violations {:?} against {:?}",
            verdicts(a),
            verdicts(b)
        ));
    }
    if a.pass != b.pass || a.trace_hash != b.trace_hash {
        return Some(format!(
            "pass {} (trace {}) against pass {} (trace {})",
            a.pass, a.trace_hash, b.pass, b.trace_hash
        ));
    }
    None
}
