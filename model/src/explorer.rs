//! The model as stateright's Explorer shows it to a person.
//!
//! The Explorer prints actions with `Model::format_action`, steps with
//! `Model::format_step`, and states as their serde serialisation. The plain
//! `ActorModel` shows `Id(3)` lanes, decimal key bytes and no step labels, so
//! `Readable` wraps the same model (the same actors, properties and
//! transitions; nothing here decides what a party does) and changes only the
//! presentation: party names (u0, A, B, CA, mallory) instead of ids, the step
//! labels each transition realises, and certificates as `cert#serial(subject)`.

use crate::checker::{CcAction, CcModel, CcState};
use crate::counterexample::{describe_choice, effects_of};
use crate::msg::{Msg, Shown};
use crate::node::NodeState;
use crate::properties::{Milestone, Property, holds};
use serde::Serialize;
use serde_json::{Value, json};
use stateright::actor::{ActorModelAction, Id};
use stateright::{Expectation, Model};
use std::hash::{Hash, Hasher};

/// The checker's model, presented for people.
#[derive(Clone)]
pub struct Readable(pub CcModel);

/// A state of the model, shown (the Explorer prints states with `{:#?}`)
/// and serialised with names and certificate labels.
#[derive(Clone, PartialEq, Eq)]
pub struct View {
    pub state: CcState,
    /// The directory, for names (shared, not part of the state's identity).
    dir: std::sync::Arc<crate::config::Directory>,
}

impl Hash for View {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.state.hash(h);
    }
}

impl std::fmt::Debug for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let v = describe_state(&self.dir, &self.state);
        match serde_json::to_string_pretty(&v) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{v}"),
        }
    }
}

impl Serialize for View {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        describe_state(&self.dir, &self.state).serialize(s)
    }
}

/// A message with names for ids and labels for certificates.
fn describe_msg(dir: &crate::config::Directory, m: &Msg) -> String {
    let cert = |shown: &Shown| dir.arena.label(shown.certificate);
    match m {
        Msg::Present { purpose, shown, .. } => format!(
            "Present({purpose:?}, {}{})",
            cert(shown),
            if shown.proof.is_some() {
                ", signed"
            } else {
                ""
            }
        ),
        Msg::Certificate { certificate, .. } => {
            format!("Certificate({})", dir.arena.label(*certificate))
        }
        Msg::Observed { shown } => format!("Observed({})", cert(shown)),
        other => other.to_string(),
    }
}

