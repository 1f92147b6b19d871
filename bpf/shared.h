/* Structures shared between the XDP program and threeway.
 * src/xsk/steer.rs mirrors them (#[repr(C)]) and pins the same layout in a unit test;
 * the _Static_asserts below pin it on the C side. */
#ifndef THREEWAY_SHARED_H
#define THREEWAY_SHARED_H
#include <linux/types.h>

#define TW_MAX_LISTEN 8
#define TW_MAX_QUEUES 64
/* tw_kports: one bit per TCP port, 64 per word. */
#define TW_KPORT_WORDS 1024

/* tw_v4 / tw_v6: LPM tries of our addresses and prefixes (any number up to this; a prefix
 * covers any number of addresses), addresses in network order. Value: TW_ADDR_* bits. */
#define TW_ADDR_ENTRIES 65536
#define TW_ADDR_TCP 1u   /* TCP to it is ours */
#define TW_ADDR_NEIGH 2u /* ARP / Neighbor Solicitations for it are ours (an emulated address) */
struct tw_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};
struct tw_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};
/* tw_steer_cfg.flags */
#define TW_CFG_ENABLED 1u
#define TW_CFG_RX_STAMP 2u /* stamp redirected frames (struct tw_rx_meta) */
#define TW_CFG_ARP 4u      /* some tw_v4 entry has TW_ADDR_NEIGH: ARP is worth parsing */

/* Steering configuration: ARRAY map "tw_cfg", one entry (key 0).
 * Addresses are stored in network byte order exactly as they appear on the wire;
 * ports in host byte order. A port range with port_lo == 0 is empty. */
struct tw_steer_cfg {
	__u16 listen_ports[TW_MAX_LISTEN]; /*  0: extra individual ports (host order) */
	__u16 port_lo;                  /* 16: local port range, inclusive (host order) */
	__u16 port_hi;                  /* 18 */
	__u8 n_listen;                  /* 20 */
	__u8 _pad0[3];                  /* 21 */
	__u32 flags;                    /* 24: TW_CFG_* */
	__u32 _pad;                     /* 28 */
};

_Static_assert(sizeof(struct tw_steer_cfg) == 32, "tw_steer_cfg size");
_Static_assert(__builtin_offsetof(struct tw_steer_cfg, port_lo) == 16, "port_lo");
_Static_assert(__builtin_offsetof(struct tw_steer_cfg, flags) == 24, "flags");

/* XDP metadata in front of every frame redirected to an XSK: the RX time at the XDP hook.
 * The worker reads it at (frame address - sizeof) and clears `magic`, so a frame whose
 * driver gave no metadata never shows a stale stamp. */
#define TW_RX_META_MAGIC 0x74777473u /* "twts" */
struct tw_rx_meta {
	__u64 rx_ns;                    /* 0: bpf_ktime_get_ns() (CLOCK_MONOTONIC); 0: not timed */
	__u32 magic;                    /* 8: TW_RX_META_MAGIC */
	__u32 _pad;                     /* 12 */
};

_Static_assert(sizeof(struct tw_rx_meta) == 16, "tw_rx_meta size");

