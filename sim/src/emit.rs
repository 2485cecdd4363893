//! A model checker's counterexample as a scenario file the simulator replays
//! to the same violation (`commoncert check --emit-scenarios DIR`).
//!
//! The scenario declares the checker's system exactly as
//! `CheckConfig::into_model` builds it (`standard_spec`, seed 0, the same
//! modes, defects, attacker and curious service), so keys, certificates and
//! CRLs are byte-identical, and uses `schedule = "scripted"`: time stays at
//! zero, as the checker's clock does, and every message and timer waits for
//! the `deliver`, `drop` or `timeout` step that the counterexample's action
//! names. The file expects the violations the checker found along the
//! path (the simulator flags each at the event that breaks it).

use crate::scenario::{Background, request_name};
use commoncert_model::checker::{CheckConfig, NetworkKind, PropertyResult};
use commoncert_model::config::{Directory, Presentation, Revocation};
use commoncert_model::effects::Timer;
use commoncert_model::malicious::Move;
use commoncert_model::node::Choice;
use commoncert_model::user::{Command, Using};
use stateright::actor::{ActorModelAction, Id};
use std::fmt::Write;

fn quote(s: &str) -> String {
    // TOML basic strings: escape backslashes and quotes.
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// How many times an emitted lasso's loop is written out.
pub const LOOP_REPEATS: usize = 3;

/// A counterexample's actions; for a lasso, the stem and then the loop
/// `LOOP_REPEATS` times.
fn lasso_actions(result: &PropertyResult) -> Vec<commoncert_model::checker::CcAction> {
    match result.loop_from {
        Some(stem) if stem < result.actions.len() => {
            let (head, cycle) = result.actions.split_at(stem);
            let mut out = head.to_vec();
            for _ in 0..LOOP_REPEATS {
                out.extend_from_slice(cycle);
            }
            out
        }
        _ => result.actions.clone(),
    }
}

/// The scenario file for `result`'s counterexample under `config`.
/// `dir` is the checker's directory (for names); `name` the scenario's name.
pub fn counterexample_scenario(
    config: &CheckConfig,
    dir: &Directory,
    name: &str,
    result: &PropertyResult,
) -> String {
    scenario(
        config,
        dir,
        name,
        result,
        &format!(
            "The checker's shortest counterexample for `{}` in `commoncert check {}`,\nreplayed step for step: every delivery, loss and timeout of the path is a\nstep below. Written by `commoncert check --emit-scenarios`.",
            result.name,
            config.flags()
        ),
    )
}

/// The scenario file for a counterexample a swarm found (`check --swarm`):
/// the shortest found, not necessarily a shortest path; `replay` is the
/// command that re-runs the member that found it.
pub fn swarm_counterexample_scenario(
    config: &CheckConfig,
    dir: &Directory,
    name: &str,
    result: &PropertyResult,
    replay: &str,
) -> String {
    scenario(
        config,
        dir,
        name,
        result,
        &format!(
            "A counterexample for `{}` that a swarm member found in `commoncert check {}`\n(1-minimal after shrinking: no single step can be dropped; not necessarily\na shortest path), replayed step for step. The member:\n  {replay}",
            result.name,
            config.flags()
        ),
    )
}

/// A counterexample's scenario file; `description` says where a path (not
/// a lasso, which says so itself) came from.
fn scenario(
    config: &CheckConfig,
    dir: &Directory,
    name: &str,
    result: &PropertyResult,
    description: &str,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "name = {}", quote(name));
    let actions = lasso_actions(result);
    match result.loop_from {
        None => {
            let _ = writeln!(t, "description = \"\"\"\n{description}\n\"\"\"");
        }
        Some(stem) => {
            let looped = result.actions.len().saturating_sub(stem);
            let _ = writeln!(
                t,
                "description = \"\"\"\nThe checker's lasso for `{}` in `commoncert check {}`, replayed step\nfor step. The stem is the first {stem} steps below. {} What `{}` awaits never\nhappens. Written by `commoncert check --emit-scenarios`.\n\"\"\"",
                result.name,
                config.flags(),
                if looped == 0 {
                    "Then nothing weakly fair is enabled, so the run stays in its last state forever.".to_string()
                } else {
                    format!(
                        "The loop is the {looped} steps after the stem, repeated {LOOP_REPEATS} times here. Under weak fairness it repeats forever."
                    )
                },
                result.name
            );
        }
    }
    let _ = writeln!(t, "seed = 0\n\n[config]");
    let _ = writeln!(t, "schedule = \"scripted\"");
    let _ = writeln!(
        t,
        "revocation = {}",
        quote(match config.revocation {
            Revocation::Online => "online",
            Revocation::Push => "push",
        })
    );
    let _ = writeln!(
        t,
        "presentation = {}",
        quote(match config.presentation {
            Presentation::ProofOfPossession => "proof-of-possession",
            Presentation::Bearer => "bearer",
        })
    );
    if config.serials != CheckConfig::default().serials {
        let _ = writeln!(t, "serials = {}", quote(config.serials.name()));
    }
    if config.biometric {
        let _ = writeln!(t, "primary_auth = \"biometric\"");
    }
    if config.merged_tables {
        let _ = writeln!(t, "merged_ca_table = true");
    }
    if config.ca_in_portal {
        let _ = writeln!(t, "ca_in_portal = true");
    }
    if !config.harden.is_empty() {
        let names: Vec<String> = config.harden.names().iter().map(|n| quote(n)).collect();
        let _ = writeln!(t, "harden = [{}]", names.join(", "));
    }
    let defects = toml::Table::try_from(config.defects).unwrap_or_default();
    if defects.values().any(|v| v.as_bool() == Some(true)) {
        let _ = writeln!(t, "\n[config.defects]");
        for (k, v) in &defects {
            if v.as_bool() == Some(true) {
                let _ = writeln!(t, "{k} = true");
            }
        }
    }
    // The parties, as the checker builds them.
    let Ok(spec) = config.spec() else {
        return String::new();
    };
    for s in &spec.services {
        let _ = writeln!(t, "\n[[service]]\nid = {}", quote(&s.name));
        if s.portal {
            let _ = writeln!(t, "portal = true");
        }
        if let Some(st) = &s.statement {
            let _ = writeln!(t, "statement = {}", quote(st));
        }
        if s.curious {
            let _ = writeln!(t, "curious = true");
        }
        if s.malicious {
            let _ = writeln!(t, "malicious = true");
        }
    }
    for u in &spec.users {
        let _ = writeln!(t, "\n[[user]]\nid = {}", quote(&u.name));
        let _ = writeln!(t, "name = {}", quote(&u.subject.name));
        let _ = writeln!(t, "address = {}", quote(&u.subject.address));
        let _ = writeln!(t, "email = {}", quote(&u.subject.email));
        let accounts: Vec<String> = u
            .accounts
            .iter()
            .map(|(s, (login, pw))| {
                format!(
                    "{} = {{ login = {}, password = {} }}",
                    s,
                    quote(login),
                    quote(pw)
                )
            })
            .collect();
        let _ = writeln!(t, "accounts = {{ {} }}", accounts.join(", "));
    }
    if config.attacker || config.network_attacker {
        let _ = writeln!(t, "\n[[attacker]]\nid = \"mallory\"");
        if config.network_attacker {
            let _ = writeln!(t, "network = true");
        }
    }
    let name_of = |id: Id| dir.name(id).to_string();
    // The user whose certificate a replay or relay presents.
    let holder_of = |cert| {
        if let Some((holder, _)) = dir.own.iter().find(|(_, o)| o.certificate == cert) {
            return name_of(*holder);
        }
        dir.arena
            .subject_of(cert)
            .and_then(|cn| {
                dir.subjects
                    .iter()
                    .find(|(_, s)| s.name == cn)
                    .map(|(id, _)| name_of(*id))
            })
            .unwrap_or_default()
    };
    // The holder of a serial the path shows a certificate of (a revoke
    // names its victim, not the serial, so the scenario reads the same
    // under random serials).
    let holder_of_serial = |serial: u64| {
        actions
            .iter()
            .find_map(|a| {
                match a {
                    ActorModelAction::Deliver { msg, .. } => match msg {
                        commoncert_model::msg::Msg::Issued { certificate, .. }
                        | commoncert_model::msg::Msg::Certificate { certificate, .. } => {
                            Some(*certificate)
                        }
                        commoncert_model::msg::Msg::Present { shown, .. } => {
                            Some(shown.certificate)
                        }
                        _ => None,
                    },
                    _ => None,
                }
                .filter(|c| dir.arena.serial_of(*c) == Some(serial))
            })
            .map(&holder_of)
            .unwrap_or_default()
    };
    // The built system, for whose key a substitution is (built once, and
    // only for a path that has one).
    let system = std::cell::OnceCell::new();
    let keep = config.network == NetworkKind::Duplicating;
    for action in &actions {
        t.push('\n');
        match action {
            ActorModelAction::SelectRandom { actor, random, .. } => match random {
                Choice::User(cmd) => {
                    let _ = writeln!(t, "[[step]]");
                    let (verb, extra) = match cmd {
                        Command::Issue { .. } => ("issue", String::new()),
                        Command::Use { login, .. } => (
                            "use",
                            if *login {
                                String::new()
                            } else {
                                "login = false\n".into()
                            },
                        ),
                        Command::Prohibit { .. } => ("prohibit", String::new()),
                        Command::Invalidate { using, .. } => (
                            "invalidate",
                            format!(
                                "using = {}\n",
                                quote(match using {
                                    Using::Password => "password",
                                    Using::Certificate => "certificate",
                                })
                            ),
                        ),
                        Command::Statement { .. } => ("statement", String::new()),
                    };
                    let _ = write!(
                        t,
                        "do = \"{verb}\"\nuser = {}\nservice = {}\n{extra}",
                        quote(&name_of(*actor)),
                        quote(&name_of(cmd.service()))
                    );
                }
                Choice::Malicious(Move::Probe { request, serial }) => {
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"probe\"\nservice = {}\nrequest = {}\nserial = {serial}\n",
                        quote(&name_of(*actor)),
                        quote(request_name(*request)),
                    );
                }
                Choice::Malicious(Move::Revoke { request, serial }) => {
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"revoke\"\nservice = {}\nvictim = {}\nrequest = {}\n",
                        quote(&name_of(*actor)),
                        quote(&holder_of_serial(*serial)),
                        quote(request_name(*request)),
                    );
                }
                Choice::Malicious(Move::Bind { at, credential }) => {
                    let victim = dir
                        .person_of(credential, *at)
                        .map(name_of)
                        .unwrap_or_default();
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"bind\"\nservice = {}\nvictim = {}\nto = {}\n",
                        quote(&name_of(*actor)),
                        quote(&victim),
                        quote(&name_of(*at))
                    );
                }
                Choice::Malicious(Move::Requalify { shown }) => {
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"requalify\"\nservice = {}\nvictim = {}\n",
                        quote(&name_of(*actor)),
                        quote(&holder_of(shown.certificate)),
                    );
                    if let Some(serial) = dir.arena.serial_of(shown.certificate) {
                        let _ = writeln!(t, "serial = {serial}");
                    }
                }
                Choice::Malicious(Move::Substitute { key }) => {
                    let victim = system
                        .get_or_init(|| spec.build().ok())
                        .as_ref()
                        .and_then(|s| s.holder_of_key(key))
                        .map(name_of)
                        .unwrap_or_default();
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"substitute\"\nservice = {}\nvictim = {}\n",
                        quote(&name_of(*actor)),
                        quote(&victim),
                    );
                }
                Choice::Malicious(Move::Relay(r)) => {
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"relay\"\nservice = {}\nvictim = {}\nto = {}\n",
                        quote(&name_of(*actor)),
                        quote(&holder_of(r.shown.certificate)),
                        quote(&name_of(r.service))
                    );
                    // The certificate it relays, so the replay picks the same one.
                    if let Some(serial) = dir.arena.serial_of(r.shown.certificate) {
                        let _ = writeln!(t, "serial = {serial}");
                    }
                }
                // The checker's clock jumps: a scripted wait moves the
                // simulator's clock as far.
                Choice::Jump(j) => {
                    let _ = write!(t, "[[step]]\ndo = \"wait\"\nms = {}\n", j.by(dir));
                }
                Choice::Attacker(r) => {
                    let victim = holder_of(r.shown.certificate);
                    let _ = write!(
                        t,
                        "[[step]]\ndo = \"impersonate\"\nattacker = {}\nvictim = {}\nservice = {}\n",
                        quote(&name_of(*actor)),
                        quote(&victim),
                        quote(&name_of(r.service))
                    );
                }
            },
            ActorModelAction::Deliver { src, dst, msg } => {
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"deliver\"\nfrom = {}\nto = {}\nmessage = {}\n",
                    quote(&name_of(*src)),
                    quote(&name_of(*dst)),
                    quote(&msg.to_string())
                );
                if let Some(op) = msg.op() {
                    let _ = writeln!(t, "op = {op}");
                }
                if keep {
                    let _ = writeln!(t, "duplicate = true");
                }
            }
            ActorModelAction::Drop(env) => {
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"drop\"\nfrom = {}\nto = {}\nmessage = {}\n",
                    quote(&name_of(env.src)),
                    quote(&name_of(env.dst)),
                    quote(&env.msg.to_string())
                );
                if let Some(op) = env.msg.op() {
                    let _ = writeln!(t, "op = {op}");
                }
            }
            ActorModelAction::Timeout(id, Timer::Timeout(op)) => {
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"timeout\"\nnode = {}\nop = {op}\n",
                    quote(&name_of(*id))
                );
            }
            ActorModelAction::Timeout(id, timer) => {
                let which = Background::of(timer).map_or("", Background::name);
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"timeout\"\nnode = {}\ntimer = {}\n",
                    quote(&name_of(*id)),
                    quote(which)
                );
            }
            ActorModelAction::Crash(id) => {
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"crash\"\nnode = {}\n",
                    quote(&name_of(*id))
                );
            }
            ActorModelAction::Recover(id) => {
                let _ = write!(
                    t,
                    "[[step]]\ndo = \"restart\"\nnode = {}\n",
                    quote(&name_of(*id))
                );
            }
        }
    }
    let violated: Vec<String> = result.violated_on_path.iter().map(|v| quote(v)).collect();
    let _ = writeln!(t, "\n[expect]\nviolations = [{}]", violated.join(", "));
    t
}

