//! A streaming HTTP/1.1 response framer: status line, the two headers that frame the body
//! (`Content-Length`, `Transfer-Encoding: chunked`), then the body by length, by chunks, or
//! to the peer's FIN. It keeps 16 bytes of state per connection and no bytes of the
//! response: header bytes are read one at a time, body bytes are only counted.

/// Where a response stands after some bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Feed {
    /// More bytes needed (`used` of them were taken).
    More,
    /// The response ended after `used` bytes (any further bytes are not part of it).
    Done { used: usize },
    /// Not a response we can frame (no status line, bad chunk size).
    Bad,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
enum St {
    #[default]
    Status,
    /// At `line` bytes into a header line.
    Header,
    /// The CR of the empty line that ends the header was seen.
    HeaderEnd,
    Body,
    ChunkSize,
    /// Chunk extension: skipped to the end of the line.
    ChunkExt,
    ChunkData,
    /// The CRLF after a chunk's data.
    ChunkDataEnd,
    /// Trailer lines after the last chunk, until an empty line.
    Trailer,
    /// No length: the body ends at the peer's FIN.
    UntilFin,
    Complete,
}

const CONTENT_LENGTH: &[u8] = b"content-length";
const TRANSFER_ENCODING: &[u8] = b"transfer-encoding";
const CHUNKED: &[u8] = b"chunked";

/// Header-line matching bits (`Http::flags`).
const CAND_CL: u8 = 1;
const CAND_TE: u8 = 2;
const IN_CL: u8 = 4;
const IN_TE: u8 = 8;
const HAVE_CL: u8 = 16;
const IS_CHUNKED: u8 = 32;

/// One response being framed (16 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Http {
    /// Body bytes (or chunk bytes) still expected, or the Content-Length being read.
    remaining: u64,
    /// Position in the current line (status line, header line, trailer line).
    line: u16,
    /// The status code (0 until read).
    pub status: u16,
    st: St,
    flags: u8,
    /// Progress through "chunked" in a Transfer-Encoding value.
    te: u8,
}

impl Http {
    /// The status class 1..=5 once the status line is read, else 0.
    pub fn class(&self) -> u16 {
        if (100..600).contains(&self.status) {
            self.status / 100
        } else {
            0
        }
    }

    /// The header is complete (the status is known and the body has begun).
    pub fn header_done(&self) -> bool {
        !matches!(self.st, St::Status | St::Header | St::HeaderEnd)
    }

    /// The body runs to the peer's FIN (no length given).
    pub fn until_fin(&self) -> bool {
        self.st == St::UntilFin
    }

    /// Takes response bytes; `body` counts the body bytes among them (chunk framing excluded).
    pub fn feed(&mut self, bytes: &[u8], body: &mut u64) -> Feed {
        let mut i = 0;
        while i < bytes.len() {
            match self.st {
                St::Body | St::ChunkData => {
                    let n = (bytes.len() - i).min(self.remaining.min(usize::MAX as u64) as usize);
                    self.remaining -= n as u64;
                    *body += n as u64;
                    i += n;
                    if self.remaining == 0 {
                        self.st = if self.st == St::Body {
                            St::Complete
                        } else {
                            St::ChunkDataEnd
                        };
                    }
                }
                St::UntilFin => {
                    *body += (bytes.len() - i) as u64;
                    i = bytes.len();
                }
                St::Complete => return Feed::Done { used: i },
                _ => {
                    if !self.byte(bytes[i]) {
                        return Feed::Bad;
                    }
                    i += 1;
                }
            }
        }
        if self.st == St::Complete {
            Feed::Done { used: i }
        } else {
            Feed::More
        }
    }

