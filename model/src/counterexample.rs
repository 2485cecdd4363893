//! Counterexamples and examples as a researcher reads them: step-labelled
//! lines, the event that breaks the property marked with what it sent, what
//! was lost, duplicated or crashed on the way, and what was still in flight
//! at the end (the cause of a stale V1 acceptance is the CRL not yet
//! delivered).
//!
//! Every line is made by re-running the transition's handler on the state
//! before it (handlers are pure), so the labels are the ones the protocol
//! code records, never a second reading of the path.

use crate::checker::{CcAction, CcModel, CcState};
use crate::effects::Effects;
use crate::msg::Msg;
use crate::node::Choice;
use crate::step::Step;
use serde::Serialize;
use stateright::actor::{ActorModelAction, Id};

/// What kind of event a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// A message delivered.
    Deliver,
    /// A message delivered again (a duplicating network).
    Duplicate,
    /// A message lost.
    Lost,
    /// A timer fired.
    Timeout,
    /// A party's choice (a user's operation, the attacker's replay).
    Choice,
    Crash,
    Restart,
}

/// One line of a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub from: String,
    pub to: String,
    pub message: String,
    pub event: Event,
    /// The labels the event realised.
    pub steps: Vec<Step>,
    /// What the event sent, as `from -> to: message` (shown for the
    /// violating event, whose sends are the violation's cause).
    pub sent: Vec<String>,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}: {}", self.from, self.to, self.message)?;
        if !self.steps.is_empty() {
            let labels: Vec<&str> = self.steps.iter().map(|s| s.label()).collect();
            write!(f, "  [{}]", labels.join(", "))?;
        }
        Ok(())
    }
}

/// A path explained: the lines, and what was still in flight at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Explained {
    pub lines: Vec<Line>,
    /// Messages sent but not delivered when the path ends.
    pub in_flight: Vec<String>,
}

/// What a transition's handler did: re-run it on a copy of the state
/// before it (handlers are pure), at that state's time. None for actions
/// that run no handler.
pub fn effects_of(model: &CcModel, state: &CcState, action: &CcAction) -> Option<Effects> {
    model.stepping(state, || rerun(model, state, action))
}

fn rerun(model: &CcModel, state: &CcState, action: &CcAction) -> Option<Effects> {
    let node_of = |id: Id| model.actors.get(usize::from(id)).map(|c| &c.node);
    let state_of = |id: Id| {
        state
            .actor_states
            .get(usize::from(id))
            .map(|s| (**s).clone())
    };
    match action {
        ActorModelAction::Deliver { src, dst, msg } => {
            let (node, mut st) = (node_of(*dst)?, state_of(*dst)?);
            Some(node.on_message(*dst, &mut st, *src, msg.clone()))
        }
        ActorModelAction::Timeout(id, timer) => {
            let (node, mut st) = (node_of(*id)?, state_of(*id)?);
            Some(node.on_timer(*id, &mut st, timer))
        }
        ActorModelAction::SelectRandom { actor, random, .. } => {
            let (node, mut st) = (node_of(*actor)?, state_of(*actor)?);
            Some(node.on_choice(*actor, &mut st, random).0)
        }
        ActorModelAction::Drop(_) | ActorModelAction::Crash(_) | ActorModelAction::Recover(_) => {
            None
        }
    }
}

/// The labels of one transition recorded without their effect
/// (`step_effects`), judged on the state after it.
pub fn label_faults(
    model: &CcModel,
    state: &CcState,
    action: &CcAction,
    next: &CcState,
) -> Vec<String> {
    let Some(fx) = effects_of(model, state, action) else {
        // A restart records no label (the model's on_start records none).
        return Vec::new();
    };
    if fx.steps.is_empty() {
        return Vec::new();
    }
    let (node, input) = match action {
        ActorModelAction::Deliver { src, dst, msg } => (*dst, Some((*src, msg))),
        ActorModelAction::Timeout(id, _) => (*id, None),
        ActorModelAction::SelectRandom { actor, .. } => (*actor, None),
        _ => return Vec::new(),
    };
    let after = |id: Id| {
        let i = usize::from(id);
        if next.crashed.get(i).copied().unwrap_or(false) {
            return None;
        }
        next.actor_states.get(i).map(|s| &***s)
    };
    let ev = crate::step_effects::Event {
        dir: &model.cfg.system.dir,
        node,
        input,
        sends: &fx.sends,
        after: &after,
    };
    crate::step_effects::check_all(&fx.steps, &ev)
}

