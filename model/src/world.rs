//! A running system outside the checker: node states, durable storage and the
//! history, advanced one event at a time.
//!
//! `World` applies what the handlers return (state, storage, history) and
//! hands back what must be scheduled (messages, timers). How and when those
//! are delivered, with which delay or loss, is the driver's business: the
//! simulator (`commoncert-sim`) with a virtual clock and seeded faults, or the
//! FIFO driver below for tests that need the figures' plain sequences.

use crate::effects::{Done, Effects, Timer};
use crate::msg::{Msg, OpId};
use crate::node::{Choice, Node, NodeState, Storage};
use crate::properties::{History, Property, holds};
use crate::step::Step;
use crate::system::System;
use stateright::actor::Id;
use std::collections::VecDeque;

/// What one event did, for traces and assertions.
#[derive(Debug, Default)]
pub struct Outcome {
    pub steps: Vec<Step>,
    pub sends: Vec<(Id, Msg)>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<Timer>,
    pub done: Vec<Done>,
    /// Properties that this event broke (they held before it).
    pub new_violations: Vec<Property>,
}

pub struct World {
    pub system: System,
    /// None while a node is crashed.
    pub states: Vec<Option<NodeState>>,
    /// What each node last persisted: exactly what the checker's `Out::save`
    /// keeps, so a crash loses the same things in both drivers.
    pub storage: Vec<Option<Storage>>,
    pub history: History,
    /// Whether to snapshot durable state at every persist (the default).
    /// A driver that knows no node can crash may turn it off to save the
    /// copies; `crash` then has no snapshot and keeps the live durable part.
    pub durable_snapshots: bool,
    /// Labels recorded without their effect (`step_effects`), as
    /// "node: label: what is missing"; empty in a correct system.
    pub label_faults: Vec<String>,
    /// Nodes whose crash lost durable state a handler never persisted
    /// (`Node::loses_at_crash`); empty in a correct system.
    pub lost_at_crash: Vec<String>,
    /// `link-matches-subject`, judged incrementally: the serials some
    /// service links to a row whose subject is not the CA's for the serial.
    /// A link is made only on a CA message naming its serial (S8, S19) and
    /// a subject only at issuance (a message naming it), so an event can
    /// change only the serials its input and output name; the property
    /// holds iff this set is empty. Debug builds check it against the full
    /// scan after every event of a small system.
    bad_links: std::collections::BTreeSet<u64>,
    /// The service nodes (the portal and a portal-CA included).
    services: Vec<Id>,
}

impl World {
    /// Start every node. Returns what their starts did, for the nodes whose
    /// start did anything (a million users start silently).
    pub fn new(system: System) -> (World, Vec<(Id, Outcome)>) {
        let history = History::new(&system.dir);
        let n = system.nodes.len();
        let mut world = World {
            system,
            states: vec![None; n],
            storage: vec![None; n],
            history,
            durable_snapshots: true,
            label_faults: Vec::new(),
            lost_at_crash: Vec::new(),
            bad_links: Default::default(),
            services: Vec::new(),
        };
        world.services = (0..n)
            .map(Id::from)
            .filter(|id| {
                matches!(
                    world.system.nodes.get(usize::from(*id)),
                    Some(Node::Service(_) | Node::PortalCa(..))
                )
            })
            .collect();
        let starts = (0..n)
            .filter_map(|i| {
                let id = Id::from(i);
                let out = world.restart(id);
                let silent = out.steps.is_empty()
                    && out.sends.is_empty()
                    && out.set_timers.is_empty()
                    && out.cancel_timers.is_empty()
                    && out.done.is_empty()
                    && out.new_violations.is_empty();
                (!silent).then_some((id, out))
            })
            .collect();
        (world, starts)
    }

    pub fn node(&self, id: Id) -> Option<&Node> {
        self.system.nodes.get(usize::from(id))
    }

    pub fn state(&self, id: Id) -> Option<&NodeState> {
        self.states.get(usize::from(id)).and_then(Option::as_ref)
    }