    /// One header or chunk-framing byte; false: not a response we can frame.
    fn byte(&mut self, b: u8) -> bool {
        match self.st {
            St::Status => self.status_byte(b),
            St::Header => self.header_byte(b),
            St::HeaderEnd => b == b'\n' && self.begin_body(),
            St::ChunkSize => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                    if self.remaining > u64::MAX >> 8 {
                        return false;
                    }
                    self.remaining = self.remaining << 4 | d;
                    self.line += 1;
                    true
                }
                b';' | b' ' | b'\t' => {
                    self.st = St::ChunkExt;
                    true
                }
                b'\r' => true,
                b'\n' => self.line > 0 && self.chunk_begins(),
                _ => false,
            },
            St::ChunkExt => b != b'\n' || self.chunk_begins(),
            St::ChunkDataEnd => match b {
                b'\r' => true,
                b'\n' => {
                    self.st = St::ChunkSize;
                    self.line = 0;
                    true
                }
                _ => false,
            },
            St::Trailer => {
                match b {
                    b'\r' => {}
                    b'\n' if self.line == 0 => self.st = St::Complete,
                    b'\n' => self.line = 0,
                    _ => self.line = self.line.saturating_add(1),
                }
                true
            }
            _ => true,
        }
    }

    /// "HTTP/1.x SSS reason\r\n".
    fn status_byte(&mut self, b: u8) -> bool {
        let at = self.line as usize;
        self.line = self.line.saturating_add(1);
        match at {
            0..=4 => b == b"HTTP/"[at],
            9..=11 => {
                if !b.is_ascii_digit() {
                    return false;
                }
                self.status = self.status * 10 + (b - b'0') as u16;
                true
            }
            _ if b == b'\n' => {
                if at < 12 {
                    return false;
                }
                self.st = St::Header;
                self.line = 0;
                self.flags = 0;
                true
            }
            _ => true,
        }
    }

    fn header_byte(&mut self, b: u8) -> bool {
        let at = self.line as usize;
        if b == b'\n' {
            if at == 0 {
                return self.begin_body();
            }
            self.line = 0;
            self.flags &= HAVE_CL | IS_CHUNKED;
            return true;
        }
        if at == 0 {
            if b == b'\r' {
                self.st = St::HeaderEnd;
                return true;
            }
            self.flags |= CAND_CL | CAND_TE;
        }
        self.line = self.line.saturating_add(1);
        let lower = b.to_ascii_lowercase();
        if self.flags & IN_CL != 0 {
            match b {
                b'0'..=b'9' => {
                    if self.remaining > u64::MAX / 10 {
                        return false;
                    }
                    self.remaining = self.remaining * 10 + (b - b'0') as u64;
                    self.flags |= HAVE_CL;
                }
                b' ' | b'\t' | b'\r' => {}
                _ => return false,
            }
            return true;
        }
        if self.flags & IN_TE != 0 {
            self.te = if lower == CHUNKED[self.te as usize] {
                self.te + 1
            } else {
                u8::from(lower == CHUNKED[0])
            };
            if self.te as usize == CHUNKED.len() {
                self.flags |= IS_CHUNKED;
                self.te = 0;
            }
            return true;
        }
        for (bit, name, into) in [
            (CAND_CL, CONTENT_LENGTH, IN_CL),
            (CAND_TE, TRANSFER_ENCODING, IN_TE),
        ] {
            if self.flags & bit == 0 {
                continue;
            }
            if at < name.len() && lower == name[at] {
                continue;
            }
            self.flags &= !bit;
            if at == name.len() && b == b':' {
                self.flags |= into;
                if into == IN_CL {
                    self.remaining = 0;
                } else {
                    self.te = 0;
                }
            }
        }
        true
    }

    /// The header ended: frame the body (1xx responses are skipped, as a client must).
    fn begin_body(&mut self) -> bool {
        self.line = 0;
        let status = self.status;
        if (100..200).contains(&status) {
            *self = Http::default();
            return true;
        }
        self.st = if status == 204 || status == 304 {
            St::Complete
        } else if self.flags & IS_CHUNKED != 0 {
            self.remaining = 0;
            St::ChunkSize
        } else if self.flags & HAVE_CL != 0 {
            if self.remaining == 0 {
                St::Complete
            } else {
                St::Body
            }
        } else {
            St::UntilFin
        };
        true
    }

    fn chunk_begins(&mut self) -> bool {
        self.line = 0;
        self.st = if self.remaining == 0 {
            St::Trailer
        } else {
            St::ChunkData
        };
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `resp` in pieces of `step` bytes; the end (bytes used, body bytes, status) or None.
    fn run(resp: &[u8], step: usize) -> Option<(usize, u64, u16)> {
        let mut h = Http::default();
        let mut body = 0;
        let mut at = 0;
        for piece in resp.chunks(step) {
            match h.feed(piece, &mut body) {
                Feed::More => at += piece.len(),
                Feed::Done { used } => return Some((at + used, body, h.status)),
                Feed::Bad => return None,
            }
        }
        (h.until_fin()).then_some((resp.len(), body, h.status))
    }

    #[test]
    fn content_length_in_any_pieces() {
        let r = b"HTTP/1.1 200 OK\r\nServer: x\r\ncontent-LENGTH: 5\r\n\r\nhelloEXTRA";
        for step in [1, 2, 3, 7, 100] {
            assert_eq!(run(r, step), Some((r.len() - 5, 5, 200)), "step {step}");
        }
    }

    #[test]
    fn chunked_with_extension_and_trailer() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;x=y\r\nwiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nT: v\r\n\r\n";
        for step in [1, 5, 1000] {
            assert_eq!(run(r, step), Some((r.len(), 23, 200)), "step {step}");
        }
    }

    #[test]
    fn no_length_runs_to_fin_and_no_body_statuses() {
        let r = b"HTTP/1.0 404 Not Found\r\n\r\nsome body";
        assert_eq!(run(r, 4), Some((r.len(), 9, 404)));
        let r = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(run(r, 3), Some((r.len(), 0, 304)));
        let r = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(run(r, 1), Some((r.len(), 0, 200)));
    }

    #[test]
    fn garbage_is_bad() {
        assert_eq!(run(b"SSH-2.0-OpenSSH\r\n", 3), None);
        assert_eq!(run(b"HTTP/1.1 2x0 OK\r\n", 3), None);
        assert_eq!(
            run(b"HTTP/1.1 200 OK\r\nContent-Length: 1z\r\n\r\n", 3),
            None
        );
        assert_eq!(
            run(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                3
            ),
            None
        );
        let mut h = Http::default();
        let mut body = 0;
        assert_eq!(h.feed(b"HTTP/1.1 20", &mut body), Feed::More);
        assert_eq!(h.class(), 0);
    }
}
