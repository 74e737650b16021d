//! The ad server's own traffic as compressed JSON-lines files in the log format of DOMAIN.md
//! section B (`ts`, `ev`, `mid`, `ads[0].aid/_god/did`, `dev`, `app`, `rev`), so the log
//! analytics read adpool's traffic like any other source.
//!
//! Serving never waits for the disk: a request appends its events to a shared buffer (a short
//! lock, no thread wake-up) that one writer thread takes every 50 ms; when the buffer holds more
//! than its bound the events are counted as dropped, never block a query. The
//! writer gzips into a hidden file and renames it into place when it rolls (by size, by age, or
//! when the KST day of the events changes),
//! so a reader never sees a half-written file:
//! `FOLDER/org-<id>/YYYY-MM-DD/adpool-<start ms>-<pid>-<seq>.jsonl.gz`, one folder per adpool
//! organization, so each organization's log analytics reads only its own traffic
//! (the KST date of the first event).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adpool_core::BusinessDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

/// Events waiting for the writer before new ones are dropped.
const BUFFER_CAPACITY: usize = 500_000;
/// How often the writer takes the buffer.
const WRITER_TICK: Duration = Duration::from_millis(50);

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEvent {
    /// The adpool organization whose traffic it is: its files go to `org-<id>/` (not written
    /// in the line).
    #[serde(skip)]
    pub org: i64,
    /// Unix seconds (UTC).
    pub ts: i64,
    /// `req`, `res`, `psb`, `imp` or `clk`.
    pub ev: &'static str,
    /// Media key (the site).
    pub mid: Arc<str>,
    /// Inventory (placement) id, ad id and demand (advertiser) id; written as the one element
    /// of the `ads` list.
    #[serde(rename = "ads", serialize_with = "as_list")]
    pub ad: LogAd,
    /// Raw device, when the front end sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<Arc<str>>,
    /// Raw app type, when the front end sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<Arc<str>>,
    /// Revenue in won (what a click was charged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rev: Option<i64>,
}

fn as_list<S: serde::Serializer>(ad: &LogAd, serializer: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&[ad], serializer)
}

/// The ids of an event's ad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LogAd {
    /// Inventory id: the placement.
    pub aid: i64,
    /// Ad id.
    #[serde(rename = "_god")]
    pub god: i64,
    /// Demand id: the advertiser.
    pub did: i64,
}

/// When a file is closed and a new one begun.
#[derive(Debug, Clone, Copy)]
pub struct RollPolicy {
    /// Uncompressed bytes per file.
    pub max_bytes: u64,
    /// Age of a file.
    pub max_age: Duration,
}

impl Default for RollPolicy {
    fn default() -> Self {
        RollPolicy {
            max_bytes: 64 * 1024 * 1024,
            max_age: Duration::from_secs(300),
        }
    }
}

/// Handle to the writer thread.
#[derive(Debug)]
pub struct EventLog {
    buffer: Arc<Mutex<Vec<LogEvent>>>,
    /// Taken by [`EventLog::close`]; the writer ends when it is gone.
    sender: Mutex<Option<SyncSender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    closed: AtomicBool,
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    folder: PathBuf,
}

enum Command {
    Roll(SyncSender<()>),
}

impl EventLog {
    /// Starts a writer into `folder` (created when missing).
    pub fn start(folder: &Path, policy: RollPolicy) -> std::io::Result<EventLog> {
        std::fs::create_dir_all(folder)?;
        let (sender, receiver) = sync_channel(4);
        let written = Arc::new(AtomicU64::new(0));
        let buffer: Arc<Mutex<Vec<LogEvent>>> = Arc::default();
        let writer = {
            let folder = folder.to_owned();
            let written = written.clone();
            let buffer = buffer.clone();
            std::thread::Builder::new()
                .name("adpool-event-log".into())
                .spawn(move || run_writer(&folder, policy, &receiver, &buffer, &written))?
        };
        Ok(EventLog {
            buffer,
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            closed: AtomicBool::new(false),
            dropped: Arc::new(AtomicU64::new(0)),
            written,
            folder: folder.to_owned(),
        })
    }

