//! Bytes -> `commoncert_sim::scenario::parse` (and, for a file it accepts,
//! building the system it describes). Any panic is a finding: the contract
//! says no scenario file, however malformed, makes the program panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(sc) = commoncert_sim::scenario::parse(Path::new("fuzz.toml"), text) {
        let _ = sc.spec.build();
    }
});
