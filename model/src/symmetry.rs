//! Symmetry reduction over interchangeable users.
//!
//! In the standard systems every user has an account at every service and
//! the same bound on operations: users differ only in who they are (name,
//! e-mail, address, logins, passwords or templates, key). Renaming user i as
//! user π(i) throughout a state, for a permutation π of the users, therefore
//! gives a state of the same system that behaves alike, with every property
//! and milestone judged alike (they never name a particular user). The
//! checker keeps one representative per class: of all renamings of a state,
//! the one with the least fingerprint.
//!
//! A renaming is complete, or the reduction would be unsound:
//! * party ids: user slots move (states, timers, choices, storage, crash
//!   flags), and every id that names a user (sessions, the CA's issued map,
//!   the history) is renamed;
//! * identity data: names, e-mails, addresses, logins, passwords and V2
//!   templates wherever they appear (messages, sessions, tables, a curious
//!   service's harvest) become user π(i)'s;
//! * keys: a public key of user i becomes π(i)'s;
//! * certificates and proofs: a handle (`x509::CertId`, `SigId`) names DER
//!   that the run's arena issued or signed; the renamed handle is that of the
//!   certificate issued from the same request with π(i)'s subject and key
//!   (real rcgen issuance, remembered), and of the proof signed with π(i)'s
//!   key over the same challenge. This is what moving identities behind
//!   handles buys: signed bytes cannot be rewritten, but the event that made
//!   them can be replayed for another user.
//!
//! Services are not permuted: each has its own name inside every challenge
//! a user signs, its own statement, and (for the first) the portal role, so
//! two services of a standard system are not interchangeable. The reduction
//! is at most M! for M users; `reports/performance.md` measures it.
//!
//! Soundness is tested (`checker::tests`): every configuration of the
//! standard matrix with two users gives the same verdicts with and without
//! symmetry, and the representative is the same for every renaming of a
//! state.

use crate::checker::CcState;
use crate::config::{Credential, Directory, Subject};
use crate::hashed::Hashed;
use crate::msg::{Msg, Session, Shown};
use crate::node::{Choice, Node, NodeState, Storage};
use crate::properties::History;
use crate::service::{ServiceDurable, ServiceState, SessionState};
use crate::small_map::SmallMap;
use crate::system::System;
use crate::user::{Command, Identity, Pending, UserDurable, UserState};
use crate::x509::{CertId, CertRequest, SigId, SigningKey};
use stateright::actor::{ActorModelState, Envelope, Id, Network, RandomChoices};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// Who the users are, for renaming them, and the renamings themselves.
#[derive(Debug)]
pub struct Symmetry {
    dir: Arc<Directory>,
    /// The user slots, in id order.
    users: Vec<Id>,
    /// One per permutation of the users, the identity first.
    renamings: Vec<Renaming>,
    /// Renamed party states, storages and histories by (renaming, digest):
    /// most of a state is shared with its predecessor, so most renamings
    /// are found here. Each entry keeps its original, compared on a hit, so
    /// a digest collision costs a renaming, never a wrong one.
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    nodes: HashMap<(usize, u64), (Party, Party)>,
    storages: HashMap<(usize, u64), (Saved, Saved)>,
    histories: HashMap<(usize, u64), (Past, Past)>,
}

type Party = Arc<Hashed<NodeState>>;
type Saved = Arc<Hashed<Storage>>;
type Past = Arc<Hashed<History>>;

/// Entries kept at most, per map; beyond, the map starts afresh.
const CACHE_LIMIT: usize = 1 << 20;

/// One renaming: user i becomes user `to[i]`.
#[derive(Debug)]
struct Renaming {
    /// node index -> node id.
    ids: Vec<Id>,
    strings: HashMap<String, String>,
    keys: HashMap<[u8; 32], SigningKey>,
    samples: HashMap<[u8; 16], [u8; 16]>,
    identities: HashMap<[u8; 32], Arc<Identity>>,
}

/// A renaming at work on one system.
struct Rename<'a> {
    sym: &'a Symmetry,
    r: &'a Renaming,
}

