//! Argument parsing and output; no protocol logic lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use commoncert_model::checker::{
    CheckConfig, CheckReport, NetworkKind, PropertyResult, Verdict, check,
};
use commoncert_model::config::{Defects, Hardening, Presentation, Revocation, Serials};
use commoncert_model::explore::Ended;
use commoncert_model::step::Step;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "commoncert",
    version,
    about = "Model-check and simulate the common-certificate single sign-on system"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Model-check one configuration.
    Check(CheckArgs),
    /// Serve stateright's Explorer for one configuration.
    Explore(ExploreArgs),
    /// Check the standard matrix against `verification/expectations.toml`.
    Verify(VerifyArgs),
    /// Replay scenario files in the deterministic simulator.
    Sim(commoncert_sim::cli::SimCommand),
    /// Merge the shard files of a sharded `sim --seeds --shard --out` run.
    Merge(commoncert_sim::merge::MergeArgs),
    /// Write a CA certificate, user certificates and a CRL as PEM.
    Pki(PkiArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RevocationArg {
    Online,
    Push,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresentationArg {
    ProofOfPossession,
    Bearer,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SerialsArg {
    Sequential,
    Random,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DefectArg {
    SkipCaCheck,
    KeepRowOnProhibit,
    SkipProofCheck,
    ReuseSerials,
    OnePasswordEverywhere,
    ForgetLinkPersist,
    InvalidateWithoutYes,
    KeepRowOnCrl,
    IgnoreExpiry,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NetworkArg {
    Ordered,
    Unordered,
    Duplicating,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum AttackerArg {
    Eavesdrop,
    Network,
}

#[derive(Debug, Args)]
struct ModelArgs {
    /// Services (>= 2).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=8))]
    services: u8,
    /// Users.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
    users: u8,
    /// Make the first service a portal (Fig. 11) and the others banks.
    #[arg(long)]
    portal: bool,
    #[arg(long, value_enum, default_value = "online")]
    revocation: RevocationArg,
    #[arg(long, value_enum, default_value = "proof-of-possession")]
    presentation: PresentationArg,
    /// How the CA numbers certificates: random (64 bits from the system's
    /// seed, as the Baseline Requirements ask of real CAs) or sequential
    /// (1, 2, 3, ...: a malicious service can then guess serials it was
    /// never shown).
    #[arg(long, value_enum, default_value = "random")]
    serials: SerialsArg,
    #[arg(long, value_enum, default_value = "unordered")]
    network: NetworkArg,
    /// Messages may be lost.
    #[arg(long)]
    lossy: bool,
    /// At most K nodes crashed at once.
    #[arg(long, default_value_t = 0)]
    crashes: usize,
    /// Add an attacker: `eavesdrop` (the default: it sees presentations
    /// and replays them) or `network` (also its own genuine certificate, and
    /// the network drops and reorders at its will, as with --lossy).
    #[arg(long, value_enum, value_name = "KIND", num_args = 0..=1, default_missing_value = "eavesdrop")]
    attacker: Option<AttackerArg>,
    /// Operations each user chooses.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=8))]
    actions: u8,
    /// Operations a user may have in flight at once (races without timeouts).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
    concurrency: u8,
    /// Variant T1: the CA keeps Fig. 5 and Fig. 6 as one table.
    #[arg(long)]
    merged_tables: bool,
    /// Variant V2: biometric primary authentication (one template per user).
    #[arg(long)]
    biometric: bool,
    /// Variant V3: the CA runs inside the portal's node (implies --portal).
    #[arg(long)]
    ca_in_portal: bool,
    /// Service A is honest but curious: it replays users' credentials at B.
    #[arg(long)]
    curious_service: bool,
    /// Make service ID (A, B, ...) malicious: it probes the CA on serials it
    /// was never shown (under --serials sequential: only counted serials can
    /// be guessed), relays presentations to other services and replays
    /// credentials, within the --actions budget.
    #[arg(long, value_name = "ID", value_parser = parse_service_name)]
    malicious_service: Option<usize>,
    /// The malicious service is an outsider: no user has an account there.
    #[arg(long, requires = "malicious_service")]
    outsider: bool,
    /// Hardening options, comma-separated or repeated: ca-authz,
    /// one-per-subject, subject-match (README, "Threat model and hardening").
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',', value_parser = parse_hardening)]
    harden: Vec<String>,
    /// Flip a deliberate defect in (repeatable): skip-ca-check,
    /// keep-row-on-prohibit, skip-proof-check, reuse-serials,
    /// one-password-everywhere, forget-link-persist, invalidate-without-yes,
    /// keep-row-on-crl.
    /// one-password-everywhere, forget-link-persist, ignore-expiry.
    #[arg(long = "defect", value_enum)]
    defects: Vec<DefectArg>,
    /// Depth bound: states deeper are not explored (verdicts then `unknown`).
    #[arg(long)]
    depth: Option<usize>,
    /// Stop cleanly after N unique states, with a partial result (exit 3).
    #[arg(long, value_name = "N")]
    max_states: Option<usize>,
    /// Stop cleanly when resident memory exceeds SIZE (bytes, or with K, M,
    /// G: 512M, 16G), with a partial result (exit 3).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_memory: Option<u64>,
    /// Symmetry reduction over interchangeable users (services keep their
    /// identities), applied before fingerprinting in the breadth-first search.
    #[arg(long)]
    symmetry: bool,
    /// Checker threads: with more than one, stateright's parallel BFS gives
    /// the verdicts and a targeted search the shortest counterexamples.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: u16,
    /// Also check the liveness properties (operations-end,
    /// invalidation-reaches-all, issue-eventually-succeeds) for fair cycles
    /// over the whole state graph: deliveries and timeouts weakly fair,
    /// drops, crashes and choices not (no --symmetry).
    #[arg(long)]
    liveness: bool,
    /// Let the clock jump forward at most K times, each jump a choice of
    /// the environment (never forced by fairness): past every certificate's
    /// notAfter, or under crl-freshness also past every CRL's nextUpdate.
    /// 0: time stands still.
    #[arg(long, value_name = "K", default_value_t = 0)]
    clock_jumps: u8,
    /// Users' timers outlast any round trip: an operation times out only
    /// when nothing of it is still in flight (a message of it was lost),
    /// never while its answer is on the way.
    #[arg(long)]
    patient_timers: bool,
}

/// A standard system's service name (`A`..`H`) as its index.
fn parse_service_name(text: &str) -> Result<usize, String> {
    commoncert_model::system::SERVICE_NAMES
        .iter()
        .position(|n| *n == text)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a service of the standard systems (expected one of {})",
                commoncert_model::system::SERVICE_NAMES.join(", ")
            )
        })
}

/// One hardening option's name, checked.
fn parse_hardening(text: &str) -> Result<String, String> {
    Hardening::default().enable(text.trim())?;
    Ok(text.trim().to_string())
}

/// `512M`, `16G`, `1024K` or plain bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (bytes, or a number with K, M or G)"))?;
    n.checked_shl(shift)
        .filter(|v| v >> shift == n)
        .ok_or_else(|| format!("`{text}` is too large"))
}

