//! Human units on the command line and in output: k/M/G = 10^3 (tcpkali), durations
//! ns/us/ms/s/m/h with fractions, and compact formatting (`1.23M`, `41.2us`).

use std::time::Duration;

/// "1.5M" -> 1_500_000.0; "250k", "1000", "2G". Errors name the bad input.
pub fn parse_rate(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some('k' | 'K') => (&s[..s.len() - 1], 1e3),
        Some('m' | 'M') => (&s[..s.len() - 1], 1e6),
        Some('g' | 'G') => (&s[..s.len() - 1], 1e9),
        _ => (s, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(v * mult),
        _ => Err(format!("'{s}' is not a rate: use e.g. 500, 20k, 1.5M")),
    }
}

/// A count with the same suffixes ("10k" -> 10000).
pub fn parse_count(s: &str) -> Result<u64, String> {
    let v = parse_rate(s).map_err(|_| format!("'{s}' is not a count: use e.g. 10000 or 10k"))?;
    if v.fract() != 0.0 {
        return Err(format!("'{s}' is not a whole count"));
    }
    Ok(v as u64)
}

/// "500ms", "1.5s", "2m", "1h", "250us" (or "250µs"), "10ns"; a bare number is seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    // The unit starts at the first character that cannot be part of the number ('µ' is
    // not ASCII, so "is alphabetic" would split "250µs" after the 'µ').
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let secs = match unit {
        "" | "s" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "'{s}': unknown duration unit '{unit}' (use ns, us, ms, s, m, h)"
            ));
        }
    };
    match num.parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(Duration::from_secs_f64(v * secs)),
        _ => Err(format!("'{s}' is not a duration: use e.g. 500ms, 30s, 2m")),
    }
}

/// 1234567.0 -> "1.23M", 998700.0 -> "998.7k", 12.0 -> "12".
pub fn fmt_si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Nanoseconds with a unit: "812ns", "41.2us", "1.21ms", "3.02s".
pub fn fmt_ns(ns: u64) -> String {
    let v = ns as f64;
    if ns < 1_000 {
        format!("{ns}ns")
    } else if ns < 1_000_000 {
        format!("{:.1}us", v / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.2}ms", v / 1e6)
    } else {
        format!("{:.2}s", v / 1e9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_counts_durations() {
        assert_eq!(parse_rate("1.5M").unwrap(), 1_500_000.0);
        assert_eq!(parse_rate("20k").unwrap(), 20_000.0);
        assert_eq!(parse_rate("0").unwrap(), 0.0);
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("-1").is_err());
        assert_eq!(parse_count("10k").unwrap(), 10_000);
        assert!(parse_count("1.5").is_err());
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(3));
        assert!(parse_duration("3 parsecs").is_err());
        assert_eq!(parse_duration("250µs").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("250us").unwrap(), Duration::from_micros(250));
        assert_eq!(parse_duration("1.5µs").unwrap(), Duration::from_nanos(1500));
        assert!(parse_duration("µs").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_si(1_234_567.0), "1.23M");
        assert_eq!(fmt_si(998_700.0), "998.7k");
        assert_eq!(fmt_si(12.0), "12");
        assert_eq!(fmt_ns(812), "812ns");
        assert_eq!(fmt_ns(41_200), "41.2us");
        assert_eq!(fmt_ns(1_210_000), "1.21ms");
    }
}
