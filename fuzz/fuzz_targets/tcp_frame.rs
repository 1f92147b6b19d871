//! TcpFrame::parse in both checksum modes; whatever parses must emit and parse back (Verify).
#![no_main]

use libfuzzer_sys::fuzz_target;
use threeway::wire::{ChecksumMode, IpRepr, TcpFrame};

fuzz_target!(|data: &[u8]| {
    let verified = TcpFrame::parse(data, ChecksumMode::Verify);
    let Ok(f) = TcpFrame::parse(data, ChecksumMode::Trust) else {
        assert!(verified.is_err(), "Verify accepted what Trust refused");
        return;
    };
    let mut buf = [0u8; 2048];
    let n = f.emit(&mut buf).expect("a parsed frame emits");
    let back = TcpFrame::parse(&buf[..n], ChecksumMode::Verify).expect("emitted frame parses");
    // emit recomputes the IP length from the (re-encoded) TCP header; everything else is equal.
    let mut want = f;
    let seg = f.tcp.buffer_len() as u16;
    match &mut want.ip {
        IpRepr::V4(r) => r.payload_len = seg,
        IpRepr::V6(r) => r.payload_len = seg,
    }
    assert_eq!(back, want);
});