impl ModelArgs {
    fn config(&self) -> CheckConfig {
        CheckConfig {
            services: self.services.into(),
            users: self.users.into(),
            portal: self.portal,
            revocation: match self.revocation {
                RevocationArg::Online => Revocation::Online,
                RevocationArg::Push => Revocation::Push,
            },
            presentation: match self.presentation {
                PresentationArg::ProofOfPossession => Presentation::ProofOfPossession,
                PresentationArg::Bearer => Presentation::Bearer,
            },
            serials: match self.serials {
                SerialsArg::Sequential => Serials::Sequential,
                SerialsArg::Random => Serials::Random,
            },
            network: match self.network {
                NetworkArg::Ordered => NetworkKind::Ordered,
                NetworkArg::Unordered => NetworkKind::Unordered,
                NetworkArg::Duplicating => NetworkKind::Duplicating,
            },
            lossy: self.lossy,
            crashes: self.crashes,
            attacker: self.attacker.is_some(),
            network_attacker: self.attacker == Some(AttackerArg::Network),
            actions: self.actions,
            concurrency: self.concurrency,
            merged_tables: self.merged_tables,
            biometric: self.biometric,
            ca_in_portal: self.ca_in_portal,
            curious_service: self.curious_service,
            malicious_service: self.malicious_service,
            outsider: self.outsider,
            harden: Hardening::parse(self.harden.iter().map(String::as_str)).unwrap_or_default(),
            defects: {
                let mut d = Defects::default();
                for f in &self.defects {
                    match f {
                        DefectArg::SkipCaCheck => d.skip_ca_check = true,
                        DefectArg::KeepRowOnProhibit => d.keep_row_on_prohibit = true,
                        DefectArg::SkipProofCheck => d.skip_proof_check = true,
                        DefectArg::ReuseSerials => d.reuse_serials = true,
                        DefectArg::OnePasswordEverywhere => d.one_password_everywhere = true,
                        DefectArg::ForgetLinkPersist => d.forget_link_persist = true,
                        DefectArg::InvalidateWithoutYes => d.invalidate_without_yes = true,
                        DefectArg::KeepRowOnCrl => d.keep_row_on_crl = true,
                        DefectArg::IgnoreExpiry => d.ignore_expiry = true,
                    }
                }
                d
            },
            depth: self.depth,
            max_states: self.max_states,
            max_memory: self.max_memory,
            symmetry: self.symmetry,
            threads: self.threads.into(),
            liveness: self.liveness,
            clock_jumps: self.clock_jumps,
            patient_timers: self.patient_timers,
        }
    }
}

