//! Ipv6Packet / Ipv6Repr: every accessor, emit -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threeway::wire::{Ipv6Packet, Ipv6Repr};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = Ipv6Packet::new_checked(data) else {
        return;
    };
    let _ = (
        p.traffic_class(),
        p.flow_label(),
        p.next_header(),
        p.hop_limit(),
        p.src(),
        p.dst(),
    );
    assert_eq!(p.payload().len(), usize::from(p.payload_len()));
    let Ok(repr) = Ipv6Repr::parse(&p) else {
        return;
    };
    let mut buf = [0u8; 40];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    assert_eq!(&buf[..], &data[..40]);
});
