//! Reading a log object: plain, gzip or zstd JSON lines, decided by the key's ending. A broken
//! compressed stream is an error like a malformed line: the whole file is refused.

use std::io::{BufRead, BufReader, Read};

/// How an object's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `*.jsonl`
    None,
    /// `*.jsonl.gz`
    Gzip,
    /// `*.jsonl.zst`
    Zstd,
}

impl Compression {
    /// From the key's ending; `None` for files that are not logs (skipped and listed).
    pub fn of_key(key: &str) -> Option<Compression> {
        if key.ends_with(".jsonl") {
            Some(Compression::None)
        } else if key.ends_with(".jsonl.gz") {
            Some(Compression::Gzip)
        } else if key.ends_with(".jsonl.zst") {
            Some(Compression::Zstd)
        } else {
            None
        }
    }
}

/// The longest line read: a real event is well under a kilobyte, and a stream with no line
/// breaks (or a decompression bomb) must not be read into one unbounded string.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// A problem at a line of a file (line 0: the stream itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number, 0 when the stream could not be read.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Calls `each` with every non-empty line of `bytes` (1-based line numbers); the first error
/// from the stream or from `each` stops it.
pub fn for_each_line(
    bytes: &[u8],
    compression: Compression,
    mut each: impl FnMut(u64, &str) -> Result<(), String>,
) -> Result<(), LineError> {
    let reader: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(bytes),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Compression::Zstd => Box::new(ruzstd::decoding::StreamingDecoder::new(bytes).map_err(
            |e| LineError {
                line: 0,
                reason: format!("not a zstd stream: {e}"),
            },
        )?),
    };
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_LINE_BYTES + 1)
            .read_line(&mut line)
            .map_err(|e| LineError {
                line: number + 1,
                reason: format!("the compressed stream is broken: {e}"),
            })?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        if read as u64 > MAX_LINE_BYTES {
            return Err(LineError {
                line: number,
                reason: format!("the line is longer than {MAX_LINE_BYTES} bytes"),
            });
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        each(number, text).map_err(|reason| LineError {
            line: number,
            reason,
        })?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).unwrap_or_default();
        encoder.finish().unwrap_or_default()
    }

    fn lines(bytes: &[u8], compression: Compression) -> Result<Vec<(u64, String)>, LineError> {
        let mut out = Vec::new();
        for_each_line(bytes, compression, |n, l| {
            out.push((n, l.to_owned()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn a_line_without_an_end_is_refused_at_the_limit_not_read_whole() {
        // A gzip bomb: 64 MiB of one line compresses to about 64 KiB.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..64 {
            encoder.write_all(&chunk).unwrap_or_default();
        }
        let bomb = encoder.finish().unwrap_or_default();
        assert!(bomb.len() < 1 << 20);
        let error = lines(&bomb, Compression::Gzip).err();
        assert_eq!(
            error.map(|e| (e.line, e.reason)),
            Some((1, format!("the line is longer than {MAX_LINE_BYTES} bytes")))
        );
        let exact = format!("{}\nnext", "b".repeat(MAX_LINE_BYTES as usize - 1));
        assert_eq!(
            lines(exact.as_bytes(), Compression::None).map(|l| l.len()),
            Ok(2)
        );
    }

    #[test]
    fn every_compression_reads_the_same_lines() {
        let text = "a\n\nb\r\nc";
        let expected = vec![
            (1, "a".to_owned()),
            (3, "b".to_owned()),
            (4, "c".to_owned()),
        ];
        assert_eq!(
            lines(text.as_bytes(), Compression::None),
            Ok(expected.clone())
        );
        assert_eq!(lines(&gzip(text), Compression::Gzip), Ok(expected.clone()));
        let zstd = ruzstd::encoding::compress_to_vec(
            text.as_bytes(),
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        assert_eq!(lines(&zstd, Compression::Zstd), Ok(expected));
        assert_eq!(Compression::of_key("a/b.jsonl.gz"), Some(Compression::Gzip));
        assert_eq!(Compression::of_key("a/b.csv"), None);
    }

    #[test]
    fn a_broken_stream_and_a_bad_line_are_errors_with_their_line() {
        let mut broken = gzip("a\nb\nc\n");
        broken.truncate(broken.len() - 6);
        assert!(lines(&broken, Compression::Gzip).is_err());
        assert!(lines(b"garbage", Compression::Zstd).is_err());
        let error = for_each_line(b"ok\nbad\n", Compression::None, |_, l| {
            if l == "bad" {
                Err("bad line".into())
            } else {
                Ok(())
            }
        })
        .expect_err("the second line is bad");
        assert_eq!(
            error,
            LineError {
                line: 2,
                reason: "bad line".into()
            }
        );
    }
}
