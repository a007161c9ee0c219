//! The AFL++ harness (afl.rs, persistent mode): `fuzz TARGET` runs one of
//! `convlab_fuzz::TARGETS` on the inputs afl-fuzz feeds it. Built and run by `scripts/fuzz.sh`.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = convlab_fuzz::target(&name) else {
        let names: Vec<&str> = convlab_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
        eprintln!("usage: fuzz TARGET, one of: {}", names.join(", "));
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| target(data));
}
