//! Errors that say what failed and what to do.

use std::fmt;
use std::io;

use super::sys::errno_name;

/// The common shape: "<what> failed: <ERRNO> (<why>); <what to do>".
#[derive(Debug)]
struct Failure {
    what: String,
    source: Option<io::Error>,
    why: Option<String>,
    hint: Option<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.what)?;
        match (&self.source, &self.why) {
            (Some(e), why) => {
                match e.raw_os_error() {
                    Some(n) => write!(f, ": {}", errno_name(n))?,
                    None => write!(f, ": {e}")?,
                }
                match why {
                    Some(w) => write!(f, " ({w})")?,
                    None if e.raw_os_error().is_some() => {
                        let text = e.to_string();
                        let text = text.split(" (os error").next().unwrap_or_default();
                        write!(f, " ({text})")?
                    }
                    None => {}
                }
            }
            (None, Some(w)) => write!(f, ": {w}")?,
            (None, None) => {}
        }
        if let Some(h) = &self.hint {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

const ROOT_HINT: &str = "run as root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)";

/// Hint for errors every setup step can hit.
fn generic_hint(errno: Option<i32>) -> Option<String> {
    match errno {
        Some(libc::EPERM) | Some(libc::EACCES) => Some(ROOT_HINT.into()),
        _ => None,
    }
}

/// An AF_XDP socket operation failed.
#[derive(Debug)]
pub struct XskError {
    inner: Failure,
    dead_device: bool,
}

impl XskError {
    /// `what` failed with `err`; `why` explains the errno here, `hint` says what to do
    /// (EPERM/EACCES get the root hint when none is given).
    pub fn new(
        what: impl Into<String>,
        err: io::Error,
        why: Option<String>,
        hint: Option<String>,
    ) -> Self {
        let hint = hint.or_else(|| generic_hint(err.raw_os_error()));
        XskError {
            inner: Failure {
                what: what.into(),
                source: Some(err),
                why,
                hint,
            },
            dead_device: false,
        }
    }

    /// A failure without an OS error (bad configuration).
    pub fn config(what: impl Into<String>, why: impl Into<String>, hint: Option<String>) -> Self {
        XskError {
            inner: Failure {
                what: what.into(),
                source: None,
                why: Some(why.into()),
                hint,
            },
            dead_device: false,
        }
    }

    pub(crate) fn dead(mut self) -> Self {
        self.dead_device = true;
        self
    }

    /// The OS error number, if the failure came from a syscall.
    pub fn errno(&self) -> Option<i32> {
        self.inner.source.as_ref().and_then(|e| e.raw_os_error())
    }

    /// True when the device went away or stayed down (the caller should exit with code 3).
    pub fn is_dead_device(&self) -> bool {
        self.dead_device
    }
}

impl fmt::Display for XskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for XskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|e| e as _)
    }
}

/// Loading, attaching or configuring the XDP steering program failed.
#[derive(Debug)]
pub struct SteerError {
    inner: Failure,
}

impl SteerError {
    pub fn new(
        what: impl Into<String>,
        err: Option<io::Error>,
        why: Option<String>,
        hint: Option<String>,
    ) -> Self {
        let hint = hint.or_else(|| generic_hint(err.as_ref().and_then(|e| e.raw_os_error())));
        SteerError {
            inner: Failure {
                what: what.into(),
                source: err,
                why,
                hint,
            },
        }
    }

    /// The OS error number, if known.
    pub fn errno(&self) -> Option<i32> {
        self.inner.source.as_ref().and_then(|e| e.raw_os_error())
    }
}

impl fmt::Display for SteerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for SteerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_ref().map(|e| e as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xsk_error_messages() {
        let e = XskError::new(
            "AF_XDP bind on vE queue 3",
            io::Error::from_raw_os_error(libc::EINVAL),
            Some("queue_id >= the device's queue count 2".into()),
            Some("use --queues 2".into()),
        );
        assert_eq!(
            e.to_string(),
            "AF_XDP bind on vE queue 3 failed: EINVAL (queue_id >= the device's queue count 2); use --queues 2"
        );
        let e = XskError::new(
            "AF_XDP socket",
            io::Error::from_raw_os_error(libc::EPERM),
            None,
            None,
        );
        assert_eq!(
            e.to_string(),
            "AF_XDP socket failed: EPERM (Operation not permitted); \
             run as root (CAP_NET_ADMIN, CAP_BPF, CAP_NET_RAW)"
        );
        assert_eq!(e.errno(), Some(libc::EPERM));
    }
}
