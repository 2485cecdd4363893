//! Bad input is refused before anything runs, with exit code 2 and the line
//! named, and never panics.

mod common;

use common::{args, data, scratch};
use commoncert_sim::cli;
use commoncert_sim::scenario::parse;
use proptest::prelude::*;
use std::path::Path;

fn valid() -> String {
    std::fs::read_to_string(data("fig3a.toml")).unwrap_or_default()
}

/// Write `text` to a file, run `commoncert sim` on it: (exit code, the refusal).
fn refuse(name: &str, text: &str) -> (i32, String) {
    let dir = scratch(&format!("malformed-{name}"));
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let code = cli::run(&args(&[&file]));
    let message = match commoncert_sim::scenario::load(&file) {
        Err(e) => e.to_string(),
        Ok(_) => String::new(),
    };
    (code, message)
}

fn assert_refused_at(name: &str, text: &str, line: usize, needle: &str) {
    let (code, message) = refuse(name, text);
    assert_eq!(code, 2, "{name}: {message}");
    assert!(
        message.contains(&format!("{name}.toml:{line}:")),
        "{name}: expected line {line} in {message}"
    );
    assert!(
        message.contains(needle),
        "{name}: expected {needle:?} in {message}"
    );
}

#[test]
fn invalid_toml_is_refused_with_its_line() {
    let text = valid().replace("do = \"use\"", "do = \"use");
    assert_refused_at("invalid-toml", &text, 26, "");
}

#[test]
fn unknown_key_is_refused() {
    let text = valid().replace(
        "service = \"B\"\nexpect",
        "service = \"B\"\nspeed = 3\nexpect",
    );
    assert_refused_at("unknown-key", &text, 29, "speed");
}

#[test]
fn unknown_user_is_refused_naming_the_step() {
    let text = valid().replace(
        "user = \"u31\"\nservice = \"B\"",
        "user = \"u99\"\nservice = \"B\"",
    );
    assert_refused_at(
        "unknown-user",
        &text,
        27,
        "step 2 (line 25): unknown user `u99`",
    );
}

#[test]
fn unknown_service_and_node_are_refused() {
    let text = valid().replace("service = \"B\"\nexpect", "service = \"Z\"\nexpect");
    assert_refused_at("unknown-service", &text, 28, "unknown service `Z`");
    let text = format!(
        "{}\n[[step]]\ndo = \"crash\"\nnode = \"nowhere\"\n",
        valid()
    );
    assert!(
        refuse("unknown-node", &text)
            .1
            .contains("unknown node `nowhere`")
    );
}

#[test]
fn unknown_do_is_refused() {
    let text = valid().replace("do = \"use\"", "do = \"fly\"");
    assert_refused_at("unknown-do", &text, 26, "unknown `do = \"fly\"`");
}

#[test]
fn unknown_outcome_is_refused() {
    let text = valid().replace("expect = \"granted\"", "expect = \"welcomed\"");
    assert_refused_at("unknown-outcome", &text, 29, "unknown outcome `welcomed`");
}

#[test]
fn wrong_types_are_refused() {
    let text = valid().replace("seed = 7", "seed = \"seven\"");
    assert_refused_at("wrong-type-seed", &text, 3, "");
    let text = valid().replace("expect = \"granted\"", "expect = 3");
    assert_refused_at("wrong-type-expect", &text, 29, "");
    let text = valid().replace(
        "[[service]]\nid = \"A\"",
        "[[service]]\nid = \"A\"\nportal = \"yes\"",
    );
    assert_refused_at("wrong-type-portal", &text, 7, "");
}

#[test]
fn empty_file_is_refused() {
    assert_refused_at("empty", "", 1, "empty scenario");
    assert_refused_at("only-comment", "# nothing\n", 1, "missing field `name`");
}

#[test]
fn missing_name_is_refused() {
    let text = valid().replace("name = \"test-fig3a\"\n", "");
    let (code, message) = refuse("no-name", &text);
    assert_eq!(code, 2);
    assert!(message.contains("name"), "{message}");
}

#[test]
fn keys_of_another_do_are_refused() {
    let text = valid().replace("do = \"use\"", "do = \"use\"\nnodes = [\"A\"]");
    assert_refused_at(
        "foreign-key",
        &text,
        27,
        "`nodes` does not belong to `do = \"use\"`",
    );
}

#[test]
fn unknown_step_label_is_refused() {
    let text = valid().replace("\"P6\"]", "\"P7\"]");
    assert_refused_at("unknown-label", &text, 30, "`P7` is not a step label");
}

#[test]
fn duplicate_scenario_names_are_refused() {
    let dir = scratch("malformed-duplicates");
    for f in ["a.toml", "b.toml"] {
        std::fs::write(dir.join(f), valid()).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(cli::run(&args(&[&dir])), 2);
    let err = cli::load_all(&[dir]).err().unwrap_or_default();
    assert!(
        err.iter()
            .any(|e| e.contains("b.toml:1:1: duplicate scenario name")),
        "{err:?}"
    );
}

#[test]
fn bad_flag_values_are_refused() {
    let mut a = args(&[&data("fig3a.toml")]);
    a.seeds = Some("9..3".into());
    assert_eq!(cli::run(&a), 2);
    assert_eq!(cli::run(&args(&[Path::new("/nonexistent/x.toml")])), 2);
}

/// Byte-level mutations of a valid file.
fn mutate(text: &str, ops: &[(u8, usize, char)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (op, at, c) in ops {
        if chars.is_empty() {
            chars.push(*c);
            continue;
        }
        let i = at % chars.len();
        match op % 4 {
            0 => {
                chars.remove(i);
            }
            1 => chars.insert(i, *c),
            2 => chars[i] = *c,
            _ => {
                // Duplicate a line: repeated keys and tables.
                let line_start = chars[..i]
                    .iter()
                    .rposition(|c| *c == '\n')
                    .map_or(0, |p| p + 1);
                let line_end = chars[i..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(chars.len(), |p| i + p);
                let line: Vec<char> = chars[line_start..line_end].to_vec();
                chars.splice(line_end..line_end, std::iter::once('\n').chain(line));
            }
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,400}") {
        let _ = parse(Path::new("any.toml"), &text);
    }

    #[test]
    fn tomlish_strings_never_panic(text in "(\\[\\[step\\]\\]\n|name = \"x\"\n|do = \"(use|crash|wait)\"\n|user = \"u31\"\n|ms = -?[0-9]{1,20}\n|[a-z_]{1,8} = [\\[\\]\"0-9a-z,. ]{0,12}\n){0,12}") {
        let _ = parse(Path::new("any.toml"), &text);
    }

    #[test]
    fn mutated_scenarios_never_panic(ops in proptest::collection::vec((any::<u8>(), any::<usize>(), proptest::char::any()), 1..6)) {
        let text = mutate(&valid(), &ops);
        if let Ok(sc) = parse(Path::new("m.toml"), &text) {
            // Whatever parses must also run without panicking.
            let _ = commoncert_sim::sim::run(&sc, commoncert_sim::sim::Options { seed: 1, ..Default::default() });
        }
    }
}
