//! A NIC's RSS state, channels, driver and features, read by running `ethtool` and parsing
//! its text output (no ioctl, no netlink, no `unsafe`): `-x` (hash function, key, indirection
//! table), `-l` (channel counts), `-i` (driver) and `-k` (features: GRO, LRO, ntuple).
//!
//! The parsers take ethtool 6.x output and ignore lines they do not know, so newer sections
//! (`RSS input transformation:`) pass through. Parse errors name the command to run by hand.

use std::collections::BTreeMap;
use std::process::Command;

use super::drivers::{DriverXdp, driver_xdp};
use super::rss::{self, Rss};

/// `ethtool -x IF`: the RSS configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RssConfig {
    /// "with N RX ring(s)".
    pub rx_rings: Option<u32>,
    /// The indirection table; empty when the driver does not report one.
    pub reta: Vec<u16>,
    /// The hash key; None when the driver does not report one.
    pub key: Option<Vec<u8>>,
    /// Hash functions and whether each is on (`toeplitz`, `xor`, `crc32`).
    pub hfuncs: Vec<(String, bool)>,
    /// `RSS input transformation: symmetric-xor` (ethtool 6.8+), when printed.
    pub symmetric_xor: Option<bool>,
}

impl RssConfig {
    /// The hash function that is on, if exactly one is.
    pub fn hfunc(&self) -> Option<&str> {
        let mut on = self.hfuncs.iter().filter(|(_, on)| *on);
        match (on.next(), on.next()) {
            (Some((name, _)), None) => Some(name),
            _ => None,
        }
    }

    /// The key and table for the port chooser; an error says why the NIC's hash cannot be
    /// predicted and what to change.
    pub fn to_rss(&self) -> Result<Rss, String> {
        match self.hfunc() {
            Some("toeplitz") => {}
            other => {
                return Err(format!(
                    "RSS hash function is {}, not toeplitz: set it with \
                     `ethtool -X IF hfunc toeplitz` (or deploy/nic-setup)",
                    other.unwrap_or("not reported")
                ));
            }
        }
        if self.symmetric_xor == Some(true) {
            return Err(
                "RSS input transformation symmetric-xor is on: the hash input is not \
                        the plain tuple; turn it off with `ethtool -X IF xfrm none`"
                    .into(),
            );
        }
        let key = self.key.clone().ok_or(
            "the driver does not report its RSS key: set one with `ethtool -X IF hkey ...`",
        )?;
        Rss::new(key, self.reta.clone()).map_err(|e| e.to_string())
    }
}

/// Parses `ethtool -x IF`.
pub fn parse_rss(text: &str) -> Result<RssConfig, String> {
    #[derive(PartialEq)]
    enum Section {
        None,
        Table,
        Key,
        Hfunc,
        Xfrm,
    }
    let mut cfg = RssConfig::default();
    let mut section = Section::None;
    let mut seen_header = false;
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("RX flow hash indirection table for ") {
            seen_header = true;
            section = Section::Table;
            cfg.rx_rings = rest
                .split(" with ")
                .nth(1)
                .and_then(|r| r.split(' ').next()?.parse().ok());
            continue;
        }
        match t {
            "RSS hash key:" => section = Section::Key,
            "RSS hash function:" => section = Section::Hfunc,
            "RSS input transformation:" => section = Section::Xfrm,
            "" => {}
            _ if t.contains("Operation not supported") => {}
            _ => match section {
                Section::Table => {
                    let (index, entries) = t
                        .split_once(':')
                        .ok_or_else(|| format!("ethtool -x: bad indirection table line '{t}'"))?;
                    let index: usize = index
                        .trim()
                        .parse()
                        .map_err(|_| format!("ethtool -x: bad indirection table index in '{t}'"))?;
                    if index != cfg.reta.len() {
                        return Err(format!(
                            "ethtool -x: indirection table line '{t}' follows entry {}",
                            cfg.reta.len()
                        ));
                    }
                    for e in entries.split_whitespace() {
                        cfg.reta.push(e.parse().map_err(|_| {
                            format!("ethtool -x: bad queue '{e}' in indirection table line '{t}'")
                        })?);
                    }
                }
                Section::Key => {
                    cfg.key = Some(rss::parse_key(t).map_err(|e| format!("ethtool -x: {e}"))?)
                }
                Section::Hfunc | Section::Xfrm => {
                    let (name, state) = t
                        .split_once(':')
                        .ok_or_else(|| format!("ethtool -x: bad hash function line '{t}'"))?;
                    let on = state.trim() == "on";
                    if section == Section::Xfrm {
                        if name.trim() == "symmetric-xor" {
                            cfg.symmetric_xor = Some(on);
                        }
                    } else {
                        cfg.hfuncs.push((name.trim().to_string(), on));
                    }
                }
                Section::None => {}
            },
        }
    }
    if !seen_header {
        return Err(
            "ethtool -x: no 'RX flow hash indirection table' line; is this `ethtool -x` \
                    output?"
                .into(),
        );
    }
    Ok(cfg)
}

/// Channel counts of one column of `ethtool -l` (None = `n/a`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelCounts {
    pub rx: Option<u32>,
    pub tx: Option<u32>,
    pub other: Option<u32>,
    pub combined: Option<u32>,
}

impl ChannelCounts {
    /// Queues that receive: combined plus RX-only channels.
    pub fn rx_queues(&self) -> u32 {
        self.combined.unwrap_or(0) + self.rx.unwrap_or(0)
    }

    /// Queues that send: combined plus TX-only channels.
    pub fn tx_queues(&self) -> u32 {
        self.combined.unwrap_or(0) + self.tx.unwrap_or(0)
    }
}

/// `ethtool -l IF`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Channels {
    pub max: ChannelCounts,
    pub current: ChannelCounts,
}