    pub fn is_up(&self, id: Id) -> bool {
        self.state(id).is_some()
    }

    /// Start loading what an event at `id` reads first (its state's slot,
    /// its entry in the directory, which holds its name inline), for a
    /// driver that knows a coming event's party while it handles earlier
    /// ones. A hint only.
    pub fn prefetch(&self, id: Id) {
        if let Some(slot) = self.states.get(usize::from(id)) {
            crate::hint::prefetch(slot);
        }
        if let Some(party) = self.system.dir.parties.get(usize::from(id)) {
            crate::hint::prefetch(party);
        }
    }

    /// Every property broken now, judged on the history and every party's state.
    pub fn violated(&self) -> Vec<Property> {
        Property::ALL
            .iter()
            .copied()
            .filter(|p| !holds(*p, &self.history, self.states.iter().flatten()))
            .collect()
    }

    /// The properties broken now, judged at a cost independent of the
    /// population: the history, the CA's state (its subject index), and
    /// `link-matches-subject` from the incrementally kept `bad_links`.
    fn violated_now(&self) -> Vec<Property> {
        let ca = self.ca_node_state();
        Property::ALL
            .iter()
            .copied()
            .filter(|p| match p {
                Property::LinkMatchesSubject => !self.bad_links.is_empty(),
                p => !holds(*p, &self.history, ca),
            })
            .collect()
    }

    /// Whether every service's rows that hold `serial` name the subject the
    /// CA's Fig. 5 gives it (or the CA does not know it).
    fn link_ok(&self, serial: u64) -> bool {
        let Some(ca) = self.ca_node_state().and_then(NodeState::ca) else {
            return true;
        };
        self.services
            .iter()
            .filter_map(|s| self.state(*s).and_then(NodeState::service))
            .all(|service| {
                service
                    .durable
                    .table
                    .rows_linked_to(serial)
                    .all(|row| crate::properties::link_matches(ca, serial, row))
            })
    }

    /// Whether `id`'s crash or restart can change a link or a subject: only
    /// a service's table or the CA's can (a user's cannot, and a million
    /// users restart at start-up).
    fn holds_links(&self, id: Id) -> bool {
        self.services.contains(&id) || self.system.dir.ca() == Some(id)
    }

    /// Re-judge the links of `serials` after an event that named them.
    fn relink(&mut self, serials: impl IntoIterator<Item = u64>) {
        for serial in serials {
            if self.link_ok(serial) {
                self.bad_links.remove(&serial);
            } else {
                self.bad_links.insert(serial);
            }
        }
    }

    /// Re-judge every link (after a crash or a restart, which drop or
    /// restore whole tables).
    fn relink_all(&mut self) {
        let serials: Vec<u64> = self
            .services
            .iter()
            .filter_map(|s| self.state(*s).and_then(NodeState::service))
            .flat_map(|service| service.durable.table.linked_rows().map(|(s, _)| s))
            .chain(self.bad_links.iter().copied())
            .collect();
        self.bad_links.clear();
        self.relink(serials);
    }

    /// In debug builds, for systems of up to 64 parties (every hand-written
    /// scenario and property test): the incremental judgement agrees with
    /// the full scan. Larger systems (workloads) skip it, since the scan is
    /// what the incremental judgement exists to avoid.
    fn check_incremental(&self) {
        if !cfg!(debug_assertions) || self.states.len() > 64 {
            return;
        }
        debug_assert_eq!(
            self.bad_links.is_empty(),
            holds(
                Property::LinkMatchesSubject,
                &self.history,
                self.states.iter().flatten()
            ),
            "link-matches-subject: the incremental judgement disagrees with the full scan"
        );
    }

    fn ca_node_state(&self) -> Option<&NodeState> {
        self.system.dir.ca().and_then(|ca| self.state(ca))
    }