    /// Queues an event; never blocks.
    pub fn log(&self, event: LogEvent) {
        self.log_all(vec![event]);
    }

    /// Queues the events of one request together; never blocks on the disk.
    pub fn log_all(&self, events: Vec<LogEvent>) {
        let mut buffer = self.buffer.lock().unwrap_or_else(PoisonError::into_inner);
        if buffer.len() + events.len() > BUFFER_CAPACITY || self.closed.load(Ordering::Relaxed) {
            drop(buffer);
            self.dropped
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            return;
        }
        buffer.extend(events);
    }

    /// Closes the current file now (waits until it is in place).
    pub fn roll(&self) {
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(sender) = sender else { return };
        let (done, wait) = sync_channel(1);
        if sender.send(Command::Roll(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    /// Events dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Events written.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// The folder files go to.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

impl EventLog {
    /// Stops taking events, then waits for the writer to put its last file in place (blocks;
    /// events logged afterwards are counted as dropped).
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.sender
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        self.close();
    }
}

struct OpenFile {
    encoder: GzEncoder<BufWriter<File>>,
    hidden: PathBuf,
    target: PathBuf,
    opened: Instant,
    bytes: u64,
    date: BusinessDate,
    pending: Vec<u8>,
}

fn run_writer(
    folder: &Path,
    policy: RollPolicy,
    receiver: &Receiver<Command>,
    buffer: &Mutex<Vec<LogEvent>>,
    written: &AtomicU64,
) {
    let mut open: HashMap<i64, OpenFile> = HashMap::new();
    let mut sequence = 0u64;
    let mut line = Vec::with_capacity(512);
    let mut batch: Vec<LogEvent> = Vec::new();
    loop {
        let command = receiver.recv_timeout(WRITER_TICK);
        std::mem::swap(
            &mut batch,
            &mut buffer.lock().unwrap_or_else(PoisonError::into_inner),
        );
        for event in batch.drain(..) {
            write_event(
                folder,
                policy,
                &mut open,
                &mut sequence,
                &mut line,
                &event,
                written,
            );
        }
        match command {
            Ok(Command::Roll(done)) => {
                open.drain().for_each(|(_, f)| close(Some(f)));
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => {
                let old: Vec<i64> = open
                    .iter()
                    .filter(|(_, f)| f.opened.elapsed() >= policy.max_age)
                    .map(|(org, _)| *org)
                    .collect();
                for org in old {
                    close(open.remove(&org));
                }
            }
            Err(RecvTimeoutError::Disconnected) => {
                open.drain().for_each(|(_, f)| close(Some(f)));
                return;
            }
        }
    }
}

/// Appends one event to its organization's open file (opening or rolling it as needed).
fn write_event(
    folder: &Path,
    policy: RollPolicy,
    open: &mut HashMap<i64, OpenFile>,
    sequence: &mut u64,
    line: &mut Vec<u8>,
    event: &LogEvent,
    written: &AtomicU64,
) {
    // One file never spans two KST days, nor grows past the size limit.
    let date = BusinessDate::from_utc_millis(event.ts.saturating_mul(1000));
    if open
        .get(&event.org)
        .is_some_and(|f| f.date != date || f.bytes >= policy.max_bytes)
    {
        close(open.remove(&event.org));
    }
    if let std::collections::hash_map::Entry::Vacant(slot) = open.entry(event.org) {
        *sequence += 1;
        match open_file(&folder.join(format!("org-{}", event.org)), event, *sequence) {
            Ok(file) => {
                slot.insert(file);
            }
            Err(error) => {
                tracing::error!(%error, folder = %folder.display(), "event log: cannot open a file; event lost");
                return;
            }
        }
    }
    if let Some(file) = open.get_mut(&event.org) {
        line.clear();
        if serde_json::to_writer(&mut *line, event).is_err() {
            return;
        }
        line.push(b'\n');
        // Lines reach the compressor in 64 KB chunks: one small write per event costs more.
        file.pending.extend_from_slice(line);
        file.bytes += line.len() as u64;
        written.fetch_add(1, Ordering::Relaxed);
        if file.pending.len() >= 64 * 1024 {
            if let Err(error) = file.encoder.write_all(&file.pending) {
                tracing::error!(%error, "event log: write failed");
            }
            file.pending.clear();
        }
    }
}

fn open_file(folder: &Path, first: &LogEvent, sequence: u64) -> std::io::Result<OpenFile> {
    let date = BusinessDate::from_utc_millis(first.ts.saturating_mul(1000));
    let day = folder.join(date.to_string());
    std::fs::create_dir_all(&day)?;
    let name = format!(
        "adpool-{}-{}-{sequence:06}.jsonl.gz",
        first.ts.saturating_mul(1000),
        std::process::id()
    );
    let hidden = day.join(format!(".{name}.part"));
    let file = File::create(&hidden)?;
    Ok(OpenFile {
        encoder: GzEncoder::new(BufWriter::new(file), Compression::fast()),
        hidden,
        target: day.join(name),
        opened: Instant::now(),
        bytes: 0,
        date,
        pending: Vec::with_capacity(80 * 1024),
    })
}

fn close(file: Option<OpenFile>) {
    let Some(mut file) = file else { return };
    let result = file
        .encoder
        .write_all(&file.pending)
        .and_then(|()| file.encoder.finish())
        .and_then(|mut inner| inner.flush().map(|()| inner))
        .and_then(|inner| inner.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&file.hidden, &file.target));
    if let Err(error) = result {
        tracing::error!(%error, file = %file.target.display(), "event log: closing a file failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn event(ts: i64, ev: &'static str) -> LogEvent {
        LogEvent {
            org: 1,
            ts,
            ev,
            mid: "shop".into(),
            ad: LogAd {
                aid: 3,
                god: 42,
                did: 7,
            },
            dev: Some("mobile".into()),
            app: None,
            rev: (ev == "clk").then_some(180),
        }
    }

    fn read_all(folder: &Path) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        for day in std::fs::read_dir(folder.join("org-1"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for file in std::fs::read_dir(day.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                let mut text = String::new();
                let _ = flate2::read::GzDecoder::new(File::open(file.path()).expect("open"))
                    .read_to_string(&mut text);
                files.push((file.path(), text));
            }
        }
        files.sort();
        files
    }

    #[test]
    fn events_become_gzipped_json_lines_rolled_by_size() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = EventLog::start(
            dir.path(),
            RollPolicy {
                max_bytes: 300,
                max_age: Duration::from_secs(60),
            },
        )
        .expect("start");
        // 2026-11-20 23:30 UTC is 2026-11-21 in KST.
        let ts = 1_763_681_400;
        for i in 0..6 {
            log.log(event(ts + i, if i == 5 { "clk" } else { "imp" }));
        }
        drop(log);
        let files = read_all(dir.path());
        assert!(files.len() >= 2, "rolled by size: {files:?}");
        assert!(files.iter().all(|(p, _)| {
            p.to_string_lossy().contains("2025-11-21") && p.to_string_lossy().ends_with(".jsonl.gz")
        }));
        let lines: Vec<serde_json::Value> = files
            .iter()
            .flat_map(|(_, text)| text.lines().map(|l| serde_json::from_str(l).expect("json")))
            .collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[0],
            serde_json::json!({"ts": ts, "ev": "imp", "mid": "shop", "ads": [{"aid": 3, "_god": 42, "did": 7}], "dev": "mobile"})
        );
        assert_eq!(lines[5]["rev"], 180);
    }

    #[test]
    fn roll_puts_the_current_file_in_place_and_hides_nothing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = EventLog::start(dir.path(), RollPolicy::default()).expect("start");
        log.log(event(1_763_681_400, "req"));
        log.roll();
        let files = read_all(dir.path());
        assert_eq!(files.len(), 1);
        assert!(
            !files[0]
                .0
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .starts_with('.')
        );
        assert_eq!(log.written(), 1);
        assert_eq!(log.dropped(), 0);
    }
}
