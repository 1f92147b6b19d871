//! EthernetFrame (+ one 802.1Q tag): accessors and Repr parse -> emit -> parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use threeway::wire::{EthernetFrame, EthernetRepr};

fuzz_target!(|data: &[u8]| {
    let Ok(f) = EthernetFrame::new_checked(data) else {
        return;
    };
    let (_, _, _, _) = (f.dst(), f.src(), f.vlan(), f.ethertype());
    assert_eq!(f.payload().len() + f.header_len(), data.len());
    let repr = EthernetRepr::parse(&f).expect("infallible after new_checked");
    let mut buf = [0u8; 18];
    let n = repr.buffer_len();
    repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..n]));
    let back = EthernetFrame::new_checked(&buf[..n]).expect("emitted header parses");
    assert_eq!(EthernetRepr::parse(&back), Ok(repr));
});
