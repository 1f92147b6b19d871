//! `--hlog`: the HdrHistogram interval log (V2 compressed, base64), one tag per series
//! (`connect`, `rtt`, `accept`; per request `ttfb`, `ttfb_sent`, `response`, `response_sent`), readable by HdrHistogram tools and mergeable exactly.

use std::io::Write;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};

/// Collects (start offset, length, tag, histogram) intervals; written at the end.
#[derive(Default)]
pub struct HlogBuffer {
    entries: Vec<(Duration, Duration, &'static str, Histogram<u64>)>,
}

impl HlogBuffer {
    pub fn push(&mut self, start: Duration, len: Duration, tag: &'static str, h: &Histogram<u64>) {
        if !h.is_empty() {
            self.entries.push((start, len, tag, h.clone()));
        }
    }

    /// Writes the log to `w`; `started` is the run's wall-clock start.
    pub fn write(&self, w: &mut impl Write, started: SystemTime) -> Result<(), String> {
        let mut ser = V2DeflateSerializer::new();
        let mut builder = IntervalLogWriterBuilder::new();
        builder.add_comment(
            "threeway latency, ns; tags: connect rtt accept ttfb ttfb_sent response response_sent",
        );
        builder.with_start_time(started);
        builder.with_base_time(started);
        builder.with_max_value_divisor(1e6);
        let mut log = builder
            .begin_log_with(w, &mut ser)
            .map_err(|e| format!("hlog: {e}"))?;
        for (start, len, tag, h) in &self.entries {
            log.write_histogram(h, *start, *len, Tag::new(tag))
                .map_err(|e| format!("hlog: {e:?}"))?;
        }
        Ok(())
    }
}

/// One interval of a log read back: its tag ("" when untagged), start offset and length in
/// seconds, and its histogram.
pub struct LoggedInterval {
    pub tag: String,
    pub start_s: f64,
    pub len_s: f64,
    pub hist: Histogram<u64>,
}

/// Reads an HdrHistogram interval log (V2 compressed, base64; what `--hlog` writes).
pub fn read(path: &std::path::Path) -> Result<Vec<LoggedInterval>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut de = Deserializer::new();
    let mut out = Vec::new();
    for (n, entry) in IntervalLogIterator::new(&bytes).enumerate() {
        let what = || format!("{} entry {n}", path.display());
        let entry = entry.map_err(|e| format!("{}: not an interval log ({e:?})", what()))?;
        let LogEntry::Interval(iv) = entry else {
            continue;
        };
        let raw = base64_decode(iv.encoded_histogram())
            .ok_or_else(|| format!("{}: histogram is not valid base64", what()))?;
        let hist: Histogram<u64> = de
            .deserialize(&mut raw.as_slice())
            .map_err(|e| format!("{}: cannot decode histogram ({e:?})", what()))?;
        out.push(LoggedInterval {
            tag: iv.tag().map_or(String::new(), |t| t.as_str().to_string()),
            start_s: iv.start_timestamp().as_secs_f64(),
            len_s: iv.duration().as_secs_f64(),
            hist,
        });
    }
    Ok(out)
}

/// Standard base64 (with or without padding); None on any other character.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim().trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let n = chunk
            .iter()
            .try_fold(0u32, |acc, &c| Some(acc << 6 | val(c)?))?;
        let n = n << (6 * (4 - chunk.len()));
        let bytes = n.to_be_bytes();
        match chunk.len() {
            4 => out.extend_from_slice(&bytes[1..4]),
            3 => out.extend_from_slice(&bytes[1..3]),
            2 => out.push(bytes[1]),
            _ => return None,
        }
    }
    Some(out)
}