#[derive(Debug, Args)]
struct CheckArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// The properties this configuration is known to violate (an `always`
    /// broken, a `sometimes` not reached), comma-separated: exit 0 when
    /// exactly these are violated and everything else holds.
    #[arg(long, value_name = "NAME[,NAME]", value_delimiter = ',')]
    expect_violated: Vec<String>,
    /// Write each counterexample as a scripted scenario file in DIR, which
    /// `commoncert sim` replays to the same violation.
    #[arg(long, value_name = "DIR")]
    emit_scenarios: Option<PathBuf>,
    #[command(flatten)]
    swarm: crate::swarm::SwarmArgs,
}

#[derive(Debug, Args)]
struct ExploreArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Address to serve the Explorer on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The expectations file.
    #[arg(long, default_value = "verification/expectations.toml")]
    expectations: PathBuf,
    /// Where to write the Markdown report (an untracked folder).
    #[arg(long, default_value = "reports/out/verification.md")]
    report: PathBuf,
    /// Also refresh the committed example, `reports/verification.md`.
    #[arg(long)]
    update_report: bool,
}

#[derive(Debug, Args)]
struct PkiArgs {
    /// Seed for every key.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    // Model checking grows its heap steadily, where huge pages cost
    // page-fault stalls and buy nothing (`commoncert_sim::alloc`).
    // (The default run switches for its matrix and its scenarios itself.)
    if matches!(
        cli.command,
        Some(Command::Check(_) | Command::Explore(_) | Command::Verify(_))
    ) {
        commoncert_sim::alloc::huge_pages(false);
    }
    match cli.command {
        Some(Command::Check(args)) => run_check(&args),
        Some(Command::Explore(args)) => run_explore(&args),
        Some(Command::Verify(args)) => {
            let mut reports = vec![args.report.clone()];
            if args.update_report {
                reports.push(PathBuf::from("reports/verification.md"));
            }
            crate::verify::run(&args.expectations, &reports)
        }
        Some(Command::Sim(args)) => commoncert_sim::cli::run_command(&args),
        Some(Command::Merge(args)) => commoncert_sim::merge::run(&args),
        Some(Command::Pki(args)) => run_pki(&args),
        None => run_default(),
    }
}