impl Channels {
    /// Whether the driver sets queues with `ethtool -L IF combined N` (else `rx N tx N`).
    pub fn uses_combined(&self) -> bool {
        self.max.combined.is_some_and(|c| c > 0)
    }
}

/// Parses `ethtool -l IF`.
pub fn parse_channels(text: &str) -> Result<Channels, String> {
    let mut ch = Channels::default();
    let mut col: Option<&mut ChannelCounts> = None;
    let mut seen = 0;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("Pre-set maximums") {
            col = Some(&mut ch.max);
            seen += 1;
            continue;
        }
        if t.starts_with("Current hardware settings") {
            col = Some(&mut ch.current);
            seen += 1;
            continue;
        }
        let (Some(c), Some((name, value))) = (col.as_deref_mut(), t.split_once(':')) else {
            continue;
        };
        let value = value.trim();
        let n = match value {
            "n/a" => None,
            v => Some(
                v.parse()
                    .map_err(|_| format!("ethtool -l: bad count '{v}' in '{t}'"))?,
            ),
        };
        match name {
            "RX" => c.rx = n,
            "TX" => c.tx = n,
            "Other" => c.other = n,
            "Combined" => c.combined = n,
            _ => {}
        }
    }
    if seen != 2 {
        return Err(
            "ethtool -l: expected 'Pre-set maximums' and 'Current hardware settings'; \
                    is this `ethtool -l` output?"
                .into(),
        );
    }
    Ok(ch)
}

/// `ethtool -i IF`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverInfo {
    pub driver: String,
    pub version: String,
    pub firmware: String,
    /// PCI address (`0000:3b:00.0`); empty for virtual devices. mlx5 names its IRQs by it.
    pub bus_info: String,
}

impl DriverInfo {
    /// The driver's XDP / AF_XDP zero-copy support.
    pub fn xdp(&self) -> DriverXdp {
        driver_xdp(&self.driver)
    }
}

/// Parses `ethtool -i IF`.
pub fn parse_driver(text: &str) -> Result<DriverInfo, String> {
    let mut d = DriverInfo::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "driver" => d.driver = v,
            "version" => d.version = v,
            "firmware-version" => d.firmware = v,
            "bus-info" => d.bus_info = v,
            _ => {}
        }
    }
    if d.driver.is_empty() {
        return Err("ethtool -i: no 'driver:' line; is this `ethtool -i` output?".into());
    }
    Ok(d)
}

/// One line of `ethtool -k IF`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Feature {
    pub on: bool,
    /// `[fixed]`: the driver does not let it change.
    pub fixed: bool,
}

/// `ethtool -k IF` (`--show-features`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Features(pub BTreeMap<String, Feature>);

impl Features {
    pub fn get(&self, name: &str) -> Option<Feature> {
        self.0.get(name).copied()
    }

    fn on(&self, name: &str) -> bool {
        self.get(name).is_some_and(|f| f.on)
    }

    /// `generic-receive-offload` (`gro`): merges our SYN-ACKs with nothing, but costs a pass.
    pub fn gro(&self) -> bool {
        self.on("generic-receive-offload")
    }

    /// `large-receive-offload` (`lro`): must be off for XDP.
    pub fn lro(&self) -> bool {
        self.on("large-receive-offload")
    }

    /// `rx-gro-hw` (hardware GRO): must be off for XDP.
    pub fn gro_hw(&self) -> bool {
        self.on("rx-gro-hw")
    }

    /// `ntuple-filters`: needed for `ethtool -N` rules.
    pub fn ntuple(&self) -> bool {
        self.on("ntuple-filters")
    }
}

/// Parses `ethtool -k IF`: `name: on|off [fixed] [requested ...]` lines.
pub fn parse_features(text: &str) -> Result<Features, String> {
    let mut f = BTreeMap::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("Features for"))
    {
        let Some((name, rest)) = line.split_once(": ") else {
            continue;
        };
        let on = match rest.split_whitespace().next() {
            Some("on") => true,
            Some("off") => false,
            _ => continue,
        };
        f.insert(
            name.to_string(),
            Feature {
                on,
                fixed: rest.contains("[fixed]"),
            },
        );
    }
    if f.is_empty() {
        return Err("ethtool -k: no 'name: on|off' lines; is this `ethtool -k` output?".into());
    }
    Ok(Features(f))
}

/// Runs `ethtool ARGS` and returns its stdout; the error names the command and its message.
pub fn run(args: &[&str]) -> Result<String, String> {
    let cmd = format!("ethtool {}", args.join(" "));
    let out = Command::new("ethtool")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{cmd}`: {e} (install it: apt-get install ethtool)"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("`{cmd}` failed: {}", err.trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Everything threeway reads from a NIC at start-up.
#[derive(Clone, Debug)]
pub struct NicInfo {
    pub iface: String,
    pub driver: DriverInfo,
    pub channels: Result<Channels, String>,
    /// Err for drivers without RSS reporting (veth: the hand-off path takes over).
    pub rss: Result<RssConfig, String>,
    pub features: Result<Features, String>,
}

/// Reads driver, channels, RSS and features of `iface`. Only the driver is required: an
/// interface without `ethtool -i` does not exist or is not a network device.
pub fn inspect(iface: &str) -> Result<NicInfo, String> {
    let driver = parse_driver(&run(&["-i", iface])?)?;
    Ok(NicInfo {
        iface: iface.to_string(),
        driver,
        channels: run(&["-l", iface]).and_then(|t| parse_channels(&t)),
        rss: run(&["-x", iface]).and_then(|t| parse_rss(&t)),
        features: run(&["-k", iface]).and_then(|t| parse_features(&t)),
    })
}

#[cfg(test)]
mod tests;