/* Per-CPU counters: PERCPU_ARRAY map "tw_stats", one __u64 per index. */
enum tw_stat {
	TW_STAT_REDIRECTED = 0,     /* TCP frames redirected to an XSK */
	TW_STAT_ARP_REDIRECTED = 1, /* ARP for an emulated address redirected to an XSK */
	TW_STAT_NO_SOCKET = 2,      /* ours, but no XSK in tw_xsks at rx_queue_index: dropped */
	TW_STAT_PASSED = 3,         /* not ours: XDP_PASS to the kernel */
	TW_STAT_PASSED_FRAG = 4,    /* IPv4 fragment: XDP_PASS */
	TW_STAT_PARSE_ERROR = 5,    /* truncated or malformed header: XDP_PASS */
	TW_STAT_DISABLED = 6,       /* no config or not enabled: XDP_PASS */
	TW_STAT_PASSED_SOCKET = 7,  /* ours by address and port, but a kernel socket's: XDP_PASS */
	TW_STAT_NO_META = 8,        /* redirected without an RX timestamp (no metadata support) */
	TW_STAT_ND_REDIRECTED = 9,  /* Neighbor Solicitation for an emulated address to an XSK */
	/* --offload xdp, server (bpf/handshake.h) */
	TW_STAT_HS_SYNACK = 10,       /* SYN answered with a cookie SYN-ACK (XDP_TX) */
	TW_STAT_HS_ACCEPTED = 11,     /* final ACK with a valid cookie: accepted, consumed */
	TW_STAT_HS_FIN_ANSWERED = 12, /* peer FIN answered with FIN|ACK (XDP_TX) */
	TW_STAT_HS_CLOSED = 13,       /* ACK of our FIN|ACK: closed, consumed */
	TW_STAT_HS_RST = 14,          /* peer RST (no state to end): dropped */
	TW_STAT_HS_BAD_CSUM = 15,     /* IP or TCP checksum wrong: dropped */
	TW_STAT_HS_BAD_COOKIE = 16,   /* ACK whose cookie is not ours or expired: to the engine */
	TW_STAT_HS_TX_ERR = 17,       /* frame could not be resized for the answer: to the engine */
	TW_STAT_HS_TO_ENGINE = 18,    /* segment with data or odd options: to the engine */
	TW_STAT_HS_ACCEPTED_DATA = 19,/* of HS_ACCEPTED, while the engine serves requests */
	/* --offload xdp, client (bpf/handshake_client.h) */
	TW_STAT_HSC_ESTABLISHED = 20, /* SYN-ACK with our ISN answered with ACK|FIN (XDP_TX) */
	TW_STAT_HSC_BAD_SYNACK = 21,  /* SYN-ACK whose ack is not our ISN + 1: to the engine */
	TW_STAT_HSC_FIN_ANSWERED = 22,/* peer FIN after our ACK|FIN answered with ACK (XDP_TX) */
	TW_STAT_HSC_FIN_ACKED = 23,   /* peer's ACK of our FIN: consumed */
	TW_STAT_HSC_FIN_STATELESS = 24,/* peer FIN|PSH (threeway's XDP server): consumed, no ACK */
	TW_STAT_MAX = 32,
};

/* Handshake offload configuration: ARRAY map "tw_hs", one entry (key 0); all zero = off.
 * Host byte order throughout. The clock is the worker's: bpf_ktime_get_ns() - epoch_ns. */
#define TW_HS_SERVER 1u /* answer the server's handshake and close */
#define TW_HS_VERIFY 2u /* verify IP and TCP checksums (--checksum verify) */
#define TW_HS_DATA 4u   /* the engine serves requests: leave it everything but SYN/final ACK */
#define TW_HS_CLIENT 8u /* answer SYN-ACKs to our source ports (cport_lo..cport_hi) */
#define TW_HS_NONE 0xff /* wscale: not offered */
struct tw_hs_cfg {
	__u64 cookie_k0;                /*   0: SipHash key of the cookie (engine cookie_key) */
	__u64 cookie_k1;                /*   8 */
	__u64 epoch_ns;                 /*  16: CLOCK_MONOTONIC of the worker clock's zero */
	__u64 fixed_now;                /*  24: tests: used as `now` when non-zero */
	__u32 listen_addr[TW_MAX_LISTEN]; /* 32: listener addresses, 0 = any */
	__u16 listen_port[TW_MAX_LISTEN]; /* 64 */
	__u8 local_mac[6];              /*  80 */
	__u16 mss;                      /*  86: our MSS option, 0 = none */
	__u8 wscale;                    /*  88: our window scale, TW_HS_NONE = none */
	__u8 sack;                      /*  89 */
	__u8 ts;                        /*  90 */
	__u8 ttl;                       /*  91 */
	__u8 n_listen;                  /*  92 */
	__u8 _pad[3];                   /*  93 */
	__u32 flags;                    /*  96: TW_HS_* */
	__u32 _pad2;                    /* 100 */
	/* Client: the ISN key (engine isn_key) and the source ports whose SYN-ACKs are ours. */
	__u64 isn_k0;                   /* 104 */
	__u64 isn_k1;                   /* 112 */
	__u16 cport_lo;                 /* 120: inclusive, host order */
	__u16 cport_hi;                 /* 122 */
	__u16 cport_split;              /* 124: --offload check: the workers (check_port_in_xdp) */
	__u16 _pad3;                    /* 126 */
};

_Static_assert(sizeof(struct tw_hs_cfg) == 128, "tw_hs_cfg size");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, isn_k0) == 104, "isn_k0");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, cport_lo) == 120, "cport_lo");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, cport_split) == 124, "cport_split");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, listen_port) == 64, "listen_port");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, mss) == 86, "mss");
_Static_assert(__builtin_offsetof(struct tw_hs_cfg, flags) == 96, "flags");

#endif