    fn run(
        &mut self,
        id: Id,
        input: Option<(Id, &Msg)>,
        f: impl FnOnce(&Node, Id, &mut NodeState) -> Effects,
    ) -> Outcome {
        let before = self.violated_now();
        let i = usize::from(id);
        let (Some(node), Some(Some(state))) = (self.system.nodes.get(i), self.states.get_mut(i))
        else {
            return Outcome::default();
        };
        let fx = f(node, id, state);
        // Only what a handler persisted survives a crash, as in the checker.
        if fx.persist && self.durable_snapshots {
            self.storage[i] = Node::storage_of(state);
        }
        let named: Vec<u64> = input
            .and_then(|(_, m)| m.serial())
            .into_iter()
            .chain(fx.sends.iter().filter_map(|(_, m)| m.serial()))
            .collect();
        self.relink(named);
        self.check_incremental();
        self.check_labels(id, input, &fx);
        self.finish(id, fx, &before)
    }

    /// Every label the event recorded must have its effect (`step_effects`).
    fn check_labels(&mut self, id: Id, input: Option<(Id, &Msg)>, fx: &Effects) {
        if fx.steps.is_empty() {
            return;
        }
        let states = &self.states;
        let after = |n: Id| states.get(usize::from(n)).and_then(Option::as_ref);
        let ev = crate::step_effects::Event {
            dir: &self.system.dir,
            node: id,
            input,
            sends: &fx.sends,
            after: &after,
        };
        let faults = crate::step_effects::check_all(&fx.steps, &ev);
        let name = self.system.dir.name(id).to_string();
        self.label_faults
            .extend(faults.into_iter().map(|f| format!("{name}: {f}")));
    }

    fn finish(&mut self, id: Id, fx: Effects, before: &[Property]) -> Outcome {
        let now = self.system.clock.now();
        for (dst, msg) in &fx.sends {
            self.history.observe(&self.system.dir, id, *dst, msg, now);
        }
        let new_violations = self
            .violated_now()
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        Outcome {
            steps: fx.steps,
            sends: fx.sends,
            set_timers: fx.set_timers,
            cancel_timers: fx.cancel_timers,
            done: fx.done,
            new_violations,
        }
    }

    /// Deliver `msg` from `src` to `dst` (dropped if `dst` is down).
    pub fn deliver(&mut self, src: Id, dst: Id, msg: Msg) -> Outcome {
        // As the checker's `record_msg_in`: only a delivery to a node that
        // is up is observed.
        if History::may_change_on_delivery(&msg)
            && matches!(self.states.get(usize::from(dst)), Some(Some(_)))
        {
            self.history
                .observe_delivery(&self.system.dir, src, dst, &msg);
        }
        let input = msg.clone();
        self.run(dst, Some((src, &input)), |node, me, st| {
            node.on_message(me, st, src, msg)
        })
    }

    pub fn fire(&mut self, id: Id, timer: &Timer) -> Outcome {
        self.run(id, None, |node, me, st| node.on_timer(me, st, timer))
    }

    /// Start an operation at a user (or attacker); the op id it got.
    pub fn choose(&mut self, id: Id, choice: &Choice) -> (Outcome, Option<OpId>) {
        let mut op = None;
        let out = self.run(id, None, |node, me, st| {
            let (fx, o) = node.on_choice(me, st, choice);
            op = o;
            fx
        });
        (out, op)
    }

    /// The node stops and loses everything but what it last persisted.
    pub fn crash(&mut self, id: Id) {
        let i = usize::from(id);
        let Some(state) = self.states.get_mut(i).and_then(Option::take) else {
            return;
        };
        if self.holds_links(id) {
            self.relink_all();
        }
        self.check_incremental();
        if !self.durable_snapshots {
            // No snapshots were kept (the driver promised no crash): the live
            // durable part is all there is.
            self.storage[i] = Node::storage_of(&state);
            return;
        }
        if let Some(node) = self.system.nodes.get(i)
            && node.loses_at_crash(id, &state, self.storage[i].as_ref())
        {
            let name = self.system.dir.name(id).to_string();
            self.lost_at_crash
                .push(format!("{name}: durable state changed but not persisted"));
        }
    }