/// Explain a path of the checker: one line per transition, the last one's
/// sends recorded (for a violation: the message that broke the property),
/// and the messages still in flight at the end.
pub fn explain(model: &CcModel, path: Vec<(CcState, Option<CcAction>)>) -> Explained {
    let dir = &model.cfg.system.dir;
    let name = |id: Id| dir.name(id).to_string();
    let in_flight = path
        .last()
        .map(|(last, _)| {
            crate::checker::in_flight(&last.network)
                .into_iter()
                .map(|env| format!("{} -> {}: {}", name(env.src), name(env.dst), env.msg))
                .collect()
        })
        .unwrap_or_default();
    let mut lines: Vec<Line> = Vec::new();
    let mut delivered: Vec<(Id, Id, Msg)> = Vec::new();
    for (state, action) in path {
        let Some(action) = action else { continue };
        let fx = effects_of(model, &state, &action);
        let steps = fx.as_ref().map(|fx| fx.steps.clone()).unwrap_or_default();
        let sent = |at: Id, fx: &Option<Effects>| {
            fx.as_ref()
                .map(|fx| {
                    fx.sends
                        .iter()
                        .map(|(to, m)| format!("{} -> {}: {m}", name(at), name(*to)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let line = match action {
            ActorModelAction::Deliver { src, dst, msg } => {
                let again = delivered.contains(&(src, dst, msg.clone()));
                let text = msg.to_string();
                let sent = sent(dst, &fx);
                delivered.push((src, dst, msg));
                Line {
                    from: name(src),
                    to: name(dst),
                    message: if again {
                        format!("{text} (duplicate)")
                    } else {
                        text
                    },
                    event: if again {
                        Event::Duplicate
                    } else {
                        Event::Deliver
                    },
                    steps,
                    sent,
                }
            }
            ActorModelAction::Drop(env) => Line {
                from: name(env.src),
                to: name(env.dst),
                message: format!("{} (lost)", env.msg),
                event: Event::Lost,
                steps,
                sent: Vec::new(),
            },
            ActorModelAction::Timeout(id, timer) => Line {
                from: name(id),
                to: name(id),
                message: format!("{timer:?} fires"),
                event: Event::Timeout,
                sent: sent(id, &fx),
                steps,
            },
            ActorModelAction::Crash(id) => Line {
                from: name(id),
                to: name(id),
                message: "crashes".into(),
                event: Event::Crash,
                steps,
                sent: Vec::new(),
            },
            ActorModelAction::Recover(id) => Line {
                from: name(id),
                to: name(id),
                message: "restarts from storage".into(),
                event: Event::Restart,
                steps,
                sent: Vec::new(),
            },
            ActorModelAction::SelectRandom { actor, random, .. } => Line {
                from: name(actor),
                to: name(actor),
                message: describe_choice(dir, &random),
                event: Event::Choice,
                sent: sent(actor, &fx),
                steps,
            },
        };
        lines.push(line);
    }
    // Only the last event's sends are the cause; the others are the next lines.
    let n = lines.len();
    for l in lines.iter_mut().take(n.saturating_sub(1)) {
        l.sent.clear();
    }
    Explained { lines, in_flight }
}

/// A span of virtual time as a reader names it: `365 d 1 s`.
fn span(ms: u64) -> String {
    let (days, rest) = (ms / crate::x509::DAY, ms % crate::x509::DAY);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} d"));
    }
    if rest % 1000 == 0 && rest > 0 {
        parts.push(format!("{} s", rest / 1000));
    } else if rest > 0 {
        parts.push(format!("{rest} ms"));
    }
    if parts.is_empty() {
        "0 s".into()
    } else {
        parts.join(" ")
    }
}

/// A raw public key as a reader names it: its first 8 bytes in hex.
pub fn key_label(key: &[u8; 32]) -> String {
    key[..8].iter().map(|b| format!("{b:02x}")).collect()
}

pub fn describe_choice(dir: &crate::config::Directory, c: &Choice) -> String {
    use crate::user::Command;
    match c {
        Choice::User(Command::Issue { service, .. }) => {
            format!("chooses issue at {}", dir.name(*service))
        }
        Choice::User(Command::Use { service, .. }) => {
            format!("chooses use at {}", dir.name(*service))
        }
        Choice::User(Command::Prohibit { service }) => {
            format!("chooses prohibit at {}", dir.name(*service))
        }
        Choice::User(Command::Invalidate { service, using, .. }) => {
            format!("chooses invalidate at {} by {using:?}", dir.name(*service))
        }
        Choice::User(Command::Statement { portal }) => {
            format!("chooses statement at {}", dir.name(*portal))
        }
        Choice::Attacker(r) => format!(
            "replays certificate {} at {}",
            r.shown.certificate.fingerprint(),
            dir.name(r.service)
        ),
        Choice::Malicious(crate::malicious::Move::Probe { request, serial }) => {
            format!("probes the CA: {request:?} #{serial}")
        }
        Choice::Malicious(crate::malicious::Move::Revoke { request, serial }) => {
            format!("asks the CA, unasked by the holder: {request:?} #{serial}")
        }
        Choice::Malicious(crate::malicious::Move::Bind { at, credential }) => format!(
            "binds its own certificate at {} with {}'s credential",
            dir.name(*at),
            credential.login()
        ),
        Choice::Malicious(crate::malicious::Move::Substitute { key }) => format!(
            "asks the CA to certify key {} for a subject of its own",
            key_label(key)
        ),
        Choice::Malicious(crate::malicious::Move::Requalify { shown }) => format!(
            "asks the CA to qualify it with certificate {}'s presentation",
            shown.certificate.fingerprint()
        ),
        Choice::Malicious(crate::malicious::Move::Relay(r)) => format!(
            "relays certificate {} to {}",
            r.shown.certificate.fingerprint(),
            dir.name(r.service)
        ),
        Choice::Jump(j) => format!("jumps {} (+{})", j.describe(), span(j.by(dir))),
    }
}
