//! `deploy/nic-setup`: the dry run for a made-up 4-queue NIC, a real run against a fake
//! `ethtool` that answers with the i40e samples, `--check` on a veth in a throw-away netns,
//! and the driver table against `nic::drivers`. Names start with `nic_setup_`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use threeway::nic::drivers::DRIVERS;
use threeway::nic::rss::{format_key, ports_only_key, symmetric_key};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/nic-setup");
const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/nic/testdata");

fn nic_setup(args: &[&str]) -> Output {
    Command::new(SCRIPT)
        .args(args)
        .output()
        .expect("run deploy/nic-setup")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A temp dir removed on drop (also when a test panics).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("threeway-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn nic_setup_dry_run_4_queues() {
    let o = nic_setup(&[
        "--dry-run",
        "--iface",
        "eth9",
        "--queues",
        "4",
        "--cores",
        "2-5",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let l = lines(&o);
    let key = format_key(&ports_only_key(40));
    for want in [
        "ethtool -L eth9 combined 4".to_string(),
        format!("ethtool -X eth9 hfunc toeplitz hkey {key} equal 4"),
        "ethtool -K eth9 gro off".into(),
        "ethtool -K eth9 lro off".into(),
        "ethtool -K eth9 rx-gro-hw off".into(),
    ] {
        assert!(l.contains(&want), "missing `{want}` in:\n{}", text(&o));
    }
    // Printed, not run: nothing echoed as executed; every other line is a comment.
    for line in &l {
        assert!(
            line.starts_with("ethtool ") || line.starts_with("echo ") || line.starts_with('#'),
            "unexpected line `{line}`"
        );
    }
    assert!(l[0].contains("dry run"), "{}", l[0]);
    assert!(
        text(&o).contains("driver unknown"),
        "eth9 does not exist here"
    );
}

#[test]
fn nic_setup_dry_run_symmetric_key_pins_irqs_by_name() {
    let dir = TempDir::new("nic-setup-irqs");
    let irqs = dir.0.join("interrupts");
    std::fs::write(
        &irqs,
        "           CPU0       CPU1\n\
         120:          0          0  IR-PCI-MSI 1-edge      i40e-0000:3b:00.0:misc\n\
         121:          0          0  IR-PCI-MSI 2-edge      i40e-eth9-TxRx-0\n\
         122:          0          0  IR-PCI-MSI 3-edge      i40e-eth9-TxRx-1\n\
         123:          0          0  IR-PCI-MSI 4-edge      i40e-veth9-TxRx-2\n\
         124:          0          0  IR-PCI-MSI 5-edge      eth9-TxRx-2\n\
         125:          0          0  IR-PCI-MSI 6-edge      eth9-rx-3\n\
         126:          0          0  IR-PCI-MSI 7-edge      eth9-tx-3\n\
         127:          0          0  IR-PCI-MSI 8-edge      i40e-eth9-TxRx-10\n",
    )
    .unwrap();
    let o = Command::new(SCRIPT)
        .args([
            "--dry-run",
            "--iface",
            "eth9",
            "--queues",
            "4",
            "--cores",
            "2,3,8-9",
        ])
        .args(["--rss-key", "symmetric", "--key-len", "52"])
        .env("NIC_SETUP_INTERRUPTS", &irqs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let l = lines(&o);
    let key = format_key(&symmetric_key(52));
    assert!(
        l.contains(&format!(
            "ethtool -X eth9 hfunc toeplitz hkey {key} equal 4"
        )),
        "{}",
        text(&o)
    );
    let pins: Vec<&String> = l.iter().filter(|x| x.starts_with("echo ")).collect();
    assert_eq!(
        pins,
        [
            "echo 2 > /proc/irq/121/smp_affinity_list",
            "echo 3 > /proc/irq/122/smp_affinity_list",
            "echo 8 > /proc/irq/124/smp_affinity_list",
            "echo 9 > /proc/irq/125/smp_affinity_list",
            "echo 9 > /proc/irq/126/smp_affinity_list",
        ],
        "veth9's and queue 10's IRQs are not ours"
    );
}

/// A fake `ethtool` on PATH that answers probes with the i40e samples and logs every call.
fn fake_ethtool(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/bash\necho \"$*\" >> {log}\nd={TESTDATA}\n\
         case \"$1\" in\n  -i) cat $d/i40e-i.txt ;;\n  -l) cat $d/i40e-l.txt ;;\n  -x) cat $d/i40e-x.txt ;;\n  \
         -k) cat $d/i40e-k.txt ;;\n  -X) case \"$*\" in *'context new'*) echo 'New RSS context is 1' ;; esac ;;\nesac\n",
        log = dir.join("calls").display()
    );
    let path = bin.join("ethtool");
    std::fs::write(&path, script).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
    bin
}

#[test]
fn nic_setup_runs_against_a_fake_i40e() {
    common::require_root();
    let dir = TempDir::new("nic-setup-fake");
    let bin = fake_ethtool(&dir.0);
    let irq_dir = dir.0.join("irq");
    let mut names = String::from("           CPU0\n");
    for q in 0..6 {
        std::fs::create_dir_all(irq_dir.join((121 + q).to_string())).unwrap();
        names += &format!(
            " {}:  0  IR-PCI-MSI {q}-edge  i40e-enp59s0f0-TxRx-{q}\n",
            121 + q
        );
    }
    std::fs::write(dir.0.join("interrupts"), names).unwrap();
    let sysfs = dir.0.join("sys");
    std::fs::create_dir_all(sysfs.join("enp59s0f0")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = Command::new(SCRIPT)
        .args([
            "--iface",
            "enp59s0f0",
            "--queues",
            "4",
            "--cores",
            "2-5",
            "--kernel-queues",
            "2",
        ])
        .args(["--ntuple", "198.18.0.1:80", "--busy-poll"])
        .env("PATH", path)
        .env("NIC_SETUP_INTERRUPTS", dir.0.join("interrupts"))
        .env("NIC_SETUP_PROC_IRQ", &irq_dir)
        .env("NIC_SETUP_SYSFS", &sysfs)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("driver i40e: native XDP, AF_XDP zero-copy"),
        "{}",
        text(&o)
    );
    let calls = std::fs::read_to_string(dir.0.join("calls")).unwrap();
    let changes: Vec<&str> = calls
        .lines()
        .filter(|c| {
            !["-i ", "-l ", "-x ", "-k "]
                .iter()
                .any(|p| c.starts_with(p))
        })
        .collect();
    let key = format_key(&ports_only_key(52)); // the NIC's key is 52 bytes long
    assert_eq!(
        changes,
        [
            "-L enp59s0f0 combined 6".to_string(),
            format!("-X enp59s0f0 hfunc toeplitz hkey {key} start 4 equal 2"),
            "-K enp59s0f0 ntuple on".into(),
            format!("-X enp59s0f0 context new hfunc toeplitz hkey {key} start 0 equal 4"),
            "-N enp59s0f0 flow-type tcp4 dst-ip 198.18.0.1 dst-port 80 context 1".into(),
            "-K enp59s0f0 gro off".into(),
            "-K enp59s0f0 lro off".into(),
            "-K enp59s0f0 rx-gro-hw off".into(),
        ]
    );
    for q in 0..6 {
        let f = irq_dir
            .join((121 + q).to_string())
            .join("smp_affinity_list");
        let got = std::fs::read_to_string(&f).ok();
        let want = (q < 4).then(|| format!("{}\n", 2 + q));
        assert_eq!(got, want, "queue {q}: only our queues are pinned");
    }
    let read = |f: &str| std::fs::read_to_string(sysfs.join("enp59s0f0").join(f)).unwrap();
    assert_eq!(
        (read("napi_defer_hard_irqs"), read("gro_flush_timeout")),
        ("2\n".into(), "200000\n".into())
    );
}

#[test]
fn nic_setup_check_on_veth_lists_what_is_wrong() {
    let pair = common::pair("nic-chk", 2);
    let side = &pair.a;
    let check = |queues: &str| {
        let o = pair
            .command(side, SCRIPT)
            .args([
                "--check",
                "--iface",
                &side.iface,
                "--queues",
                queues,
                "--cores",
                "0-3",
            ])
            .output()
            .unwrap();
        (o.status.code(), text(&o))
    };
    pair.exec(side, &["ethtool", "-K", &side.iface, "gro", "on"])
        .unwrap();
    let (code, out) = check("2");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("warn  driver veth: native XDP, AF_XDP copy mode only"),
        "{out}"
    );
    assert!(out.contains("ok    2 RX queues"), "{out}");
    assert!(
        out.contains("FAIL  ethtool -x tw0: RSS not readable"),
        "{out}"
    );
    assert!(
        out.contains(
            "FAIL  generic-receive-offload is on: ethtool -K tw0 generic-receive-offload off"
        ),
        "{out}"
    );
    assert!(out.contains("no queue IRQs named after tw0"), "{out}");
    assert!(out.contains("2 problem(s) on tw0"), "{out}");
    pair.exec(side, &["ethtool", "-K", &side.iface, "gro", "off"])
        .unwrap();
    let (code, out) = check("4");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL  2 RX queues, the run needs 4: ethtool -L tw0 combined 4"),
        "{out}"
    );
    assert!(out.contains("ok    GRO, LRO and hardware GRO off"), "{out}");
    assert!(out.contains("2 problem(s) on tw0"), "{out}");
    let o = pair
        .command(side, SCRIPT)
        .args(["--check", "--iface", "tw9", "--queues", "1", "--cores", "0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("tw9: no such interface"), "{}", text(&o));
}

#[test]
fn nic_setup_driver_matrix_matches_rust() {
    let o = nic_setup(&["--driver-matrix"]);
    assert!(o.status.success());
    let script: Vec<String> = lines(&o);
    let rust: Vec<String> = DRIVERS
        .iter()
        .map(|d| format!("{} {}", d.driver, d.mode.as_str()))
        .collect();
    assert_eq!(script, rust);
}

#[test]
fn nic_setup_rejects_bad_arguments() {
    for (args, msg) in [
        (
            &["--queues", "4", "--cores", "2-5"][..],
            "--iface is required",
        ),
        (
            &["--iface", "eth9", "--queues", "0", "--cores", "2"],
            "positive count",
        ),
        (
            &["--iface", "eth9", "--queues", "4", "--cores", "2-4"],
            "3 cores for 4 queues",
        ),
        (
            &[
                "--iface",
                "eth9",
                "--queues",
                "2",
                "--cores",
                "2-3",
                "--kernel-queues",
                "2",
            ],
            "needs --ntuple",
        ),
        (
            &[
                "--iface",
                "eth9",
                "--queues",
                "2",
                "--cores",
                "2-3",
                "--rss-key",
                "xor",
            ],
            "--rss-key must be",
        ),
        (
            &[
                "--iface", "eth9", "--queues", "2", "--cores", "2-3", "--ntuple", "host:80",
            ],
            "--ntuple 'host:80'",
        ),
        (
            &["--iface", "eth9", "--frobnicate"],
            "unknown option '--frobnicate'",
        ),
    ] {
        let o = nic_setup(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains(msg),
            "{args:?}: want '{msg}' in {}",
            text(&o)
        );
    }
}