impl Symmetry {
    /// The users of `system`, if they are interchangeable: the same services
    /// with accounts of the same kind. `None` otherwise (then there is
    /// nothing to reduce soundly).
    pub fn of(system: &System) -> Option<Symmetry> {
        let mut users = Vec::new();
        let mut identities = Vec::new();
        for (i, node) in system.nodes.iter().enumerate() {
            if let Node::User(u) = node {
                users.push(Id::from(i));
                identities.push(u.identity.clone());
            }
        }
        let services = |id: &Identity| id.accounts.keys().copied().collect::<Vec<_>>();
        let first = identities.first()?;
        if identities.iter().any(|i| services(i) != services(first)) {
            return None;
        }
        // Adversaries' own certificates are not renamed (not proven symmetric).
        if !system.dir.own.is_empty() {
            return None;
        }
        // `pop-binding` signs certificates' digests and consents, and `csr`
        // certification requests, which the renaming does not re-sign (not
        // proven symmetric).
        if system.dir.hardening.pop_binding || system.dir.hardening.csr {
            return None;
        }
        // A malicious service probes serials, which depend on the order in
        // which users were issued; its moves are not renamed (not proven
        // symmetric), so the reduction is refused rather than guessed.
        if system
            .nodes
            .iter()
            .any(|n| matches!(n, Node::Service(s) | Node::PortalCa(s, _) if s.malicious))
        {
            return None;
        }
        let renamings = permutations(users.len())
            .iter()
            .map(|to| Renaming::new(system.dir.parties.len(), &users, &identities, to))
            .collect();
        Some(Symmetry {
            dir: system.dir.clone(),
            users,
            renamings,
            cache: Mutex::new(Cache::default()),
        })
    }

    fn rename(&self, k: usize) -> Rename<'_> {
        Rename {
            sym: self,
            r: &self.renamings[k],
        }
    }

    pub fn users(&self) -> usize {
        self.users.len()
    }

    /// The representative of `s`'s class: the renaming of `s` (over every
    /// permutation of the users) with the least fingerprint.
    pub fn representative(&self, s: &CcState) -> CcState {
        // The identity renaming is the state itself.
        let mut best = (crate::explore::fingerprint(s), None);
        for k in 1..self.renamings.len() {
            let renamed = self.rename(k).state(s, k);
            let fp = crate::explore::fingerprint(&renamed);
            if fp < best.0 {
                best = (fp, Some(renamed));
            }
        }
        best.1.unwrap_or_else(|| s.clone())
    }
}

/// Every permutation of 0..n, the identity first.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn go(prefix: &mut Vec<usize>, n: usize, out: &mut Vec<Vec<usize>>) {
        if prefix.len() == n {
            out.push(prefix.clone());
            return;
        }
        for i in 0..n {
            if !prefix.contains(&i) {
                prefix.push(i);
                go(prefix, n, out);
                prefix.pop();
            }
        }
    }
    let mut out = Vec::new();
    go(&mut Vec::new(), n, &mut out);
    out
}

impl Renaming {
    fn new(nodes: usize, users: &[Id], people: &[Arc<Identity>], to: &[usize]) -> Self {
        let mut ids: Vec<Id> = (0..nodes).map(Id::from).collect();
        let mut strings = HashMap::new();
        let mut keys = HashMap::new();
        let mut samples = HashMap::new();
        let mut identities = HashMap::new();
        for (i, &j) in to.iter().enumerate() {
            let (from, into) = (&people[i], &people[j]);
            ids[usize::from(users[i])] = users[j];
            for (a, b) in [
                (&from.subject.name, &into.subject.name),
                (&from.subject.email, &into.subject.email),
                (&from.subject.address, &into.subject.address),
            ] {
                strings.insert(a.clone(), b.clone());
            }
            for (service, c) in &from.accounts {
                let Some(d) = into.accounts.get(service) else {
                    continue;
                };
                strings.insert(c.login().to_string(), d.login().to_string());
                match (c, d) {
                    (
                        Credential::Password { password: p, .. },
                        Credential::Password { password: q, .. },
                    ) => {
                        strings.insert(p.to_string(), q.to_string());
                    }
                    (
                        Credential::Biometric { sample: p, .. },
                        Credential::Biometric { sample: q, .. },
                    ) => {
                        samples.insert(*p, *q);
                    }
                    _ => {}
                }
            }
            keys.insert(from.key.public_key(), into.key.clone());
            identities.insert(from.key.public_key(), into.clone());
        }
        Renaming {
            ids,
            strings,
            keys,
            samples,
            identities,
        }
    }
}