/// One party's state, summarised: tables, sessions, certificates.
fn describe_node(dir: &crate::config::Directory, node: &NodeState) -> Value {
    let name = |id: Id| dir.name(id).to_string();
    let service = |s: &crate::service::ServiceState| {
        json!({
            "fig7": s.durable.table.rows.values().map(|r| json!({
                "login": r.login,
                "name": r.subject.name,
                "serial": r.serial.map(|(serial, link)| format!("cert#{serial} ({link:?})")),
            })).collect::<Vec<_>>(),
            "sessions": s.sessions.iter().map(|(k, v)| json!({
                "peer": name(k.peer),
                "op": k.op,
                "purpose": format!("{:?}", v.purpose),
                "stage": format!("{:?}", v.stage),
                "serial": v.serial.map(|x| format!("cert#{x}")),
            })).collect::<Vec<_>>(),
            "next_nonce": s.durable.next_nonce,
        })
    };
    let ca = |c: &crate::ca::CaState| {
        json!({
            "fig5_fig6": c.tables.rows().into_iter().map(|(serial, subject, services)| json!({
                "cert": format!("cert#{serial}({})", subject.name),
                "services": services.into_iter().map(name).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "next_serial": c.next_serial,
            "revoked": c.revoked.iter().map(|s| format!("cert#{s}")).collect::<Vec<_>>(),
        })
    };
    match node {
        NodeState::Ca(c) => json!({ "ca": ca(c) }),
        NodeState::Service(s) => json!({ "service": service(s) }),
        NodeState::PortalCa(s, c) => json!({ "service": service(s), "ca": ca(c) }),
        NodeState::User(u) => json!({
            "subject": u.identity.subject.name,
            "certificate": u.certificate.map(|c| dir.arena.label(c)),
            "invalidated": u.invalidated,
            "pending": u.pending.iter().map(|(op, p)| {
                format!("op {op}: {}", describe_choice(dir, &crate::node::Choice::User(p.command.clone())))
            }).collect::<Vec<_>>(),
            "actions_done": u.actions_done,
        }),
        NodeState::Attacker(a) => json!({
            "seen": a.seen.iter().map(|s| dir.arena.label(s.certificate)).collect::<Vec<_>>(),
            "pending": a.replays.pending.len(),
        }),
        NodeState::Clock(c) => json!({ "now_ms": c.now, "jumps_left": c.jumps_left }),
    }
}

/// A whole state: every party by name, crashed ones marked, and the network.
pub fn describe_state(dir: &crate::config::Directory, s: &CcState) -> Value {
    let mut parties = serde_json::Map::new();
    for (i, node) in s.actor_states.iter().enumerate() {
        let id = Id::from(i);
        let mut v = describe_node(dir, node);
        if s.crashed.get(i).copied().unwrap_or(false)
            && let Some(o) = v.as_object_mut()
        {
            o.insert("crashed".into(), Value::Bool(true));
        }
        parties.insert(dir.name(id).to_string(), v);
    }
    json!({
        "parties": parties,
        "network": crate::checker::in_flight(&s.network).into_iter().map(|env| format!(
            "{} -> {}: {}", dir.name(env.src), dir.name(env.dst), describe_msg(dir, env.msg)
        )).collect::<Vec<_>>(),
        "violated": s.history.violated.iter().map(|p| p.name()).collect::<Vec<_>>(),
        "reached": s.history.reached.iter().map(|m| m.name()).collect::<Vec<_>>(),
    })
}

/// `Id(3)` in stateright's Debug text replaced by the party's name.
fn name_ids(text: &str, dir: &crate::config::Directory) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Id(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 3..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        match (
            digits.parse::<usize>(),
            after[digits.len()..].starts_with(')'),
        ) {
            (Ok(n), true) if !digits.is_empty() => {
                out.push_str(dir.name(Id::from(n)));
                rest = &after[digits.len() + 1..];
            }
            _ => {
                out.push_str("Id(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// An action with party names: `u0 -> A: Access(Issue)`.
pub fn describe_action(dir: &crate::config::Directory, a: &CcAction) -> String {
    let name = |id: Id| dir.name(id).to_string();
    match a {
        ActorModelAction::Deliver { src, dst, msg } => {
            format!(
                "{} -> {}: {}",
                name(*src),
                name(*dst),
                describe_msg(dir, msg)
            )
        }
        ActorModelAction::Drop(env) => format!(
            "lose {} -> {}: {}",
            name(env.src),
            name(env.dst),
            describe_msg(dir, &env.msg)
        ),
        ActorModelAction::Timeout(id, timer) => format!("{}: {timer:?} fires", name(*id)),
        ActorModelAction::Crash(id) => format!("{} crashes", name(*id)),
        ActorModelAction::Recover(id) => format!("{} restarts from storage", name(*id)),
        ActorModelAction::SelectRandom { actor, random, .. } => {
            format!("{} {}", name(*actor), describe_choice(dir, random))
        }
    }
}

macro_rules! always {
    ($p:expr) => {
        stateright::Property::<Readable>::always($p.name(), |_, v: &View| {
            holds(
                $p,
                &v.state.history,
                v.state.actor_states.iter().map(|a| &***a),
            )
        })
    };
}

macro_rules! sometimes {
    ($m:expr) => {
        stateright::Property::<Readable>::sometimes($m.name(), |_, v: &View| {
            $m.reached(&v.state.history, v.state.actor_states.iter().map(|a| &***a))
        })
    };
}

impl Model for Readable {
    type State = View;
    type Action = CcAction;

    fn init_states(&self) -> Vec<View> {
        let dir = self.0.cfg.system.dir.clone();
        self.0
            .init_states()
            .into_iter()
            .map(|state| View {
                state,
                dir: dir.clone(),
            })
            .collect()
    }

    fn actions(&self, v: &View, actions: &mut Vec<CcAction>) {
        self.0.actions(&v.state, actions);
    }

    fn next_state(&self, v: &View, action: CcAction) -> Option<View> {
        self.0.next_state(&v.state, action).map(|state| View {
            state,
            dir: v.dir.clone(),
        })
    }

    fn format_action(&self, action: &CcAction) -> String {
        describe_action(&self.0.cfg.system.dir, action)
    }

    /// The step labels the transition realises, what it sent, and the
    /// party's state after it.
    fn format_step(&self, last: &View, action: CcAction) -> Option<String> {
        let dir = &self.0.cfg.system.dir;
        let fx = effects_of(&self.0, &last.state, &action);
        let next = self.0.next_state(&last.state, action)?;
        let mut out = String::new();
        if let Some(fx) = fx {
            let labels: Vec<&str> = fx.steps.iter().map(|s| s.label()).collect();
            out.push_str(&format!(
                "STEPS: [{}]\n",
                if labels.is_empty() {
                    "none".to_string()
                } else {
                    labels.join(", ")
                }
            ));
            for (to, m) in &fx.sends {
                out.push_str(&format!(
                    "SENDS: -> {}: {}\n",
                    dir.name(*to),
                    describe_msg(dir, m)
                ));
            }
        }
        out.push_str("\nNEXT STATE:\n");
        out.push_str(
            &serde_json::to_string_pretty(&describe_state(dir, &next)).unwrap_or_default(),
        );
        Some(out)
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        // The same properties as the checker's model, on the wrapped state.
        let names: Vec<(Expectation, &str)> = self
            .0
            .properties()
            .into_iter()
            .map(|p| (p.expectation, p.name))
            .collect();
        let mut all = vec![
            always!(Property::RevokedNeverAccepted),
            always!(Property::OnlyQualifiedServices),
            always!(Property::PasswordStaysHome),
            always!(Property::CredentialStaysHome),
            always!(Property::NoImpersonation),
            always!(Property::UniqueSerials),
            always!(Property::OneCertificatePerUser),
            always!(Property::NoUnauthorisedRevocation),
            always!(Property::NoRelay),
            always!(Property::ServiceListPrivate),
            always!(Property::LinkMatchesSubject),
            always!(Property::NoUnauthorisedQualification),
            always!(Property::KeyBoundByHolder),
            always!(Property::PushWindowOnly),
            always!(Property::ExpiredNeverAccepted),
            sometimes!(Milestone::GrantAfterQualification),
            sometimes!(Milestone::Invalidation),
            sometimes!(Milestone::Prohibition),
            sometimes!(Milestone::StatementTwoSources),
            sometimes!(Milestone::ReplayedCredentialAccepted),
            sometimes!(Milestone::ExpiredRefused),
            sometimes!(Milestone::StaleCrlAsksCa),
        ];
        all.retain(|p| names.contains(&(p.expectation.clone(), p.name)));
        all
    }

    /// stateright's sequence diagram of the path, drawn by the wrapped model.
    fn as_svg(&self, path: stateright::Path<View, CcAction>) -> Option<String> {
        let vec = path.into_vec();
        let init = vec.first()?.0.state.clone();
        let actions: Vec<CcAction> = vec.iter().filter_map(|(_, a)| a.clone()).collect();
        let inner = stateright::Path::from_actions(&self.0, init, actions.iter())?;
        // stateright labels events with the messages' Debug text: name the
        // parties there too.
        self.0
            .as_svg(inner)
            .map(|svg| name_ids(&svg, &self.0.cfg.system.dir))
    }

    fn within_boundary(&self, v: &View) -> bool {
        Model::within_boundary(&self.0, &v.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::CheckConfig;

    #[test]
    fn the_readable_model_is_the_checkers_model_with_names() {
        // Same properties, also where time passes.
        let clocked = CheckConfig {
            revocation: crate::config::Revocation::Push,
            harden: crate::config::Hardening::parse(["crl-freshness"]).expect("a name"),
            clock_jumps: 1,
            ..CheckConfig::default()
        };
        for config in [clocked, CheckConfig::default()] {
            let (model, _) = config.into_model().expect("builds");
            let readable = Readable(model.clone());
            let a: Vec<&str> = model.properties().iter().map(|p| p.name).collect();
            let b: Vec<&str> = readable.properties().iter().map(|p| p.name).collect();
            assert_eq!(a, b);
        }
        let (model, _) = CheckConfig::default().into_model().expect("builds");
        let readable = Readable(model.clone());
        // Walk a few steps: names and labels, no ids.
        let mut v = readable.init_states().remove(0);
        let mut seen_labels = false;
        for _ in 0..8 {
            let mut actions = Vec::new();
            readable.actions(&v, &mut actions);
            let Some(a) = actions.into_iter().next() else {
                break;
            };
            let text = readable.format_action(&a);
            assert!(!text.contains("Id("), "{text}");
            let step = readable.format_step(&v, a.clone()).expect("a step");
            seen_labels |= step.contains("STEPS: [S");
            v = readable.next_state(&v, a).expect("a successor");
        }
        assert!(seen_labels);
        // The Explorer's sequence diagram is the wrapped model's.
        let init = readable.init_states().remove(0);
        let mut first = Vec::new();
        readable.actions(&init, &mut first);
        let path =
            stateright::Path::from_actions(&readable, init, first.iter().take(1)).expect("a path");
        let svg = readable.as_svg(path).expect("an SVG");
        assert!(svg.contains("<svg") && !svg.contains("Id("), "{svg}");
        let json = serde_json::to_string(&v).expect("serialises");
        assert!(
            json.contains("\"u0\"") && json.contains("\"CA\"") && json.contains("\"A\""),
            "{json}"
        );
        assert!(!json.contains("Id("), "{json}");
    }

    #[test]
    fn certificates_read_as_serial_and_subject() {
        let system = crate::system::standard_spec(2, 1, false)
            .build()
            .expect("builds");
        let u = system.dir.by_name("u0").expect("u0");
        let a = system.dir.by_name("A").expect("A");
        let mut d = crate::world::FifoDriver::new(system);
        d.run(
            u,
            crate::node::Choice::User(crate::user::Command::Issue {
                service: a,
                credential: None,
            }),
        );
        let cert = d
            .world
            .state(u)
            .and_then(NodeState::user)
            .and_then(|s| s.certificate)
            .expect("issued");
        // The serial the CA recorded in Fig. 5 (random by default).
        let ca = d.world.system.dir.ca().expect("a CA");
        let serial = d
            .world
            .state(ca)
            .and_then(NodeState::ca)
            .and_then(|c| c.tables.serials_of("User 0").into_iter().next())
            .expect("registered");
        assert_eq!(
            d.world.system.dir.arena.label(cert),
            format!("cert#{serial}(User 0)")
        );
    }
}
