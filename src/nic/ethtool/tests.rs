//! Parsers against samples in `src/nic/testdata/`: veth output captured on Linux 6.18, i40e
//! and mlx5 output written by hand in ethtool 6.1's format (see testdata/README.md).

use super::*;
use crate::nic::drivers::XskMode;
use crate::nic::rss::{equal_reta, parse_key};

const I40E_X: &str = include_str!("../testdata/i40e-x.txt");
const I40E_L: &str = include_str!("../testdata/i40e-l.txt");
const I40E_I: &str = include_str!("../testdata/i40e-i.txt");
const I40E_K: &str = include_str!("../testdata/i40e-k.txt");
const MLX5_X: &str = include_str!("../testdata/mlx5-x.txt");
const MLX5_XOR_X: &str = include_str!("../testdata/mlx5-xor-x.txt");
const MLX5_L: &str = include_str!("../testdata/mlx5-l.txt");
const MLX5_I: &str = include_str!("../testdata/mlx5-i.txt");
const MLX5_K: &str = include_str!("../testdata/mlx5-k.txt");
const VETH_L: &str = include_str!("../testdata/veth-l.txt");
const VETH_I: &str = include_str!("../testdata/veth-i.txt");
const VETH_K: &str = include_str!("../testdata/veth-k.txt");

#[test]
fn i40e_rss_config() {
    let cfg = parse_rss(I40E_X).unwrap();
    assert_eq!(cfg.rx_rings, Some(8));
    assert_eq!(cfg.reta, equal_reta(512, 8));
    let key = parse_key(
        "a5:4d:ca:18:25:30:bb:1d:6d:13:2c:de:d6:23:7b:2e:d9:1e:3f:72:1f:cb:19:71:17:44:94:d6:\
         49:3c:9d:5c:34:60:be:31:20:1e:69:fe:da:a0:ee:e8:b9:99:7f:5c:7c:29:99:fd",
    )
    .unwrap();
    assert_eq!(cfg.key.as_deref(), Some(&key[..]));
    assert_eq!(cfg.hfunc(), Some("toeplitz"));
    assert_eq!(
        cfg.symmetric_xor, None,
        "ethtool 6.1 does not print the section"
    );
    let rss = cfg.to_rss().unwrap();
    assert_eq!(
        (rss.queues(), rss.key().len(), rss.reta().len()),
        (8, 52, 512)
    );
}

#[test]
fn mlx5_rss_config_with_input_transformation() {
    let cfg = parse_rss(MLX5_X).unwrap();
    assert_eq!(cfg.rx_rings, Some(12));
    assert_eq!(cfg.reta.len(), 256);
    assert_eq!(cfg.reta[255], 255 % 12);
    assert_eq!(cfg.key.as_ref().map(Vec::len), Some(40));
    assert_eq!(cfg.symmetric_xor, Some(false));
    assert_eq!(cfg.to_rss().unwrap().queues(), 12);
}

#[test]
fn xor_hash_cannot_be_predicted() {
    let cfg = parse_rss(MLX5_XOR_X).unwrap();
    assert_eq!(cfg.hfunc(), Some("xor"));
    let e = cfg.to_rss().unwrap_err();
    assert!(
        e.contains("xor, not toeplitz") && e.contains("hfunc toeplitz"),
        "{e}"
    );
}

#[test]
fn rss_sections_the_driver_does_not_support() {
    let text = "RX flow hash indirection table for ens5 with 2 RX ring(s):\n\
                Operation not supported\n\
                RSS hash key:\n\
                Operation not supported\n\
                RSS hash function:\n    Operation not supported\n";
    let cfg = parse_rss(text).unwrap();
    assert_eq!(
        (cfg.rx_rings, cfg.reta.len(), cfg.key.is_none(), cfg.hfunc()),
        (Some(2), 0, true, None)
    );
    assert!(cfg.to_rss().unwrap_err().contains("not reported"));
    // veth: nothing on stdout, the error comes from `run`.
    assert!(
        parse_rss("")
            .unwrap_err()
            .contains("is this `ethtool -x` output")
    );
}