/// `cargo run --release`: the verification matrix, then every scenario.
fn run_default() -> i32 {
    let started = std::time::Instant::now();
    commoncert_sim::alloc::huge_pages(false);
    let verified = crate::verify::run(
        &PathBuf::from("verification/expectations.toml"),
        &[PathBuf::from("reports/out/verification.md")],
    );
    println!();
    println!("== scenarios/ ==");
    commoncert_sim::alloc::huge_pages(true);
    let replayed = match commoncert_sim::cli::replay_all(std::path::Path::new("scenarios")) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    println!(
        "commoncert: matrix {}, scenarios {}; {:.1} s",
        if verified == 0 {
            "as expected"
        } else {
            "DIFFERS"
        },
        if replayed == 0 { "all pass" } else { "FAIL" },
        started.elapsed().as_secs_f64()
    );
    verified.max(replayed)
}

/// A progress line: on the bar, or (not a terminal, or `--json`, whose
/// stdout is the document) as a plain line on stderr every few seconds, so
/// that a log shows progress.
pub fn show_progress(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("progress: {line}");
    } else {
        bar.set_message(line);
        bar.tick();
    }
}

pub fn progress_bar(enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

fn run_check(args: &CheckArgs) -> i32 {
    let config = args.model.config();
    let known = commoncert_model::properties::names();
    if let Some(bad) = args
        .expect_violated
        .iter()
        .find(|n| !known.contains(&n.as_str()))
    {
        eprintln!(
            "error: --expect-violated {bad}: not a property (one of: {})",
            known.join(", ")
        );
        return 2;
    }
    if args.swarm.swarm {
        return crate::swarm::run(
            &config,
            &args.swarm,
            args.json,
            &args.expect_violated,
            args.emit_scenarios.as_deref(),
        );
    }
    let bar = progress_bar(!args.json);
    let result = check(&config, |p| {
        let line = format!(
            "states {} unique, {:.0}/s, depth {}, memory {} MiB, {:.0} s",
            p.unique_states,
            p.unique_states as f64 / p.elapsed.as_secs_f64().max(1e-9),
            p.depth,
            p.resident_bytes >> 20,
            p.elapsed.as_secs_f64()
        );
        show_progress(&bar, line);
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if let Some(missing) = args
        .expect_violated
        .iter()
        .find(|n| !report.properties.iter().any(|p| &p.name == *n))
    {
        eprintln!(
            "error: --expect-violated {missing}: this configuration does not check it (it checks: {})",
            report
                .properties
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        return 2;
    }
    if args.json {
        println!("{}", report_json(&report, &args.expect_violated));
    } else {
        print!("{}", report_text(&report, &args.expect_violated));
    }
    if let Some(dir) = &args.emit_scenarios {
        match emit_scenarios(&config, &report, dir) {
            Ok(files) => {
                for f in files {
                    eprintln!("wrote {}", f.display());
                }
            }
            Err(e) => {
                eprintln!("error: {}: {e}", dir.display());
                return 2;
            }
        }
    }
    let code = exit_code(&report, &args.expect_violated);
    let violated = report.violated();
    if let Some(l) = &report.liveness {
        eprintln!(
            "liveness: {} states, {} edges, {:.1} s, {:.0} bytes of graph per state{}",
            l.unique_states,
            l.edges,
            l.seconds,
            l.graph_bytes_per_state,
            if l.complete { "" } else { " (incomplete)" }
        );
    }
    eprintln!(
        "summary: {}; {} unique states, {} transitions, {:.1} s",
        match code {
            0 if violated.is_empty() => "every property as required".to_string(),
            0 => format!("violated as expected: {}", violated.join(", ")),
            3 => format!("incomplete ({})", report.bound),
            _ => format!(
                "violated: {}{}{}",
                if violated.is_empty() {
                    "none".to_string()
                } else {
                    violated.join(", ")
                },
                if args.expect_violated.is_empty() {
                    String::new()
                } else {
                    format!(" (expected: {})", args.expect_violated.join(", "))
                },
                if report.complete {
                    String::new()
                } else {
                    format!("; search incomplete: {}", report.bound)
                }
            ),
        },
        report.unique_states,
        report.total_states,
        report.seconds
    );
    code
}

/// Write every violated property's counterexample (a liveness lasso with its
/// loop written out `emit::LOOP_REPEATS` times) as a scenario file.
pub fn emit_scenarios(
    config: &CheckConfig,
    report: &CheckReport,
    dir: &std::path::Path,
) -> Result<Vec<PathBuf>, String> {
    write_counterexamples(report, dir, |name, p| {
        Some(commoncert_sim::emit::counterexample_scenario(
            config,
            &report.dir,
            name,
            p,
        ))
    })
}

/// Write `DIR/counterexample-<property>.toml` for every violated property
/// (not a `sometimes` never reached), its text from `text(name, result)`;
/// `None` skips the property. The files written.
pub fn write_counterexamples(
    report: &CheckReport,
    dir: &std::path::Path,
    text: impl Fn(&str, &commoncert_model::checker::PropertyResult) -> Option<String>,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    for p in report
        .properties
        .iter()
        .filter(|p| p.kind != "sometimes" && p.verdict == Verdict::Violated)
    {
        let name = format!("counterexample-{}", p.name);
        let Some(text) = text(&name, p) else {
            continue;
        };
        let file = dir.join(format!("{name}.toml"));
        std::fs::write(&file, text).map_err(|e| format!("{}: {e}", file.display()))?;
        files.push(file);
    }
    Ok(files)
}

/// 0: exactly the expected properties violated (none by default) and every
/// other verdict known to hold; 1: a difference; 3: a verdict unknown (a
/// bound or a limit stopped the search).
pub fn exit_code(report: &CheckReport, expect_violated: &[String]) -> i32 {
    let mut violated: Vec<&str> = report.violated();
    violated.sort_unstable();
    let mut expected: Vec<&str> = expect_violated.iter().map(String::as_str).collect();
    expected.sort_unstable();
    expected.dedup();
    let unknown = report
        .properties
        .iter()
        .any(|p| p.verdict == Verdict::Unknown);
    if violated.iter().any(|v| !expected.contains(v)) {
        1
    } else if unknown {
        3
    } else if violated != expected {
        1
    } else {
        0
    }
}

/// Whether `p` is violated and `--expect-violated` named it: its verdict
/// line says so, so that an expected violation does not read as a failure.
fn expected_violation(p: &PropertyResult, expect_violated: &[String]) -> bool {
    p.verdict == Verdict::Violated && expect_violated.contains(&p.name)
}

/// The `--json` document of a check; `expected` on a property marks a
/// violation `--expect-violated` named.
pub fn report_json(r: &CheckReport, expect_violated: &[String]) -> serde_json::Value {
    serde_json::json!({
        "config": r.config,
        "unique_states": r.unique_states,
        "total_states": r.total_states,
        "max_depth": r.max_depth,
        "seconds": r.seconds,
        "states_per_second": r.states_per_second,
        "complete": r.complete,
        "ended": r.ended,
        "bound": r.bound,
        "properties": r.properties.iter().map(|p| serde_json::json!({
            "name": p.name,
            "kind": p.kind,
            "verdict": p.verdict,
            "verdict_text": r.verdict_text(p),
            "expected": expected_violation(p, expect_violated),
            "counterexample": p.counterexample.iter().enumerate().map(|(i, l)| serde_json::json!({
                "from": l.from, "to": l.to, "message": l.message, "event": l.event,
                "steps": l.steps.iter().map(|s| s.label()).collect::<Vec<_>>(),
                "sent": l.sent,
                "violation": p.kind == "always" && i + 1 == p.counterexample.len(),
                "in_loop": p.loop_from.is_some_and(|k| i >= k),
            })).collect::<Vec<_>>(),
            "in_flight": p.in_flight,
            // A lasso: the loop starts at this line (equal to the number of
            // lines when the run stays in its last state forever).
            "loop_from": p.loop_from,
        })).collect::<Vec<_>>(),
        "liveness": r.liveness,
        "coverage": r.coverage.iter()
            .map(|(s, n)| (s.label().to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
    })
}

/// The human report of a check; a violation `--expect-violated` named is
/// marked `(expected)` on its verdict line.
pub fn report_text(r: &CheckReport, expect_violated: &[String]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  transitions {}  max depth {}  {:.2}s  {:.0} states/s",
        if r.ended == Ended::Swarm {
            "states (summed over members, which overlap)"
        } else {
            "unique states"
        },
        r.unique_states,
        r.total_states,
        r.max_depth,
        r.seconds,
        r.states_per_second,
    );
    let _ = writeln!(out, "search: {}", r.bound);
    out.push('\n');
    for p in &r.properties {
        let mark = if expected_violation(p, expect_violated) {
            " (expected)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "{:<10} {:<30} {}{mark}",
            p.kind,
            p.name,
            r.verdict_text(p)
        );
    }
    for p in r
        .properties
        .iter()
        .filter(|p| p.kind != "sometimes" && p.verdict == Verdict::Violated)
    {
        match p.loop_from {
            None if r.ended == Ended::Swarm => {
                let _ = writeln!(
                    out,
                    "\ncounterexample for {} ({} steps, the shortest the swarm found, 1-minimal; a shorter one may exist):",
                    p.name,
                    p.counterexample.len()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "\ncounterexample for {} ({} steps, a shortest path):",
                    p.name,
                    p.counterexample.len()
                );
            }
            Some(stem) if stem == p.counterexample.len() => {
                let _ = writeln!(
                    out,
                    "\nlasso for {} (a stem of {stem} steps, the shortest the search gives; then the run stays in its last state forever):",
                    p.name
                );
            }
            Some(stem) => {
                let _ = writeln!(
                    out,
                    "\nlasso for {} (a stem of {stem} steps, the shortest the search gives, then a loop of {} repeated forever; fair: every delivery and timeout the loop keeps enabled is taken in it):",
                    p.name,
                    p.counterexample.len() - stem
                );
            }
        }
        let n = p.counterexample.len();
        for (i, line) in p.counterexample.iter().enumerate() {
            if p.loop_from == Some(i) {
                let _ = writeln!(out, "      -- loop: from here, forever --");
            }
            let mark = if i + 1 == n && p.loop_from.is_none() {
                "!!"
            } else {
                "  "
            };
            let _ = writeln!(out, "{mark}{:>4}. {line}", i + 1);
            if i + 1 == n && p.loop_from.is_none() {
                for sent in &line.sent {
                    let _ = writeln!(out, "        sends {sent}   <- breaks {}", p.name);
                }
            }
        }
        if p.loop_from == Some(n) {
            let _ = writeln!(
                out,
                "      -- then it stays here forever: nothing weakly fair (no delivery, no timeout) is enabled --"
            );
        }
        if !p.in_flight.is_empty() {
            let _ = writeln!(out, "      still in flight at the end:");
            for m in &p.in_flight {
                let _ = writeln!(out, "        {m}");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nstep coverage (transitions that realised each label; never reached first):"
    );
    let mut rows: Vec<(&Step, &u64)> = r.coverage.iter().collect();
    rows.sort_by_key(|(s, n)| (**n != 0, Step::ALL.iter().position(|x| x == *s)));
    for (s, n) in rows {
        let _ = writeln!(
            out,
            "  {:<6} {:>10}{}",
            s.label(),
            n,
            if *n == 0 { "  never reached" } else { "" }
        );
    }
    out
}

fn run_explore(args: &ExploreArgs) -> i32 {
    let config = args.model.config();
    let (model, _) = match config.into_model() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    let addr =
        match std::net::ToSocketAddrs::to_socket_addrs(&args.addr.as_str()).map(|mut a| a.next()) {
            Ok(Some(a)) => a,
            _ => {
                eprintln!("error: --addr {}: not a socket address", args.addr);
                return 2;
            }
        };
    let name = format!("check {}", config.flags());
    // The same model, presented with party names, step labels and
    // certificate labels (`commoncert_model::explorer`), its page named by
    // the flags (`crate::explorer`).
    match crate::explorer::serve(commoncert_model::explorer::Readable(model), addr, &name) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn run_pki(args: &PkiArgs) -> i32 {
    match commoncert_model::system::export_demo_pki(args.seed, &args.out) {
        Ok(files) => {
            for f in &files {
                println!("{}", f.display());
            }
            println!(
                "pki: wrote {} PEM files to {} (seed {})",
                files.len(),
                args.out.display(),
                args.seed
            );
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
