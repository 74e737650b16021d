//! `adpool-fuzz`: fuzzing for every importer and parser that reads input from outside adpool
//! (forecast CSV/XLSX, catalog JSON, log lines and compressed streams, card statements, shop
//! API pages and exports, click tokens). The targets live in `tests/`, one per input kind; this
//! library is the fuzzer they share:
//!
//! - [`Fuzzer::run`] replays the target's regression inputs (`regressions/<target>/`), then
//!   mutates valid seed inputs (byte edits, splices, interesting values, and for XLSX the XML
//!   inside the zip) until its time budget is spent;
//! - a panic in the target is a crash: the input is saved under the cargo target dir and the
//!   test fails naming the file; copy it into `regressions/<target>/` with the fix so it is
//!   replayed on every run from then on;
//! - a watchdog thread aborts with the input's path when one input runs longer than
//!   [`CASE_SECONDS`] (a hang) or the process holds more than [`MEMORY_LIMIT`] bytes (unbounded
//!   memory); an allocation too big to make aborts at once, and leaves the input that was
//!   running in `$TMPDIR/adpool-fuzz-crashes/<target>.current`.
//!
//! Stable Rust has no coverage-guided fuzzer, so this is a mutation fuzzer with a
//! deterministic seed (printed, and set with `ADPOOL_FUZZ_SEED`): a failure found once is found
//! again. `ADPOOL_FUZZ_SECONDS` sets the budget per target (default 2; CI gives each 15).

mod mutate;

use std::io::{Cursor, Read, Write};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use mutate::{Mutator, Rng};

/// Counts every allocation of a fuzz test binary, so the watchdog can see memory run away.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// The longest one input may run before the watchdog calls it a hang.
pub const CASE_SECONDS: u64 = 30;

/// The most memory the fuzz process may hold before the watchdog calls it unbounded.
pub const MEMORY_LIMIT: usize = 2 << 30;

/// The largest input the mutator makes: bigger inputs teach little and run slowly.
pub const MAX_INPUT: usize = 256 * 1024;

/// A fuzz target's run: its name, its valid seed inputs and its budget.
pub struct Fuzzer {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    dictionary: Vec<Vec<u8>>,
    zip_aware: bool,
    budget: Duration,
    seed: u64,
}

/// What a run did, for the test's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Regression inputs replayed.
    pub regressions: usize,
    /// Mutated inputs run.
    pub cases: u64,
}

impl Fuzzer {
    /// A target named `name` (its regression folder's name) starting from valid `seeds`.
    pub fn new(name: &'static str, seeds: Vec<Vec<u8>>) -> Fuzzer {
        let seconds = std::env::var("ADPOOL_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(2.0);
        let seed = std::env::var("ADPOOL_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or_else(|| {
                name.bytes()
                    .fold(0xadd0_u64, |h, b| h.rotate_left(5) ^ u64::from(b))
            });
        Fuzzer {
            name,
            seeds,
            dictionary: mutate::INTERESTING.iter().map(|s| s.to_vec()).collect(),
            zip_aware: false,
            budget: Duration::from_secs_f64(seconds.max(0.0)),
            seed,
        }
    }

    /// Adds words the format cares about (column names, JSON keys, status codes): the mutator
    /// splices them in, which finds deep paths far sooner than random bytes.
    pub fn dictionary(mut self, words: &[&str]) -> Fuzzer {
        self.dictionary
            .extend(words.iter().map(|w| w.as_bytes().to_vec()));
        self
    }

    /// The inputs are zip files (XLSX): half the mutations edit an entry inside and zip again,
    /// so they reach the XML parser instead of dying at the zip's checksum.
    pub fn zip_aware(mut self) -> Fuzzer {
        self.zip_aware = true;
        self
    }

    /// Runs `target` on every regression input, then on mutated inputs until the budget is
    /// spent. `target` returns normally for any input (an `Err` is a fine answer); a panic,
    /// a hang or runaway memory fails the test.
    pub fn run(self, mut target: impl FnMut(&[u8])) -> RunSummary {
        let watch = Watchdog::start(self.name);
        let regressions = regression_inputs(self.name);
        for (path, input) in &regressions {
            watch.case(input);
            if let Err(message) = catch(&mut target, input) {
                panic!(
                    "fuzz target {}: the regression input {} fails again: {message}",
                    self.name,
                    path.display()
                );
            }
        }
        for seed in &self.seeds {
            watch.case(seed);
            if let Err(message) = catch(&mut target, seed) {
                panic!(
                    "fuzz target {}: a valid seed input panics: {message}",
                    self.name
                );
            }
        }
        let mut mutator = Mutator::new(Rng::new(self.seed), self.dictionary.clone(), MAX_INPUT);
        let started = Instant::now();
        let mut cases = 0u64;
        while started.elapsed() < self.budget && !self.seeds.is_empty() {
            let base = &self.seeds[mutator.rng().below(self.seeds.len())];
            let other = &self.seeds[mutator.rng().below(self.seeds.len())];
            let input = if self.zip_aware && mutator.rng().below(2) == 0 {
                mutate_zip_entry(&mut mutator, base).unwrap_or_else(|| mutator.mutate(base, other))
            } else {
                mutator.mutate(base, other)
            };
            watch.case(&input);
            cases += 1;
            if let Err(message) = catch(&mut target, &input) {
                let saved = save_crash(self.name, &input);
                panic!(
                    "fuzz target {} crashed on case {cases} (seed {}): {message}\n\
                     the input is saved at {}; fix the cause, then copy the file into \
                     crates/fuzz/regressions/{}/ so it is replayed on every run",
                    self.name,
                    self.seed,
                    saved.display(),
                    self.name
                );
            }
        }
        watch.stop();
        eprintln!(
            "fuzz target {}: {} regression inputs, {} seeds, {cases} mutated inputs in {:.1}s (seed {})",
            self.name,
            regressions.len(),
            self.seeds.len(),
            started.elapsed().as_secs_f64(),
            self.seed
        );
        RunSummary {
            regressions: regressions.len(),
            cases,
        }
    }
}

