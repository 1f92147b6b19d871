//! TcpPacket / TcpRepr / TcpOptions: every accessor, parse -> emit -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threeway::wire::{TcpOptions, TcpPacket, TcpRepr};

fuzz_target!(|data: &[u8]| {
    let _ = TcpOptions::parse(data);
    let Ok(p) = TcpPacket::new_checked(data) else {
        return;
    };
    let _ = (
        p.src_port(),
        p.dst_port(),
        p.seq(),
        p.ack(),
        p.flags(),
        p.window(),
    );
    let _ = (p.checksum(), p.urgent(), p.options(), p.payload());
    let Ok(repr) = TcpRepr::parse(&p) else { return };
    let mut buf = vec![0xa5u8; repr.buffer_len()];
    repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]));
    let back = TcpRepr::parse_segment(&buf).expect("emitted segment parses");
    assert_eq!(back, repr);
});
