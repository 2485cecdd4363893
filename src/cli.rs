//! Argument parsing and output; no protocol logic lives here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use commoncert_model::checker::{CheckConfig, CheckReport, NetworkKind, Verdict, check};
use commoncert_model::config::{Defects, Presentation, Revocation};
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
    Sim(commoncert_sim::cli::SimArgs),
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
enum DefectArg {
    SkipCaCheck,
    KeepRowOnProhibit,
    SkipProofCheck,
    ReuseSerials,
    OnePasswordEverywhere,
    ForgetLinkPersist,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NetworkArg {
    Ordered,
    Unordered,
    Duplicating,
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
    #[arg(long, value_enum, default_value = "unordered")]
    network: NetworkArg,
    /// Messages may be lost.
    #[arg(long)]
    lossy: bool,
    /// At most K nodes crashed at once.
    #[arg(long, default_value_t = 0)]
    crashes: usize,
    /// Add an eavesdropping attacker.
    #[arg(long)]
    attacker: bool,
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
    /// Flip a deliberate defect in (repeatable): skip-ca-check,
    /// keep-row-on-prohibit, skip-proof-check, reuse-serials,
    /// one-password-everywhere, forget-link-persist.
    #[arg(long = "defect", value_enum)]
    defects: Vec<DefectArg>,
    /// Depth bound.
    #[arg(long)]
    depth: Option<usize>,
    /// Symmetry reduction over interchangeable users and services.
    #[arg(long)]
    symmetry: bool,
    /// Checker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
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
            network: match self.network {
                NetworkArg::Ordered => NetworkKind::Ordered,
                NetworkArg::Unordered => NetworkKind::Unordered,
                NetworkArg::Duplicating => NetworkKind::Duplicating,
            },
            lossy: self.lossy,
            crashes: self.crashes,
            attacker: self.attacker,
            actions: self.actions,
            concurrency: self.concurrency,
            merged_tables: self.merged_tables,
            biometric: self.biometric,
            ca_in_portal: self.ca_in_portal,
            curious_service: self.curious_service,
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
                    }
                }
                d
            },
            depth: self.depth,
            symmetry: self.symmetry,
            threads: self.threads,
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
        Some(Command::Sim(args)) => commoncert_sim::cli::run(&args),
        Some(Command::Pki(args)) => run_pki(&args),
        None => run_default(),
    }
}

/// `cargo run --release`: the verification matrix, then every scenario.
fn run_default() -> i32 {
    let verified = crate::verify::run(
        &PathBuf::from("verification/expectations.toml"),
        &[PathBuf::from("reports/out/verification.md")],
    );
    println!();
    println!("== scenarios/ ==");
    let replayed = match commoncert_sim::cli::replay_all(std::path::Path::new("scenarios")) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    verified.max(replayed)
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
    let bar = progress_bar(!args.json);
    let result = check(&config, |p| {
        let secs = p.elapsed.as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "states {} unique {} depth {} rate {:.0}/s",
            p.total_states,
            p.unique_states,
            p.max_depth,
            p.total_states as f64 / secs
        ));
        bar.tick();
    });
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return 2;
        }
    };
    if args.json {
        println!("{}", report_json(&report));
    } else {
        print!("{}", report_text(&report));
    }
    if report.passed() { 0 } else { 1 }
}

/// The `--json` document of a check.
pub fn report_json(r: &CheckReport) -> serde_json::Value {
    serde_json::json!({
        "config": r.config,
        "unique_states": r.unique_states,
        "total_states": r.total_states,
        "max_depth": r.max_depth,
        "seconds": r.seconds,
        "states_per_second": r.states_per_second,
        "complete": r.complete,
        "properties": r.properties.iter().map(|p| serde_json::json!({
            "name": p.name,
            "kind": p.kind,
            "verdict": p.verdict,
            "counterexample": p.counterexample.iter().map(|l| serde_json::json!({
                "from": l.from, "to": l.to, "message": l.message,
                "steps": l.steps.iter().map(|s| s.label()).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "coverage": r.coverage.iter()
            .map(|(s, n)| (s.label().to_string(), serde_json::Value::from(*n)))
            .collect::<serde_json::Map<String, serde_json::Value>>(),
    })
}

/// The human report of a check.
pub fn report_text(r: &CheckReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "unique states {}  total {}  max depth {}  {:.2}s  {:.0} states/s{}",
        r.unique_states,
        r.total_states,
        r.max_depth,
        r.seconds,
        r.states_per_second,
        if r.complete {
            ""
        } else {
            "  (depth bound reached: incomplete)"
        }
    );
    out.push('\n');
    for p in &r.properties {
        let verdict = match (p.kind, p.verdict) {
            ("sometimes", Verdict::Holds) => "found",
            ("sometimes", Verdict::Violated) => "NOT FOUND",
            (_, Verdict::Holds) => "holds",
            (_, Verdict::Violated) => "VIOLATED",
            (_, Verdict::Unknown) => "unknown",
        };
        let _ = writeln!(out, "{:<10} {:<28} {verdict}", p.kind, p.name);
    }
    for p in r
        .properties
        .iter()
        .filter(|p| p.kind == "always" && p.verdict == Verdict::Violated)
    {
        let _ = writeln!(
            out,
            "\ncounterexample for {} ({} steps):",
            p.name,
            p.counterexample.len()
        );
        for (i, line) in p.counterexample.iter().enumerate() {
            let _ = writeln!(out, "{:>4}. {line}", i + 1);
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
    eprintln!("serving stateright Explorer on http://{addr}");
    use stateright::Model;
    model.checker().serve(addr);
    0
}

fn run_pki(args: &PkiArgs) -> i32 {
    match commoncert_model::system::export_demo_pki(args.seed, &args.out) {
        Ok(files) => {
            for f in files {
                println!("{}", f.display());
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
