//! Frames captured from the real Linux stack (kernel 6.18) on a veth pair between two
//! network namespaces, with TX checksum offload off so every checksum on the wire is complete.
//! The raw capture is `linux-6.18-veth.pcap` next to this file. Exactly how (as root):
//!
//! ```text
//! sudo tests/golden/capture.sh linux-6.18-veth.pcap   # what it does, in short:
//!   A=twg-$$-a; B=twg-$$-b; ip netns add $A; ip netns add $B
//!   ip link add twga$$ address 02:00:00:00:00:01 netns $A type veth \
//!       peer name twgb$$ address 02:00:00:00:00:02 netns $B
//!   per side: ip -n NS link set lo up; ip -n NS link set DEV up
//!             ip -n NS addr add 198.18.0.{1,2}/24 dev DEV
//!             ip -n NS addr add 2001:2::{1,2}/64 dev DEV nodad
//!             ip netns exec NS ethtool -K DEV tx off
//!   ip netns exec $A tcpdump -i twga$$ -w linux-6.18-veth.pcap -U -n &
//!   ip netns exec $B python3 server.py 198.18.0.2        # listen :5000, recv, close
//!   ip netns exec $A python3 client.py 198.18.0.2 198.18.0.1
//!       # bind :40000, connect, send "hello\n", close (FIN); then bind :40001 and
//!       # connect to closed port 5001 (-> RST,ACK)
//!   same for 2001:2::2 / 2001:2::1 (handshake + close only)
//!   kill tcpdump; ip netns del $A; ip netns del $B   (trap on exit)
//! ```
//!
//! Hex below is each pcap record's bytes verbatim (`tcpdump -r linux-6.18-veth.pcap -xx`).
#![allow(dead_code)]

/// Decodes the hex constants below (test helper; panics on bad hex, which is ours).
pub fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// pcap record #7: ARP request who-has 198.18.0.2 tell 198.18.0.1.
pub const ARP_REQUEST: &str = concat!(
    "ffffffffffff02000000000108060001080006040001020000000001c6120001",
    "000000000000c6120002",
);

/// pcap record #8: ARP reply 198.18.0.2 is-at 02:00:00:00:00:02.
pub const ARP_REPLY: &str = concat!(
    "02000000000102000000000208060001080006040002020000000002c6120002",
    "020000000001c6120001",
);

/// pcap record #9: 198.18.0.1.40000 > 198.18.0.2.5000 [S] mss 1460,sackOK,TS,nop,wscale 10.
pub const V4_SYN: &str = concat!(
    "02000000000202000000000108004500003c2e2740004006806dc6120001c612",
    "00029c4013888289060d00000000a002faf039c70000020405b40402080ab5d1",
    "98ec000000000103030a",
);

/// pcap record #10: 198.18.0.2.5000 > 198.18.0.1.40000 [S.] mss 1460,sackOK,TS,nop,wscale 10 (IP id 0).
pub const V4_SYN_ACK: &str = concat!(
    "02000000000102000000000208004500003c000040004006ae94c6120002c612",
    "000113889c408f43b7958289060ea012fe882c4a0000020405b40402080ac26d",
    "008db5d198ec0103030a",
);

/// pcap record #11: 198.18.0.1.40000 > 198.18.0.2.5000 [.] ack 1, nop,nop,TS.
pub const V4_ACK: &str = concat!(
    "0200000000020200000000010800450000342e28400040068074c6120001c612",
    "00029c4013888289060e8f43b7968010003f596300000101080ab5d198ecc26d",
    "008d",
);

/// pcap record #12: 198.18.0.1.40000 > 198.18.0.2.5000 [P.] seq 1:7 "hello\n", nop,nop,TS.
pub const V4_DATA: &str = concat!(
    "02000000000202000000000108004500003a2e2940004006806dc6120001c612",
    "00029c4013888289060e8f43b7968018003f14b100000101080ab5d199b4c26d",
    "008d68656c6c6f0a",
);

/// pcap record #14: 198.18.0.2.5000 > 198.18.0.1.40000 [F.] seq 1, ack 7, nop,nop,TS.
pub const V4_FIN: &str = concat!(
    "020000000001020000000002080045000034c6c540004006e7d6c6120002c612",
    "000113889c408f43b796828906148011004057cb00000101080ac26d0155b5d1",
    "99b4",
);

/// pcap record #21: 198.18.0.2.5001 > 198.18.0.1.40001 [R.] seq 0, win 0 (connect to a closed port).
pub const V4_RST: &str = concat!(
    "020000000001020000000002080045000028000040004006aea8c6120002c612",
    "000113899c41000000003d69d870501400005e040000",
);

/// pcap record #25: 2001:2::1.40000 > 2001:2::2.5000 [S] flowlabel 0xf98af, mss 1440,sackOK,TS,nop,wscale 10.
pub const V6_SYN: &str = concat!(
    "02000000000202000000000186dd600f98af0028064020010002000000000000",
    "000000000001200100020000000000000000000000029c401388834cbc740000",
    "0000a002fd203a770000020405a00402080abb4c259a000000000103030a",
);

/// pcap record #26: 2001:2::2.5000 > 2001:2::1.40000 [S.] flowlabel 0x8ea5d, mss 1440,sackOK,TS,nop,wscale 10.
pub const V6_SYN_ACK: &str = concat!(
    "02000000000102000000000286dd6008ea5d0028064020010002000000000000",
    "0000000000022001000200000000000000000000000113889c4031342b60834c",
    "bc75a012fb04840f0000020405a00402080a7cf1deecbb4c259a0103030a",
);

/// pcap record #16: fe80::ff:fe00:1 > ff02::16 MLDv2 report behind a hop-by-hop header (next header 0).
pub const V6_MLD_HBH: &str = concat!(
    "33330000001602000000000186dd6000000000240001fe800000000000000000",
    "00fffe000001ff0200000000000000000000000000163a000502000001008f00",
    "72070000000104000000ff0200000000000000000001ff000001",
);

/// pcap record #23: 2001:2::1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation (next header 58).
pub const V6_ICMP_NS: &str = concat!(
    "3333ff00000202000000000186dd6000000000203aff20010002000000000000",
    "000000000001ff0200000000000000000001ff00000287003793000000002001",
    "00020000000000000000000000020101020000000001",
);

/// Every frame above, with its name.
pub const ALL: &[(&str, &str)] = &[
    ("ARP_REQUEST", ARP_REQUEST),
    ("ARP_REPLY", ARP_REPLY),
    ("V4_SYN", V4_SYN),
    ("V4_SYN_ACK", V4_SYN_ACK),
    ("V4_ACK", V4_ACK),
    ("V4_DATA", V4_DATA),
    ("V4_FIN", V4_FIN),
    ("V4_RST", V4_RST),
    ("V6_SYN", V6_SYN),
    ("V6_SYN_ACK", V6_SYN_ACK),
    ("V6_MLD_HBH", V6_MLD_HBH),
    ("V6_ICMP_NS", V6_ICMP_NS),
];
