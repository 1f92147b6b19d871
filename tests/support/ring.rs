//! A fixed-slot frame ring (the UMEM's stand-in) for in-memory engine runs: allocated once,
//! no allocation while running. Shared by tests/no_alloc.rs and bench/engine.rs (`#[path]`).

use threeway::tcp::{MAX_FRAME, Transmit};

pub struct Ring {
    data: Vec<u8>,
    lens: Vec<usize>,
    /// Frames written since the last reset (`n = 0`).
    pub n: usize,
}

impl Ring {
    pub fn new(slots: usize) -> Ring {
        Ring {
            data: vec![0; slots * MAX_FRAME],
            lens: vec![0; slots],
            n: 0,
        }
    }
    pub fn frame(&self, i: usize) -> &[u8] {
        &self.data[i * MAX_FRAME..i * MAX_FRAME + self.lens[i]]
    }
}

impl Transmit for Ring {
    fn buffer(&mut self) -> Option<&mut [u8]> {
        let i = self.n;
        (i < self.lens.len()).then(|| &mut self.data[i * MAX_FRAME..(i + 1) * MAX_FRAME])
    }
    fn commit(&mut self, len: usize) {
        self.lens[self.n] = len;
        self.n += 1;
    }
}