fn catch(target: &mut impl FnMut(&[u8]), input: &[u8]) -> Result<(), String> {
    std::panic::catch_unwind(AssertUnwindSafe(|| target(input))).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// The folder of a target's regression inputs, in the source tree.
pub fn regression_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(name)
}

fn regression_inputs(name: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(regression_dir(name)) else {
        return Vec::new();
    };
    let mut inputs: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect();
    inputs.sort();
    inputs
}

fn crash_dir() -> PathBuf {
    std::env::temp_dir().join("adpool-fuzz-crashes")
}

fn save_crash(name: &str, input: &[u8]) -> PathBuf {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = crash_dir().join(format!("{name}-{hash:016x}"));
    let _ = std::fs::create_dir_all(crash_dir());
    let _ = std::fs::write(&path, input);
    path
}

/// Edits one entry of a zip (an XLSX part) and zips it again; `None` when `bytes` is no zip.
fn mutate_zip_entry(mutator: &mut Mutator, bytes: &[u8]) -> Option<Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let target = mutator.rng().below(archive.len().max(1));
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).ok()?;
        let name = entry.name().ok()?.into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).ok()?;
        if index == target {
            content = mutator.mutate(&content, &content.clone());
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .ok()?;
        out.write_all(&content).ok()?;
    }
    out.finish().ok().map(Cursor::into_inner)
}

/// Watches the running input: too long or too much memory aborts the process, after writing
/// the input where the message says.
struct Watchdog {
    current_file: PathBuf,
    current: Option<std::fs::File>,
    started_millis: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
    epoch: Instant,
}

impl Watchdog {
    fn start(name: &'static str) -> Watchdog {
        let started_millis = Arc::new(AtomicU64::new(u64::MAX));
        let done = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        // The running input lives in this file (the watchdog saves it from there).
        let _ = std::fs::create_dir_all(crash_dir());
        let current_file = crash_dir().join(format!("{name}.current"));
        let (started, current, finished) =
            (started_millis.clone(), current_file.clone(), done.clone());
        std::thread::spawn(move || {
            while !finished.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let since = started.load(Ordering::Relaxed);
                let now = epoch.elapsed().as_millis() as u64;
                let problem =
                    if since != u64::MAX && now.saturating_sub(since) > CASE_SECONDS * 1000 {
                        Some(format!(
                            "one input ran longer than {CASE_SECONDS}s (a hang)"
                        ))
                    } else if ALLOCATOR.allocated() > MEMORY_LIMIT {
                        Some(format!(
                            "the process holds {} MiB, over the {} MiB limit (unbounded memory)",
                            ALLOCATOR.allocated() >> 20,
                            MEMORY_LIMIT >> 20
                        ))
                    } else {
                        None
                    };
                if let Some(problem) = problem {
                    let bytes = std::fs::read(&current).unwrap_or_default();
                    let saved = save_crash(name, &bytes);
                    eprintln!(
                        "fuzz target {name}: {problem}; the input is saved at {}",
                        saved.display()
                    );
                    std::process::abort();
                }
            }
        });
        Watchdog {
            current: std::fs::File::create(&current_file).ok(),
            current_file,
            started_millis,
            done,
            epoch,
        }
    }

    fn case(&self, input: &[u8]) {
        // A failed allocation aborts the process before anything can save the input, so the
        // running input is always on disk (one open file, rewritten in place).
        if let Some(file) = &self.current {
            use std::os::unix::fs::FileExt;
            let _ = file.set_len(input.len() as u64);
            let _ = file.write_all_at(input, 0);
        }
        self.started_millis
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn stop(&self) {
        self.done.store(true, Ordering::Relaxed);
        let _ = std::fs::remove_file(&self.current_file);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Bytes the process holds now (every fuzz test binary counts its allocations).
pub fn allocated_bytes() -> usize {
    ALLOCATOR.allocated()
}