/// Replay each violated safety property's counterexample (and each
/// liveness lasso, its loop written out `LOOP_REPEATS` times) of `report` as a
/// scripted scenario, with the X.509 memo and concretely (`concretise`);
/// (how many, the failures).
pub fn replay_counterexamples(
    name: &str,
    report: &commoncert_model::checker::CheckReport,
) -> (usize, Vec<String>) {
    use commoncert_model::checker::Verdict;
    let mut failures = Vec::new();
    let mut n = 0;
    for p in report
        .properties
        .iter()
        .filter(|p| p.kind != "sometimes" && p.verdict == Verdict::Violated)
    {
        n += 1;
        let text = counterexample_scenario(
            &report.config,
            &report.dir,
            &format!("{name}-{}", p.name),
            p,
        );
        let sc = match crate::scenario::parse(std::path::Path::new("counterexample.toml"), &text) {
            Ok(sc) => sc,
            Err(e) => {
                failures.push(format!("{name} {}: {e}", p.name));
                continue;
            }
        };
        // Replayed with the X.509 memo and concretely (every certificate,
        // CRL and proof issued and checked afresh): the two must agree.
        match crate::concretise::concretise(&sc, crate::sim::Options::default()) {
            Ok(r)
                if r.pass
                    && (p.loop_from.is_some()
                        || r.violations.iter().any(|v| v.property == p.name)) => {}
            Ok(r) => failures.push(format!(
                "{name} {}: {}",
                p.name,
                r.failures
                    .iter()
                    .map(|f| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
            Err(e) => failures.push(format!("{name} {}: {e}", p.name)),
        }
    }
    (n, failures)
}