impl Rename<'_> {
    fn id(&self, id: Id) -> Id {
        self.r.ids.get(usize::from(id)).copied().unwrap_or(id)
    }

    /// Node index `i` moves to `self.id(i)`.
    fn reindex<T: Clone>(&self, v: &[T], f: impl Fn(&T) -> T) -> Vec<T> {
        let mut out = v.to_vec();
        for (i, x) in v.iter().enumerate() {
            let to = usize::from(self.id(Id::from(i)));
            if let Some(slot) = out.get_mut(to) {
                *slot = f(x);
            }
        }
        out
    }

    fn string(&self, s: &str) -> String {
        self.r
            .strings
            .get(s)
            .map_or_else(|| s.to_string(), Clone::clone)
    }

    fn key(&self, k: &[u8; 32]) -> [u8; 32] {
        self.r.keys.get(k).map_or(*k, |k| k.public_key())
    }

    fn session(&self, s: &Session) -> Session {
        Session {
            peer: self.id(s.peer),
            op: s.op,
        }
    }

    fn subject(&self, s: &Subject) -> Subject {
        Subject {
            name: self.string(&s.name),
            address: self.string(&s.address),
            email: self.string(&s.email),
        }
    }

    fn credential(&self, c: &Credential) -> Credential {
        match c {
            Credential::Password { login, password } => Credential::Password {
                login: self.string(login).into(),
                password: self.string(password).into(),
            },
            Credential::Biometric { login, sample } => Credential::Biometric {
                login: self.string(login).into(),
                sample: self.r.samples.get(sample).copied().unwrap_or(*sample),
            },
        }
    }

    /// The certificate the same CA would have issued from the same request
    /// for the renamed subject and key. A handle the arena did not issue
    /// (none arises in the checker) is kept.
    fn cert(&self, c: CertId) -> CertId {
        let arena = &self.sym.dir.arena;
        let Some((ca, req)) = arena.origin(c) else {
            return c;
        };
        let renamed = CertRequest {
            common_name: self.string(&req.common_name),
            email: self.string(&req.email),
            public_key: self.key(&req.public_key),
            ..req
        };
        arena.issue(&ca, &renamed).unwrap_or(c)
    }

    /// The proof the renamed signer would have made over the same challenge.
    fn sig(&self, s: SigId) -> SigId {
        let arena = &self.sym.dir.arena;
        match arena.signed(s) {
            Some((signer, msg)) => match self.r.keys.get(&signer) {
                Some(key) => arena.sign(key, &msg).unwrap_or(s),
                None => s,
            },
            None => s,
        }
    }

    fn shown(&self, s: &Shown) -> Shown {
        Shown {
            certificate: self.cert(s.certificate),
            proof: s.proof.map(|(nonce, sig)| (nonce, self.sig(sig))),
        }
    }

    fn command(&self, c: &Command) -> Command {
        let cred = |c: &Option<Arc<Credential>>| c.as_deref().map(|c| Arc::new(self.credential(c)));
        match c {
            Command::Issue {
                service,
                credential,
            } => Command::Issue {
                service: *service,
                credential: cred(credential),
            },
            Command::Use {
                service,
                login,
                credential,
            } => Command::Use {
                service: *service,
                login: *login,
                credential: cred(credential),
            },
            Command::Invalidate {
                service,
                using,
                credential,
            } => Command::Invalidate {
                service: *service,
                using: *using,
                credential: cred(credential),
            },
            other => other.clone(),
        }
    }

    fn msg(&self, m: &Msg) -> Msg {
        match m {
            Msg::Login {
                op,
                credential,
                public_key,
                consent,
                csr,
            } => Msg::Login {
                op: *op,
                credential: self.credential(credential).into(),
                public_key: public_key.map(|k| self.key(&k)),
                // Never set: `pop-binding` and `csr` have no symmetry
                // (`Symmetry::of`).
                consent: *consent,
                csr: *csr,
            },
            Msg::Present { op, purpose, shown } => Msg::Present {
                op: *op,
                purpose: *purpose,
                shown: self.shown(shown),
            },
            Msg::Certificate {
                op,
                certificate,
                existing,
            } => Msg::Certificate {
                op: *op,
                certificate: self.cert(*certificate),
                existing: *existing,
            },
            Msg::Granted {
                op,
                serial,
                subject,
                basis,
            } => Msg::Granted {
                op: *op,
                serial: *serial,
                subject: self.string(subject),
                basis: *basis,
            },
            Msg::MemberMenu {
                op,
                serial,
                subject,
                basis,
            } => Msg::MemberMenu {
                op: *op,
                serial: *serial,
                subject: self.string(subject),
                basis: *basis,
            },
            Msg::Balance {
                op,
                region,
                serial,
                subject,
                basis,
                text,
            } => Msg::Balance {
                op: *op,
                region: *region,
                serial: *serial,
                subject: self.string(subject),
                basis: *basis,
                text: text.clone(),
            },
            Msg::IssueRequest {
                session,
                subject,
                public_key,
                csr,
            } => Msg::IssueRequest {
                session: self.session(session),
                subject: self.subject(subject).into(),
                public_key: self.key(public_key),
                csr: *csr,
            },
            Msg::Issued {
                session,
                serial,
                certificate,
                existing,
            } => Msg::Issued {
                session: self.session(session),
                serial: *serial,
                certificate: self.cert(*certificate),
                existing: *existing,
            },
            Msg::Observed { shown } => Msg::Observed {
                shown: self.shown(shown),
            },
            Msg::Qualify {
                session,
                serial,
                holder,
            } => Msg::Qualify {
                session: self.session(session),
                serial: *serial,
                holder: holder.as_ref().map(|h| self.shown(h)),
            },
            other => {
                let mut m = other.clone();
                if let Some(s) = m.ca_session_mut() {
                    *s = self.session(s);
                }
                m
            }
        }
    }

    fn session_state(&self, s: &SessionState) -> SessionState {
        SessionState {
            subject: s.subject.as_deref().map(|x| self.string(x)),
            login: s.login.as_deref().map(|x| self.string(x).into()),
            holder: s.holder.as_ref().map(|h| self.shown(h)),
            ..s.clone()
        }
    }

    fn service_durable(&self, d: &ServiceDurable) -> ServiceDurable {
        ServiceDurable {
            // Symmetric accounts were checked when the symmetry was made.
            table: d
                .table
                .renamed(|l| self.string(l))
                .unwrap_or_else(|| d.table.clone()),
            ..d.clone()
        }
    }

    fn service(&self, s: &ServiceState) -> ServiceState {
        ServiceState {
            durable: self.service_durable(&s.durable),
            sessions: s
                .sessions
                .iter()
                .map(|(k, v)| (self.session(k), self.session_state(v)))
                .collect(),
            harvested: s.harvested.iter().map(|c| self.credential(c)).collect(),
            replays: s
                .replays
                .iter()
                .map(|(op, (svc, c))| (*op, (*svc, self.credential(c))))
                .collect(),
            // Never set: a system with a malicious service has no symmetry.
            malice: s.malice.clone(),
        }
    }

    fn ca(&self, c: &crate::ca::CaState) -> crate::ca::CaState {
        crate::ca::CaState {
            tables: Arc::new(Hashed::new(
                c.tables.renamed(|s| self.subject(s), |n| self.string(n)),
            )),
            issued: c
                .issued
                .iter()
                .map(|((svc, sess), (serial, cert))| {
                    ((*svc, self.session(sess)), (*serial, self.cert(*cert)))
                })
                .collect(),
            ..c.clone()
        }
    }

    fn identity(&self, i: &Arc<Identity>) -> Arc<Identity> {
        self.r
            .identities
            .get(&i.key.public_key())
            .map_or_else(|| i.clone(), Clone::clone)
    }

    fn user(&self, u: &UserState) -> UserState {
        UserState {
            identity: self.identity(&u.identity),
            certificate: u.certificate.map(|c| self.cert(c)),
            pending: u
                .pending
                .iter()
                .map(|(op, p)| {
                    (
                        *op,
                        Pending {
                            command: self.command(&p.command),
                            regions: p.regions.clone(),
                            challenge: p.challenge,
                        },
                    )
                })
                .collect(),
            ..u.clone()
        }
    }

    fn attacker(&self, a: &crate::attacker::AttackerState) -> crate::attacker::AttackerState {
        crate::attacker::AttackerState {
            seen: a.seen.iter().map(|s| self.shown(s)).collect(),
            replays: crate::attacker::Replays {
                pending: a
                    .replays
                    .pending
                    .iter()
                    .map(|(op, r)| {
                        (
                            *op,
                            crate::attacker::Replay {
                                shown: self.shown(&r.shown),
                                service: r.service,
                            },
                        )
                    })
                    .collect::<SmallMap<_, _>>(),
                ..a.replays.clone()
            },
            ..a.clone()
        }
    }

    fn node_state(&self, n: &NodeState) -> NodeState {
        match n {
            NodeState::Ca(c) => NodeState::Ca(Box::new(self.ca(c))),
            NodeState::Service(s) => NodeState::Service(Box::new(self.service(s))),
            NodeState::PortalCa(s, c) => {
                NodeState::PortalCa(Box::new(self.service(s)), Box::new(self.ca(c)))
            }
            NodeState::User(u) => NodeState::User(self.user(u)),
            NodeState::Attacker(a) => NodeState::Attacker(self.attacker(a)),
            // Time names no user.
            NodeState::Clock(c) => NodeState::Clock(*c),
        }
    }

    fn storage(&self, s: &Storage) -> Storage {
        match s {
            Storage::Ca(c) => Storage::Ca(Box::new(self.ca(c))),
            Storage::Service(d) => Storage::Service(self.service_durable(d)),
            Storage::PortalCa(d, c) => {
                Storage::PortalCa(self.service_durable(d), Box::new(self.ca(c)))
            }
            Storage::User(u) => Storage::User(UserDurable {
                identity: self.identity(&u.identity),
                certificate: u.certificate.map(|c| self.cert(c)),
                ..u.clone()
            }),
        }
    }

    /// A party's offered choices, renamed, in the order the party offers them
    /// (the attacker's follow its sorted set of presentations).
    fn choices(&self, c: &RandomChoices<Choice>) -> RandomChoices<Choice> {
        let mut out = RandomChoices::default();
        for (key, list) in c.map.iter() {
            let mut renamed: Vec<Choice> = list
                .iter()
                .map(|ch| match ch.clone() {
                    Choice::User(cmd) => Choice::User(self.command(&cmd)),
                    Choice::Attacker(r) => Choice::Attacker(crate::attacker::Replay {
                        shown: self.shown(&r.shown),
                        service: r.service,
                    }),
                    // Never offered: a system with a malicious service has no symmetry.
                    m @ Choice::Malicious(_) => m,
                    j @ Choice::Jump(_) => j,
                })
                .collect();
            if renamed.iter().any(|c| matches!(c, Choice::Attacker(_))) {
                renamed.sort_by(|a, b| match (a, b) {
                    (Choice::Attacker(x), Choice::Attacker(y)) => {
                        (&x.shown, x.service).cmp(&(&y.shown, y.service))
                    }
                    _ => std::cmp::Ordering::Equal,
                });
            }
            out.insert(key.clone(), renamed);
        }
        out
    }

    fn network(&self, n: &Network<Msg>) -> Network<Msg> {
        let envelope = |e: Envelope<&Msg>| Envelope {
            src: self.id(e.src),
            dst: self.id(e.dst),
            msg: self.msg(e.msg),
        };
        let all = || crate::checker::in_flight(n).into_iter().map(envelope);
        match n {
            Network::Ordered(_) => Network::new_ordered(all()),
            Network::UnorderedNonDuplicating(_) => Network::new_unordered_nonduplicating(all()),
            Network::UnorderedDuplicating(_, last) => {
                Network::new_unordered_duplicating_with_last_msg(
                    all(),
                    last.as_ref().map(|e| {
                        envelope(Envelope {
                            src: e.src,
                            dst: e.dst,
                            msg: &e.msg,
                        })
                    }),
                )
            }
        }
    }

    /// `s` renamed; `k` is this renaming's index, for the cache.
    fn state(&self, s: &CcState, k: usize) -> CcState {
        let cache = &self.sym.cache;
        ActorModelState {
            actor_states: self.reindex(&s.actor_states, |a| {
                cached(cache, |c| &mut c.nodes, k, a, |a| self.node_state(a))
            }),
            network: self.network(&s.network),
            timers_set: self.reindex(&s.timers_set, Clone::clone),
            random_choices: self.reindex(&s.random_choices, |c| self.choices(c)),
            crashed: self.reindex(&s.crashed, Clone::clone),
            history: cached(
                cache,
                |c| &mut c.histories,
                k,
                &s.history,
                |h| h.renamed(|id| self.id(id), |c| self.cert(c), |k| self.key(k)),
            ),
            actor_storages: self.reindex(&s.actor_storages, |st| {
                st.as_ref()
                    .map(|st| cached(cache, |c| &mut c.storages, k, st, |st| self.storage(st)))
            }),
        }
    }
}