    /// The node (re)starts from its storage.
    pub fn restart(&mut self, id: Id) -> Outcome {
        let before = self.violated_now();
        let i = usize::from(id);
        let Some(node) = self.system.nodes.get(i) else {
            return Outcome::default();
        };
        let (state, mut fx) = node.start(id, self.storage[i].as_ref());
        // Drivers start operations themselves; checker-only choices are dropped here.
        fx.choices = None;
        if fx.persist && self.durable_snapshots {
            self.storage[i] = Node::storage_of(&state);
        }
        self.states[i] = Some(state);
        if self.holds_links(id) {
            self.relink_all();
        }
        self.check_incremental();
        self.finish(id, fx, &before)
    }
}

/// One delivered or started event, as the FIFO driver records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub from: Id,
    pub to: Id,
    pub what: String,
    pub steps: Vec<Step>,
}

/// Delivers messages first-in first-out with no loss and no time: the plain
/// sequence a figure draws. For tests; the simulator is the full driver.
pub struct FifoDriver {
    pub world: World,
    queue: VecDeque<(Id, Id, Msg)>,
    pub log: Vec<Record>,
}

impl FifoDriver {
    pub fn new(system: System) -> Self {
        let (world, starts) = World::new(system);
        let mut d = FifoDriver {
            world,
            queue: VecDeque::new(),
            log: Vec::new(),
        };
        for (id, out) in starts {
            d.enqueue(id, out);
        }
        d
    }

    fn enqueue(&mut self, from: Id, out: Outcome) -> Vec<Done> {
        for (to, msg) in out.sends {
            self.queue.push_back((from, to, msg));
        }
        out.done
    }

    /// Start `choice` at `who` and run until the network is quiet; the
    /// operation's result.
    pub fn run(&mut self, who: Id, choice: Choice) -> Option<Done> {
        let (out, op) = self.world.choose(who, &choice);
        self.log.push(Record {
            from: who,
            to: who,
            what: format!("{choice:?}"),
            steps: out.steps.clone(),
        });
        let mut finished = self.enqueue(who, out);
        finished.extend(self.drain());
        let op = op?;
        finished.into_iter().find(|d| d.op == op)
    }

    /// Deliver in order until the network is quiet; the operations ended.
    fn drain(&mut self) -> Vec<Done> {
        let mut finished = Vec::new();
        while let Some((from, to, msg)) = self.queue.pop_front() {
            let what = msg.to_string();
            let out = self.world.deliver(from, to, msg);
            self.log.push(Record {
                from,
                to,
                what,
                steps: out.steps.clone(),
            });
            finished.extend(self.enqueue(to, out));
        }
        finished
    }

    /// Fire `timer` at `id` and run until the network is quiet.
    pub fn fire(&mut self, id: Id, timer: &Timer) {
        let out = self.world.fire(id, timer);
        self.log.push(Record {
            from: id,
            to: id,
            what: timer.to_string(),
            steps: out.steps.clone(),
        });
        self.enqueue(id, out);
        self.drain();
    }

    /// Every step label recorded so far, in order.
    pub fn steps(&self) -> Vec<Step> {
        self.log
            .iter()
            .flat_map(|r| r.steps.iter().copied())
            .collect()
    }

    /// Forget the log (to assert one operation's sequence).
    pub fn clear_log(&mut self) {
        self.log.clear();
    }
}

/// What a scenario's `expect_final` asserts about a user's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CertificateStatus {
    /// The user holds a certificate the CA still has rows for.
    Valid,
    /// The user holds a certificate the CA no longer has (P13, S10).
    Invalidated,
    /// The user holds none.
    None,
}

/// The end state of one user's certificate across the CA and the services.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct UserFinal {
    pub certificate: CertificateStatus,
    pub serial: Option<u64>,
    /// Fig. 6 for the certificate, by service name (sorted).
    pub ca_services: Vec<String>,
    /// Services whose Fig. 7 table holds the serial (sorted).
    pub service_tables: Vec<String>,
}

impl World {
    /// The CA's state, wherever the CA role lives (None while it is down).
    pub fn ca_state(&self) -> Option<&crate::ca::CaState> {
        self.system
            .dir
            .ca()
            .and_then(|ca| self.state(ca))
            .and_then(NodeState::ca)
    }

