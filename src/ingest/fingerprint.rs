//! A file's fingerprint, by which an import of the same file is recognised: cheap to take on a
//! log of any size, and different for any two logs that are not the same.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

/// How much of each end of a file is hashed.
const SAMPLE: u64 = 1 << 20;

/// SHA-256, in hex, over the file's length and its first and last MiB (the whole file when it is
/// smaller than 2 MiB). A log's lines carry times, so two different logs of the same length
/// differ within those ends; a log that has grown since has a different length.
pub fn of(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut hash = Sha256::new();
    hash.update(len.to_le_bytes());
    let mut buf = Vec::with_capacity(SAMPLE as usize);
    (&mut file).take(SAMPLE.min(len)).read_to_end(&mut buf)?;
    hash.update(&buf);
    if len > SAMPLE {
        let tail_start = len.saturating_sub(SAMPLE).max(SAMPLE);
        file.seek(SeekFrom::Start(tail_start))?;
        buf.clear();
        file.take(len - tail_start).read_to_end(&mut buf)?;
        hash.update(&buf);
    }
    Ok(hex::encode(hash.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_content_gives_the_same_fingerprint_and_any_change_another() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            of(&path).unwrap()
        };
        let big: Vec<u8> = (0..3 * SAMPLE as usize).map(|i| (i % 251) as u8).collect();
        assert_eq!(write("a", &big), write("copy-of-a", &big), "a copy under another name is the same file");
        let mut head = big.clone();
        head[10] ^= 1;
        let mut tail = big.clone();
        *tail.last_mut().unwrap() ^= 1;
        let mut grown = big.clone();
        grown.push(b'\n');
        let fingerprints = [write("a", &big), write("head", &head), write("tail", &tail), write("grown", &grown)];
        for (i, a) in fingerprints.iter().enumerate() {
            for b in &fingerprints[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_ne!(write("small", b"one line\n"), write("small2", b"one line!\n"));
        assert_eq!(write("empty", b"").len(), 64);
    }
}
