//! The mutations: small edits of a valid input, the kind that break parsers (a byte flipped,
//! a run deleted or repeated, a number swapped for an extreme one, two inputs spliced).

/// Values that break parsers: extreme and odd numbers, separators, quotes, encodings' marks.
pub const INTERESTING: &[&[u8]] = &[
    b"0",
    b"-1",
    b"-0",
    b"1e308",
    b"1e999",
    b"NaN",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"99999999999999999999",
    b"4294967296",
    b"0.5",
    b"1,000,000,000,000",
    b"",
    b"\"",
    b"\"\"",
    b",",
    b"\t",
    b"\n",
    b"\r\n",
    b"\0",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b"null",
    b"true",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\xC0\x80",
    b"\xED\xA0\x80",
    "원".as_bytes(),
    "합계".as_bytes(),
    "２０２６".as_bytes(),
    b"2026-02-30",
    b"9999-12-31",
    b"0000-01-01",
    b"2026-11-20T25:61:00+09:00",
];

/// A small deterministic random source (SplitMix64): the same seed gives the same inputs.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Makes inputs from valid ones.
#[derive(Debug, Clone)]
pub struct Mutator {
    rng: Rng,
    dictionary: Vec<Vec<u8>>,
    max_len: usize,
}

impl Mutator {
    /// A mutator drawing from `rng`, splicing `dictionary` words, making inputs of at most
    /// `max_len` bytes.
    pub fn new(rng: Rng, dictionary: Vec<Vec<u8>>, max_len: usize) -> Mutator {
        Mutator {
            rng,
            dictionary,
            max_len,
        }
    }

    /// The random source.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// `base` with one to eight edits; `other` is spliced in by some of them.
    pub fn mutate(&mut self, base: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = base.to_vec();
        let edits = 1 + self.rng.below(8);
        for _ in 0..edits {
            self.edit(&mut out, other);
        }
        out.truncate(self.max_len);
        out
    }

    fn position(&mut self, bytes: &[u8]) -> usize {
        self.rng.below(bytes.len() + 1)
    }

    fn edit(&mut self, out: &mut Vec<u8>, other: &[u8]) {
        match self.rng.below(10) {
            // A random byte changed.
            0 if !out.is_empty() => {
                let at = self.rng.below(out.len());
                out[at] = self.rng.next_u64() as u8;
            }
            // A bit flipped.
            1 if !out.is_empty() => {
                let at = self.rng.below(out.len());
                out[at] ^= 1 << self.rng.below(8);
            }
            // A run deleted.
            2 if !out.is_empty() => {
                let at = self.rng.below(out.len());
                let len = 1 + self.rng.below((out.len() - at).min(64));
                out.drain(at..at + len);
            }
            // A run repeated (long lines, many rows).
            3 if !out.is_empty() => {
                let at = self.rng.below(out.len());
                let len = 1 + self.rng.below((out.len() - at).min(256));
                let run = out[at..at + len].to_vec();
                let times = 1 + self.rng.below(64);
                let insert_at = self.position(out);
                let repeated: Vec<u8> = run
                    .iter()
                    .copied()
                    .cycle()
                    .take(run.len() * times)
                    .collect();
                out.splice(insert_at..insert_at, repeated);
            }
            // A token of digits replaced by an interesting value.
            4 | 5 => {
                let word = self.word();
                match digit_run(out, self.rng.below(out.len().max(1))) {
                    Some((start, end)) => {
                        out.splice(start..end, word);
                    }
                    None => {
                        let at = self.position(out);
                        out.splice(at..at, word);
                    }
                }
            }
            // A dictionary word inserted.
            6 | 7 => {
                let word = self.word();
                let at = self.position(out);
                out.splice(at..at, word);
            }
            // A piece of the other input spliced in.
            8 if !other.is_empty() => {
                let from = self.rng.below(other.len());
                let len = 1 + self.rng.below((other.len() - from).min(512));
                let at = self.position(out);
                out.splice(at..at, other[from..from + len].iter().copied());
            }
            // Cut short.
            _ => {
                let at = self.position(out);
                out.truncate(at);
            }
        }
    }

    fn word(&mut self) -> Vec<u8> {
        let at = self.rng.below(self.dictionary.len());
        self.dictionary.get(at).cloned().unwrap_or_default()
    }
}

/// The run of ASCII digits around `at`, if `at` is in one (or just after one).
fn digit_run(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let from = bytes.iter().skip(at).position(u8::is_ascii_digit)? + at;
    let end = bytes[from..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .map_or(bytes.len(), |n| from + n);
    let start = bytes[..from]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |n| n + 1);
    Some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs_and_every_input_is_bounded() {
        let make = || {
            let mut m = Mutator::new(Rng::new(7), vec![b"xyz".to_vec()], 100);
            (0..200)
                .map(|_| m.mutate(b"date,amount\n2026-11-01,12300\n", b"other"))
                .collect::<Vec<_>>()
        };
        let first = make();
        assert_eq!(first, make());
        assert!(first.iter().all(|i| i.len() <= 100));
        assert!(
            first
                .iter()
                .any(|i| i != b"date,amount\n2026-11-01,12300\n")
        );
    }

    #[test]
    fn a_digit_run_is_found_whole() {
        assert_eq!(digit_run(b"ab 12345 cd", 4), Some((3, 8)));
        assert_eq!(digit_run(b"ab 12345 cd", 0), Some((3, 8)));
        assert_eq!(digit_run(b"abc", 0), None);
    }
}