    /// The end state of `user`'s certificate. Crashed services are read from
    /// their durable storage, which is what their table is.
    pub fn user_final(&self, user: Id) -> UserFinal {
        let dir = &self.system.dir;
        let serial = self
            .state(user)
            .and_then(NodeState::user)
            .and_then(|u| u.certificate.as_ref())
            .and_then(|c| dir.arena.serial_of(*c));
        let ca_tables = self.ca_state().map(|c| &c.tables).or_else(|| {
            dir.ca()
                .and_then(|ca| match self.storage.get(usize::from(ca))? {
                    Some(Storage::Ca(c)) | Some(Storage::PortalCa(_, c)) => Some(&c.tables),
                    _ => None,
                })
        });
        let ca_services: Vec<String> = serial
            .and_then(|s| ca_tables.and_then(|t| t.services(s)))
            .map(|set| set.iter().map(|id| dir.name(*id).to_string()).collect())
            .unwrap_or_default();
        let certificate = match serial {
            None => CertificateStatus::None,
            Some(s) if ca_tables.is_some_and(|t| t.is_registered(s)) => CertificateStatus::Valid,
            Some(_) => CertificateStatus::Invalidated,
        };
        let mut service_tables: Vec<String> = dir
            .services()
            .filter(|sid| {
                let i = usize::from(*sid);
                let table = match (self.states.get(i), self.storage.get(i)) {
                    (Some(Some(st)), _) => st.service().map(|s| &s.durable.table),
                    (_, Some(Some(Storage::Service(d) | Storage::PortalCa(d, _)))) => {
                        Some(&d.table)
                    }
                    _ => None,
                };
                serial.is_some_and(|s| table.is_some_and(|t| t.holds(s)))
            })
            .map(|sid| dir.name(sid).to_string())
            .collect();
        service_tables.sort();
        let mut ca_services = ca_services;
        ca_services.sort();
        UserFinal {
            certificate,
            serial,
            ca_services,
            service_tables,
        }
    }

    /// The attacker's replay of the newest presentation it saw of `victim`'s
    /// certificate at `service`, if it saw one.
    pub fn attacker_replay(&self, attacker: Id, victim: Id, service: Id) -> Option<Choice> {
        let Some(Node::Attacker(a)) = self.node(attacker) else {
            return None;
        };
        let st = self.state(attacker).and_then(NodeState::attacker)?;
        if victim == attacker {
            // A network attacker presents its own certificate.
            let own = self.system.dir.own.get(&attacker)?;
            return Some(Choice::Attacker(crate::attacker::Replay {
                shown: crate::msg::Shown {
                    certificate: own.certificate,
                    proof: None,
                },
                service,
            }));
        }
        let victim_name = &self.system.dir.subjects.get(&victim)?.name;
        let shown = a.seen_of(st, victim_name)?;
        Some(Choice::Attacker(crate::attacker::Replay { shown, service }))
    }

    /// The malicious service's relay to `to` of a presentation `victim`
    /// made to it (of certificate `serial` if given; else the last in the
    /// set's order), if it saw one.
    pub fn malicious_relay(
        &self,
        service: Id,
        victim: Id,
        to: Id,
        serial: Option<u64>,
    ) -> Option<Choice> {
        let shown = self.seen_by(service, victim, serial)?;
        Some(Choice::Malicious(crate::malicious::Move::Relay(
            crate::attacker::Replay { shown, service: to },
        )))
    }

    /// A presentation `victim` made to the malicious `service`: of
    /// certificate `serial` if given, else the last in the order of its set.
    fn seen_by(&self, service: Id, victim: Id, serial: Option<u64>) -> Option<crate::msg::Shown> {
        let malice = self.state(service)?.service()?.malice.as_ref()?;
        let victim_name = &self.system.dir.subjects.get(&victim)?.name;
        let arena = &self.system.dir.arena;
        malice
            .seen
            .iter()
            .rfind(|s| {
                arena.subject_of(s.certificate).as_deref() == Some(victim_name)
                    && serial.is_none_or(|n| arena.serial_of(s.certificate) == Some(n))
            })
            .cloned()
    }

