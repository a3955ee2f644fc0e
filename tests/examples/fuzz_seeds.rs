//! Writes the reference transcripts as fuzz seeds.
//!
//! `cargo run -p apn-ami-conformance --example fuzz_seeds -- fuzz/corpus`
//! fills `fuzz/corpus/parse_chunked/` (each transcript behind the target's
//! five control bytes, in the direction it was recorded) and
//! `fuzz/corpus/action_roundtrip/` (the client transcripts as raw bytes).

use std::path::PathBuf;

use apn_ami_conformance::{Direction, TRANSCRIPTS};

fn main() -> std::io::Result<()> {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".to_owned()),
    );
    let parse_dir = root.join("parse_chunked");
    let roundtrip_dir = root.join("action_roundtrip");
    std::fs::create_dir_all(&parse_dir)?;
    std::fs::create_dir_all(&roundtrip_dir)?;
    for transcript in TRANSCRIPTS {
        // Flags: bit 1 expects a banner, bit 2 selects the server role.
        let flags = match transcript.direction {
            Direction::FromServer if transcript.name == "banner" => 2,
            Direction::FromServer => 0,
            Direction::FromClient => 4,
        };
        let mut seed = vec![flags, 1, 7, 64, 200];
        seed.extend_from_slice(transcript.bytes);
        std::fs::write(parse_dir.join(format!("seed-{}", transcript.name)), seed)?;
        if transcript.direction == Direction::FromClient {
            std::fs::write(
                roundtrip_dir.join(format!("seed-{}", transcript.name)),
                transcript.bytes,
            )?;
        }
    }
    println!("wrote {} seeds under {}", TRANSCRIPTS.len(), root.display());
    Ok(())
}
