//! `--hlog`: the HdrHistogram interval log (V2 compressed, base64), one tag per series
//! (`connect`, `rtt`, `accept`), readable by HdrHistogram tools and mergeable exactly.

use std::io::Write;
use std::time::{Duration, SystemTime};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

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
        builder.add_comment("threeway handshake latency, ns; tags: connect rtt accept");
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