    /// The malicious service's qualification of itself with a presentation
    /// `victim` made to it (of certificate `serial` if given, else the last
    /// in the order of its set), if it kept one.
    pub fn malicious_requalify(
        &self,
        service: Id,
        victim: Id,
        serial: Option<u64>,
    ) -> Option<Choice> {
        let shown = self.seen_by(service, victim, serial)?;
        Some(Choice::Malicious(crate::malicious::Move::Requalify {
            shown,
        }))
    }

    /// The malicious service's unasked invalidation or withdrawal of
    /// `victim`'s certificate, if it knows its serial (issued through it, or
    /// shown it).
    pub fn malicious_revoke(
        &self,
        service: Id,
        victim: Id,
        request: crate::msg::Request,
    ) -> Option<Choice> {
        // The serial it knows whose Fig. 5 row names the victim (the victim
        // may not have its certificate yet: the service knows the serial
        // from the CA's Issued).
        let Some(Node::Service(s) | Node::PortalCa(s, _)) = self.node(service) else {
            return None;
        };
        let name = &self.system.dir.subjects.get(&victim)?.name;
        let ca = self.state(self.system.dir.ca()?)?.ca()?;
        let st = self.state(service)?.service()?;
        st.malice.as_ref()?; // only a malicious service has this move
        let serial = s
            .known_serials(service, st)
            .into_iter()
            .find(|s| ca.tables.subject_of(*s).is_some_and(|x| x.name == *name))?;
        Some(Choice::Malicious(crate::malicious::Move::Revoke {
            request,
            serial,
        }))
    }

    /// The malicious service's substitution of `victim`'s key (certified for
    /// its own alias), if it learned that key: offered at an issuance
    /// through it, or inside a presentation it was shown.
    pub fn malicious_substitute(&self, service: Id, victim: Id) -> Option<Choice> {
        let Some(Node::Service(s) | Node::PortalCa(s, _)) = self.node(service) else {
            return None;
        };
        let key = self.state(victim)?.user()?.identity.key.public_key();
        let malice = self.state(service)?.service()?.malice.as_ref()?;
        let fresh = s.learned_keys(malice).contains(&key) && !malice.substituted.contains(&key);
        fresh.then_some(Choice::Malicious(crate::malicious::Move::Substitute {
            key,
        }))
    }

    /// The malicious service's bind of its own certificate at `to` with a
    /// credential `victim` gave it, if it holds one.
    pub fn malicious_bind(&self, service: Id, victim: Id, to: Id) -> Option<Choice> {
        let Some(Node::Service(s) | Node::PortalCa(s, _)) = self.node(service) else {
            return None;
        };
        let st = self.state(service)?.service()?;
        st.harvested
            .iter()
            .filter(|c| self.system.dir.person_of(c, service) == Some(victim))
            .flat_map(|c| s.binds_for(service, c))
            .find(|m| matches!(m, crate::malicious::Move::Bind { at, .. } if *at == to))
            .map(Choice::Malicious)
    }

    /// Every certificate the users hold, by user name, and every CRL the CA
    /// would publish now: what `--export-pki` writes.
    pub fn pki_material(&self) -> (Vec<(String, crate::x509::Der)>, Vec<crate::x509::Der>) {
        let dir = &self.system.dir;
        let users = dir
            .users()
            .filter_map(|u| {
                let cert = self.state(u)?.user()?.certificate?;
                Some((dir.name(u).to_string(), dir.arena.der(cert.0)?))
            })
            .collect();
        let crls = self
            .ca_state()
            .and_then(|ca| {
                let revoked: Vec<u64> = ca.revoked.iter().copied().collect();
                self.system
                    .authority
                    .crl(ca.crl_number.max(1), &revoked, self.system.clock.now())
                    .ok()
            })
            .into_iter()
            .collect();
        (users, crls)
    }
}
