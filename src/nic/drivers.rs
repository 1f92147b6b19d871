//! What each Linux driver offers threeway: native (driver-mode) XDP and AF_XDP zero-copy.
//!
//! From notes `afxdp.md` §5 and the drivers' XDP/XSK hooks as of Linux 6.5; newer kernels add
//! zero-copy to more drivers, so a run still confirms its mode with `getsockopt(XDP_OPTIONS)`
//! after binding and prints it. `deploy/nic-setup` carries the same table (a test compares).

/// AF_XDP support of a driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XskMode {
    /// Native XDP and AF_XDP zero-copy: frames are DMAed straight into the UMEM.
    ZeroCopy,
    /// Native XDP, AF_XDP in copy mode only (one copy per frame each way).
    CopyOnly,
    /// Not in the table: expect generic (SKB) XDP at best; try `--xdp-mode native` first.
    Unknown,
}

impl XskMode {
    pub fn as_str(self) -> &'static str {
        match self {
            XskMode::ZeroCopy => "zero-copy",
            XskMode::CopyOnly => "copy",
            XskMode::Unknown => "unknown",
        }
    }
}

/// One row of the driver table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriverXdp {
    /// The name `ethtool -i` prints as `driver:`.
    pub driver: &'static str,
    pub mode: XskMode,
    pub note: &'static str,
}

/// The table. Kernel module names, as `ethtool -i` reports them.
pub const DRIVERS: &[DriverXdp] = &[
    DriverXdp {
        driver: "ice",
        mode: XskMode::ZeroCopy,
        note: "Intel E810",
    },
    DriverXdp {
        driver: "i40e",
        mode: XskMode::ZeroCopy,
        note: "Intel X710/XL710; ntuple rules reportedly stop matching while an XSK is bound",
    },
    DriverXdp {
        driver: "ixgbe",
        mode: XskMode::ZeroCopy,
        note: "Intel 82599/X540/X550",
    },
    DriverXdp {
        driver: "igc",
        mode: XskMode::ZeroCopy,
        note: "Intel I225/I226",
    },
    DriverXdp {
        driver: "mlx5_core",
        mode: XskMode::ZeroCopy,
        note: "NVIDIA ConnectX-4 and later",
    },
    DriverXdp {
        driver: "virtio_net",
        mode: XskMode::CopyOnly,
        note: "VMs; copy mode as of 6.5",
    },
    DriverXdp {
        driver: "ena",
        mode: XskMode::CopyOnly,
        note: "AWS ENA",
    },
    DriverXdp {
        driver: "bnxt_en",
        mode: XskMode::CopyOnly,
        note: "Broadcom NetXtreme-C/E",
    },
    DriverXdp {
        driver: "igb",
        mode: XskMode::CopyOnly,
        note: "Intel I350/I210; copy mode as of 6.5",
    },
    DriverXdp {
        driver: "veth",
        mode: XskMode::CopyOnly,
        note: "no zero-copy, still on 6.18",
    },
];

/// The row for `driver`, or an `Unknown` row for drivers not in the table.
pub fn driver_xdp(driver: &str) -> DriverXdp {
    DRIVERS.iter().copied().find(|d| d.driver == driver).unwrap_or(DriverXdp {
        driver: "",
        mode: XskMode::Unknown,
        note: "driver not in threeway's table: native XDP may be missing (generic mode is slow)",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_copy_and_copy_only_drivers() {
        for d in ["ice", "i40e", "ixgbe", "igc", "mlx5_core"] {
            assert_eq!(driver_xdp(d).mode, XskMode::ZeroCopy, "{d}");
        }
        for d in ["virtio_net", "ena", "bnxt_en", "igb", "veth"] {
            assert_eq!(driver_xdp(d).mode, XskMode::CopyOnly, "{d}");
        }
        assert_eq!(driver_xdp("e1000").mode, XskMode::Unknown);
        assert_eq!(
            driver_xdp("mlx5").mode,
            XskMode::Unknown,
            "exact module names only"
        );
    }
}
