//! Network interface facts (index, MAC, queue counts) and network namespaces.
//!
//! Index, MAC and queue counts are read with ioctls on a socket created by the calling
//! thread, so they answer for the thread's current network namespace (after `enter_netns`);
//! `/sys/class/net` shows the namespace sysfs was mounted in and is only a fallback.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::XskError;

fn not_found(name: &str, err: io::Error) -> XskError {
    XskError::new(
        format!("looking up interface {name}"),
        err,
        Some("no such interface in this network namespace".into()),
        Some("check the name with `ip link` (and the namespace: `ip netns`)".into()),
    )
}

fn c_name(name: &str) -> Result<CString, XskError> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(XskError::config(
            format!("interface name {name:?}"),
            format!("must be 1 to {} bytes", libc::IFNAMSIZ - 1),
            None,
        ));
    }
    CString::new(name)
        .map_err(|_| XskError::config(format!("interface name {name:?}"), "contains NUL", None))
}

/// The interface index of `name` in the calling thread's network namespace.
pub fn index(name: &str) -> Result<u32, XskError> {
    let c = c_name(name)?;
    // Safety: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(not_found(name, io::Error::last_os_error()));
    }
    Ok(idx)
}

/// `struct ifreq` (40 bytes on 64-bit Linux) with the union viewed as a hardware address.
#[repr(C)]
struct IfReqHwaddr {
    name: [u8; libc::IFNAMSIZ],
    hwaddr: libc::sockaddr,
    _pad: [u8; 8],
}

/// `struct ifreq` with the union viewed as `ifr_data`.
#[repr(C)]
struct IfReqData {
    name: [u8; libc::IFNAMSIZ],
    data: *mut libc::c_void,
    _pad: [u8; 16],
}

/// `struct ethtool_channels`.
#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

const ETHTOOL_GCHANNELS: u32 = 0x3c;

fn ioctl_socket() -> io::Result<OwnedFd> {
    // Safety: plain syscall with constant arguments.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // Safety: `fd` was just returned by socket(2) and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn name_bytes(name: &str) -> [u8; libc::IFNAMSIZ] {
    let mut out = [0u8; libc::IFNAMSIZ];
    out[..name.len()].copy_from_slice(name.as_bytes()); // length checked by c_name
    out
}

/// The MAC address of `name`.
pub fn mac(name: &str) -> Result<[u8; 6], XskError> {
    c_name(name)?;
    let sock =
        ioctl_socket().map_err(|e| XskError::new("socket for SIOCGIFHWADDR", e, None, None))?;
    // Safety: IfReqHwaddr is plain integers; all-zero is a valid value.
    let mut req: IfReqHwaddr = unsafe { std::mem::zeroed() };
    req.name = name_bytes(name);
    // Safety: `req` is a live, correctly sized `struct ifreq`; SIOCGIFHWADDR writes only
    // within it.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFHWADDR,
            &mut req as *mut IfReqHwaddr,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        // Fallback: sysfs (correct when sysfs belongs to the current namespace).
        if let Ok(s) = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
            && let Some(m) = parse_mac(s.trim())
        {
            return Ok(m);
        }
        return Err(not_found(name, err));
    }
    let mut m = [0u8; 6];
    for (o, b) in m.iter_mut().zip(req.hwaddr.sa_data.iter()) {
        *o = *b as u8;
    }
    Ok(m)
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut m = [0u8; 6];
    let mut parts = s.split(':');
    for b in m.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(m)
}

/// `(rx, tx)` queue counts of `name` (ETHTOOL_GCHANNELS: rx + combined, tx + combined;
/// falls back to counting `/sys/class/net/<name>/queues/{rx,tx}-*`).
pub fn queue_count(name: &str) -> Result<(u32, u32), XskError> {
    c_name(name)?;
    let sock =
        ioctl_socket().map_err(|e| XskError::new("socket for SIOCETHTOOL", e, None, None))?;
    let mut ch = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..Default::default()
    };
    let mut req = IfReqData {
        name: name_bytes(name),
        data: (&mut ch as *mut EthtoolChannels).cast(),
        _pad: [0; 16],
    };
    // Safety: `req` is a correctly sized `struct ifreq` whose `ifr_data` points at `ch`, a
    // live `struct ethtool_channels` the kernel fills for ETHTOOL_GCHANNELS.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCETHTOOL,
            &mut req as *mut IfReqData,
        )
    };
    if rc == 0 {
        let rx = ch.rx_count + ch.combined_count;
        let tx = ch.tx_count + ch.combined_count;
        if rx > 0 && tx > 0 {
            return Ok((rx, tx));
        }
    }
    let err = io::Error::last_os_error();
    index(name)?; // a clear error if the interface is not here
    let count = |prefix: &str| -> u32 {
        std::fs::read_dir(format!("/sys/class/net/{name}/queues"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
                    .count() as u32
            })
            .unwrap_or(0)
    };
    match (count("rx-"), count("tx-")) {
        (rx, tx) if rx > 0 && tx > 0 => Ok((rx, tx)),
        _ => Err(XskError::new(
            format!("reading the queue count of {name}"),
            err,
            Some(
                "ETHTOOL_GCHANNELS unsupported and no /sys/class/net entry in this namespace"
                    .into(),
            ),
            Some("pass --queues explicitly".into()),
        )),
    }
}

/// Moves the calling thread into the network namespace `/run/netns/<name>` (as
/// `ip netns exec` would, but for this thread only).
pub fn enter_netns(name: &str) -> io::Result<()> {
    let f = File::open(format!("/run/netns/{name}"))?;
    // Safety: `f` is an open namespace file for the duration of the call; setns only changes
    // the calling thread's network namespace.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsk_iface_loopback_and_parse() {
        assert_eq!(
            parse_mac("02:00:5e:10:00:0a"),
            Some([2, 0, 0x5e, 0x10, 0, 10])
        );
        assert_eq!(parse_mac("02:00"), None);
        assert_eq!(std::mem::size_of::<IfReqHwaddr>(), 40);
        assert_eq!(std::mem::size_of::<IfReqData>(), 40);
        assert!(index("lo").unwrap() >= 1);
        assert_eq!(mac("lo").unwrap(), [0; 6]);
        let e = index("tw-nonexistent0").unwrap_err();
        assert!(e.to_string().contains("no such interface"), "{e}");
    }
}
