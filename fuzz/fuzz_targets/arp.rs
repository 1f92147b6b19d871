//! ArpPacket / ArpRepr: parse -> emit -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threeway::wire::{ArpPacket, ArpRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = ArpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.oper(),
        p.sender_mac(),
        p.sender_ip(),
        p.target_mac(),
        p.target_ip(),
    );
    let Ok(repr) = ArpRepr::parse(&p) else { return };
    let mut buf = [0u8; 28];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..], &data[..28]);
});