/// `x` renamed by renaming `k`, from the cache if it was renamed before.
fn cached<T: Hash + PartialEq>(
    cache: &Mutex<Cache>,
    map: impl Fn(&mut Cache) -> &mut HashMap<(usize, u64), (Arc<Hashed<T>>, Arc<Hashed<T>>)>,
    k: usize,
    x: &Arc<Hashed<T>>,
    rename: impl FnOnce(&T) -> T,
) -> Arc<Hashed<T>> {
    let key = (k, x.digest());
    {
        let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((from, to)) = map(&mut c).get(&key)
            && (Arc::ptr_eq(from, x) || **from == **x)
        {
            return to.clone();
        }
    }
    let renamed = Arc::new(Hashed::new(rename(x)));
    let mut c = cache.lock().unwrap_or_else(PoisonError::into_inner);
    let m = map(&mut c);
    if m.len() >= CACHE_LIMIT {
        m.clear();
    }
    m.insert(key, (x.clone(), renamed.clone()));
    renamed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::CheckConfig;
    use std::ops::ControlFlow;

    /// The representative is a function of the class: every renaming of a
    /// state has the same one; and renaming by the identity changes nothing.
    #[test]
    fn every_renaming_of_a_state_has_the_same_representative() {
        for config in [
            CheckConfig {
                users: 3,
                actions: 2,
                ..CheckConfig::default()
            },
            CheckConfig {
                users: 2,
                actions: 2,
                attacker: true,
                presentation: crate::config::Presentation::Bearer,
                revocation: crate::config::Revocation::Push,
                ..CheckConfig::default()
            },
            CheckConfig {
                users: 2,
                actions: 2,
                biometric: true,
                curious_service: true,
                lossy: true,
                ..CheckConfig::default()
            },
            // Time passes (the clock's state is renamed as itself), CRLs go
            // stale (the sessions' ghost is carried along), and a published
            // CRL can be in flight twice (`checker::in_flight` counts copies).
            CheckConfig {
                users: 2,
                actions: 2,
                revocation: crate::config::Revocation::Push,
                harden: crate::config::Hardening::parse(["crl-freshness"]).expect("a name"),
                clock_jumps: 1,
                ..CheckConfig::default()
            },
        ] {
            let (model, _) = config.into_model().expect("builds");
            let sym = Symmetry::of(&model.cfg.system).expect("symmetric");
            let fp = crate::explore::fingerprint::<CcState>;
            let mut checked = 0;
            crate::explore::walk_transitions(&model, 600, |_, _, next| {
                let rep = fp(&sym.representative(next));
                assert_eq!(fp(&sym.rename(0).state(next, 0)), fp(next));
                for k in 0..sym.renamings.len() {
                    let renamed = sym.rename(k).state(next, k);
                    assert_eq!(fp(&sym.representative(&renamed)), rep, "{k}");
                }
                checked += 1;
                ControlFlow::Continue(())
            });
            assert!(checked > 300, "{checked}");
        }
    }

    /// A renaming moves a certificate to the other user: its subject and key
    /// are the other user's, and it verifies.
    #[test]
    fn a_renamed_certificate_is_the_other_users_and_verifies() {
        let config = CheckConfig {
            users: 2,
            actions: 1,
            ..CheckConfig::default()
        };
        let (model, _) = config.into_model().expect("builds");
        let sym = Symmetry::of(&model.cfg.system).expect("symmetric");
        let arena = &model.cfg.system.dir.arena;
        let mut found = None;
        crate::explore::walk_transitions(&model, 10_000, |_, _, next| {
            let held = next.actor_states.iter().find_map(|a| match &***a {
                NodeState::User(u) => u.certificate.map(|c| (u.identity.subject.name.clone(), c)),
                _ => None,
            });
            if let Some(h) = held {
                found = Some(h);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        let (holder, cert) = found.expect("a user gets a certificate");
        let swapped = sym.rename(1).cert(cert);
        assert_ne!(swapped, cert);
        let other = model
            .cfg
            .system
            .nodes
            .iter()
            .find_map(|n| match n {
                Node::User(u) if u.identity.subject.name != holder => Some(u.identity.clone()),
                _ => None,
            })
            .expect("two users");
        assert_eq!(arena.subject_of(swapped), Some(other.subject.name.clone()));
        let anchor = model.cfg.system.authority.trust_anchor();
        let info = arena
            .verify_certificate(&anchor, swapped, 0)
            .expect("verifies");
        assert_eq!(info.public_key, other.key.public_key());
        assert_eq!(
            arena.serial_of(swapped),
            arena.serial_of(cert),
            "the same serial"
        );
    }
}
