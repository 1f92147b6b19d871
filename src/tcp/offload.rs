//! What the XDP handshake offload (bpf/handshake.h, `--offload xdp`) shares with the engine:
//! the cookie key and the rule for when a run can use it. The XDP program issues and checks
//! the engine's own cookies (`cookie.rs`), so either side accepts what the other issued.

use super::isn::SipKey;
use super::{EngineConfig, RoleConfig};

/// The SipHash key of the engine's SYN cookies for `secret` (`Common::secret`), as the XDP
/// program needs it (`tw_hs_cfg.cookie_k0/k1`).
pub fn cookie_key(secret: &[u8; 16]) -> (u64, u64) {
    let k = SipKey::from_bytes(secret).derive(2);
    (k.0, k.1)
}

/// Why a server engine configuration cannot hand its handshake to XDP (`None`: it can).
pub fn server_blocker(cfg: &EngineConfig) -> Option<&'static str> {
    let RoleConfig::Server(s) = &cfg.role else {
        return Some("not a server");
    };
    if cfg.common.vlan.is_some() {
        return Some("--vlan needs the engine");
    }
    if s.listen.len() > 8 {
        return Some("more than 8 listeners");
    }
    if s.listen.is_empty() {
        return Some("IPv6 listeners only: the offload is IPv4");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_key_is_the_engines() {
        let secret = [7u8; 16];
        let k = SipKey::from_bytes(&secret).derive(2);
        assert_eq!(cookie_key(&secret), (k.0, k.1));
        assert_ne!(cookie_key(&secret), cookie_key(&[8u8; 16]));
    }
}