#[test]
fn rss_parse_errors_name_the_line() {
    let bad = I40E_X.replacen("    8:      0", "   16:      0", 1);
    assert!(
        parse_rss(&bad).unwrap_err().contains("follows entry 8"),
        "{}",
        parse_rss(&bad).unwrap_err()
    );
    let bad = I40E_X.replacen("     1     2", "     1     x", 1);
    assert!(parse_rss(&bad).unwrap_err().contains("bad queue 'x'"));
    let bad = I40E_X.replacen("a5:4d", "a5:4", 1);
    assert!(
        parse_rss(&bad)
            .unwrap_err()
            .contains("not colon-separated hex")
    );
}

#[test]
fn channels() {
    let i40e = parse_channels(I40E_L).unwrap();
    assert_eq!(i40e.max.combined, Some(64));
    assert_eq!(
        i40e.current,
        ChannelCounts {
            rx: None,
            tx: None,
            other: Some(1),
            combined: Some(8)
        }
    );
    assert_eq!(i40e.current.rx_queues(), 8);
    assert!(i40e.uses_combined());
    assert_eq!(parse_channels(MLX5_L).unwrap().current.combined, Some(12));
    let veth = parse_channels(VETH_L).unwrap();
    assert_eq!((veth.current.rx_queues(), veth.current.tx_queues()), (4, 4));
    assert!(
        !veth.uses_combined(),
        "veth has RX/TX channels, not combined"
    );
    assert!(parse_channels(VETH_I).is_err());
}

#[test]
fn driver_info_and_xdp_support() {
    let i40e = parse_driver(I40E_I).unwrap();
    assert_eq!(
        (i40e.driver.as_str(), i40e.bus_info.as_str()),
        ("i40e", "0000:3b:00.0")
    );
    assert_eq!(i40e.firmware, "9.20 0x8000d8c5 1.3353.0");
    assert_eq!(i40e.xdp().mode, XskMode::ZeroCopy);
    assert_eq!(parse_driver(MLX5_I).unwrap().xdp().mode, XskMode::ZeroCopy);
    let veth = parse_driver(VETH_I).unwrap();
    assert_eq!((veth.driver.as_str(), veth.bus_info.as_str()), ("veth", ""));
    assert_eq!(veth.xdp().mode, XskMode::CopyOnly);
    assert!(parse_driver(VETH_L).is_err());
}

#[test]
fn features_gro_lro_ntuple() {
    let i40e = parse_features(I40E_K).unwrap();
    assert!(i40e.gro() && !i40e.lro() && !i40e.gro_hw() && i40e.ntuple());
    assert_eq!(
        i40e.get("large-receive-offload"),
        Some(Feature {
            on: false,
            fixed: true
        })
    );
    assert_eq!(
        i40e.get("tx-checksum-ipv4"),
        Some(Feature {
            on: true,
            fixed: false
        }),
        "indented child"
    );
    let mlx5 = parse_features(MLX5_K).unwrap();
    assert!(mlx5.gro() && mlx5.lro() && !mlx5.ntuple());
    assert_eq!(
        mlx5.get("rx-gro-hw"),
        Some(Feature {
            on: false,
            fixed: false
        }),
        "[requested on]"
    );
    let veth = parse_features(VETH_K).unwrap();
    assert!(!veth.gro() && !veth.lro() && !veth.ntuple());
    assert!(parse_features(VETH_L).is_err());
}

#[test]
fn run_reports_the_failing_command() {
    let e = run(&["-i", "threeway-no-such-if0"]).unwrap_err();
    assert!(
        e.contains("`ethtool -i threeway-no-such-if0` failed"),
        "{e}"
    );
    assert!(inspect("threeway-no-such-if0").is_err());
}
