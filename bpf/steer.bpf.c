/* threeway XDP steering program.
 *
 * Frames for our addresses and ports go to the AF_XDP socket bound on the receiving queue
 * (tw_xsks[rx_queue_index]); when no socket is there they are DROPPED, not passed, so the
 * kernel never answers (RSTs) our peers during start-up or restart. Our addresses and
 * prefixes are in the LPM tries tw_v4 and tw_v6 (no fixed count); ARP and Neighbor
 * Solicitations for emulated addresses (TW_ADDR_NEIGH) go to the socket too. Everything else (the kernel's own ARP and NDP, other
 * ICMP/ICMPv6, other ports such as SSH, IPv4 and IPv6 fragments, malformed headers) is
 * passed.
 * Headers are read as src/wire/headers.rs reads them (parsing.h): VLAN/QinQ tags, IPv4
 * options, IPv6 extension headers in front of TCP.
 *
 * A TCP frame to our address and port that belongs to a kernel socket is passed as well
 * (kernel_owns): threeway shares the host's addresses, so the kernel's own connections and
 * listeners may sit inside our port range (its ephemeral ports, a service on the box, our
 * --metrics listener). The socket lookup is paid only for ports a kernel socket may hold
 * (tw_kports).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "shared.h"
#include "parsing.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, TW_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} tw_xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_steer_cfg);
} tw_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tw_stats SEC(".maps");

/* Our addresses and prefixes, longest prefix wins: a prefix of emulated sources
 * (TCP | NEIGH) with the kernel's own addresses inside it as host entries (TCP only). */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_ADDR_ENTRIES);
	__type(key, struct tw_v4_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tw_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, TW_ADDR_ENTRIES);
	__type(key, struct tw_v6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} tw_v6 SEC(".maps");

/* Ports a kernel socket may hold on our addresses (bit `port` of word `port / 64`): the
 * kernel's ephemeral range and the ports its sockets held when user space last looked (it
 * refreshes this every second). Only frames to these ports pay for the socket lookup, so
 * threeway's own source ports, planned outside both, never do. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TW_KPORT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tw_kports SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tw_stats, &idx);
	if (v)
		*v += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline int pass(__u32 idx)
{
	count(idx);
	return XDP_PASS;
}

/* Receive time at the wire: CLOCK_MONOTONIC ns in the frame's metadata area, read by the
 * worker from the headroom in front of the AF_XDP frame (struct tw_rx_meta, shared.h), so
 * latency does not include the time the frame waited for a sleeping or busy worker. RSTs
 * and FINs never end a latency interval: they get rx_ns 0 ("not timed"), saving the clock
 * read (about 1% of a threeway <-> threeway run). A driver without metadata support
 * refuses the adjustment: counted, the worker falls back to its loop clock. Invalidates
 * packet pointers: call just before the redirect. `cfg` is the one the program looked up
 * at entry (a second lookup per frame would buy nothing). */
static __always_inline void stamp_rx(struct xdp_md *ctx, const struct tw_steer_cfg *cfg,
				     int untimed, __u64 rx_ns)
{
	if (!(cfg->flags & TW_CFG_RX_STAMP))
		return; /* --rx-timestamp loop: the stamps' cost is not paid */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct tw_rx_meta))) {
		count(TW_STAT_NO_META);
		return;
	}
	struct tw_rx_meta *m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data) {
		count(TW_STAT_NO_META);
		return;
	}
	m->rx_ns = untimed ? 0 : rx_ns ? rx_ns : bpf_ktime_get_ns();
	m->magic = TW_RX_META_MAGIC;
	m->_pad = 0;
}


static __always_inline int to_socket(struct xdp_md *ctx, __u32 idx)
{
	int act = bpf_redirect_map(&tw_xsks, ctx->rx_queue_index, XDP_DROP);
	count(act == XDP_REDIRECT ? idx : TW_STAT_NO_SOCKET);
	return act;
}

/* TCP state numbers as the kernel exports them in struct bpf_sock.state. */
#define TW_TCP_LISTEN 10

/* Does a kernel socket own this frame? An established, connecting, TIME-WAIT or request
 * socket for the exact 4-tuple owns every segment; a listener owns only a SYN without ACK
 * (a new connection to its port), so a SYN-ACK to one of our source ports that a kernel
 * listener happens to share still comes to us. `tuple` is the packet's own direction
 * (saddr/sport = the peer), as bpf_skc_lookup_tcp expects. */
static __always_inline int kernel_owns(struct xdp_md *ctx, struct bpf_sock_tuple *tuple,
				       __u32 size, const struct tcphdr *tcp)
{
	__u16 port = bpf_ntohs(tcp->dest);
	__u32 word = port >> 6;
	const __u64 *bits = bpf_map_lookup_elem(&tw_kports, &word);
	if (!bits || !((*bits >> (port & 63)) & 1))
		return 0;
	struct bpf_sock *sk = bpf_skc_lookup_tcp(ctx, tuple, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	int owns = sk->state != TW_TCP_LISTEN || (tcp->syn && !tcp->ack);
	bpf_sk_release(sk);
	return owns;
}

#include "handshake.h"
#include "handshake_client.h"

/* The TW_ADDR_* bits of the longest prefix of ours matching `a` (network order). */
static __always_inline __u32 v4_flags(__u32 a)
{
	struct tw_v4_key k = { .prefixlen = 32 };
	__builtin_memcpy(k.addr, &a, 4);
	const __u32 *v = bpf_map_lookup_elem(&tw_v4, &k);
	return v ? *v : 0;
}

/* The TW_ADDR_* bits of the longest prefix of ours matching `a` (0: not ours). */
static __always_inline __u32 v6_flags(const void *a)
{
	struct tw_v6_key k = { .prefixlen = 128 };
	__builtin_memcpy(k.addr, a, 16);
	const __u32 *v = bpf_map_lookup_elem(&tw_v6, &k);
	return v ? *v : 0;
}

#define TW_ICMPV6 58
#define TW_ND_NS 135

static __always_inline int port_is_ours(const struct tw_steer_cfg *cfg, __u16 port)
{
	if (cfg->port_lo != 0 && port >= cfg->port_lo && port <= cfg->port_hi)
		return 1;
#pragma unroll
	for (int i = 0; i < TW_MAX_LISTEN; i++) {
		if (i >= cfg->n_listen)
			break;
		if (cfg->listen_ports[i] == port)
			return 1;
	}
	return 0;
}

SEC("xdp")
int tw_steer(struct xdp_md *ctx)
{
	__u32 zero = 0;
	const struct tw_steer_cfg *cfg = bpf_map_lookup_elem(&tw_cfg, &zero);
	if (!cfg || !(cfg->flags & TW_CFG_ENABLED))
		return pass(TW_STAT_DISABLED);

	struct cursor c = {
		.pos = (void *)(long)ctx->data,
		.end = (void *)(long)ctx->data_end,
	};
	__be16 proto = parse_eth(&c);
	if (!proto)
		return pass(TW_STAT_PARSE_ERROR);

	if (proto == bpf_htons(ETH_P_IP)) {
		__u32 seg_len;
		struct iphdr *ip = parse_ipv4(&c, &seg_len);
		if (!ip)
			return pass(TW_STAT_PARSE_ERROR);
		if (ip->protocol != IPPROTO_TCP || !(v4_flags(ip->daddr) & TW_ADDR_TCP))
			return pass(TW_STAT_PASSED);
		if (ip->frag_off & bpf_htons(0x3fff)) /* MF or offset: reassembly is the kernel's */
			return pass(TW_STAT_PASSED_FRAG);
		struct tcphdr *tcp = parse_tcp(&c, seg_len);
		if (!tcp)
			return pass(TW_STAT_PARSE_ERROR);
		if (!port_is_ours(cfg, bpf_ntohs(tcp->dest)))
			return pass(TW_STAT_PASSED);
		struct bpf_sock_tuple t = {};
		t.ipv4.saddr = ip->saddr;
		t.ipv4.daddr = ip->daddr;
		t.ipv4.sport = tcp->source;
		t.ipv4.dport = tcp->dest;
		if (kernel_owns(ctx, &t, sizeof(t.ipv4), tcp))
			return pass(TW_STAT_PASSED_SOCKET);
		int untimed = tcp->rst || tcp->fin;
		/* --offload xdp: answered here, or left to the engine (packet pointers are
		 * stale after the call; nothing below reads the packet). */
		__u64 rx_ns = 0; /* read already (--offload check's engine half) */
		int hs = tw_hs_server(ctx);
		if (hs == TW_TO_ENGINE)
			hs = tw_hs_client(ctx, &rx_ns);
		if (hs != TW_TO_ENGINE)
			return hs;
		stamp_rx(ctx, cfg, untimed, rx_ns);
		return to_socket(ctx, TW_STAT_REDIRECTED);
	}

	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = 0;
		__u8 upper = 0;
		__u32 seg_len = 0;
		int v6 = parse_ipv6(&c, &ip6, &upper, &seg_len);
		if (v6 == TW_V6_BAD || !ip6)
			return pass(TW_STAT_PARSE_ERROR);
		if (v6 == TW_V6_FRAGMENT)
			return pass(TW_STAT_PASSED_FRAG);
		if (v6 == TW_V6_UPPER && upper == TW_ICMPV6) {
			/* A solicitation (type, code, checksum, reserved, target) for an emulated
			 * address; the worker validates the rest (RFC 4861 7.1.1). */
			__u8 *icmp = c.pos;
			if ((void *)(icmp + 24) > c.end || seg_len < 24 || icmp[0] != TW_ND_NS ||
			    !(v6_flags(icmp + 8) & TW_ADDR_NEIGH))
				return pass(TW_STAT_PASSED);
			return to_socket(ctx, TW_STAT_ND_REDIRECTED);
		}
		if (v6 != TW_V6_UPPER || upper != IPPROTO_TCP ||
		    !(v6_flags(&ip6->daddr) & TW_ADDR_TCP))
			return pass(TW_STAT_PASSED);
		struct tcphdr *tcp = parse_tcp(&c, seg_len);
		if (!tcp)
			return pass(TW_STAT_PARSE_ERROR);
		if (!port_is_ours(cfg, bpf_ntohs(tcp->dest)))
			return pass(TW_STAT_PASSED);
		struct bpf_sock_tuple t = {};
		__builtin_memcpy(t.ipv6.saddr, &ip6->saddr, 16);
		__builtin_memcpy(t.ipv6.daddr, &ip6->daddr, 16);
		t.ipv6.sport = tcp->source;
		t.ipv6.dport = tcp->dest;
		if (kernel_owns(ctx, &t, sizeof(t.ipv6), tcp))
			return pass(TW_STAT_PASSED_SOCKET);
		stamp_rx(ctx, cfg, tcp->rst || tcp->fin, 0);
		return to_socket(ctx, TW_STAT_REDIRECTED);
	}

	if (proto == bpf_htons(ETH_P_ARP)) {
		if (!(cfg->flags & TW_CFG_ARP))
			return pass(TW_STAT_PASSED);
		struct tw_arp *arp = parse_arp(&c);
		if (!arp)
			return pass(TW_STAT_PARSE_ERROR);
		if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) ||
		    arp->hlen != 6 || arp->plen != 4 ||
		    (arp->op != bpf_htons(1) && arp->op != bpf_htons(2)))
			return pass(TW_STAT_PASSED);
		__u32 tpa;
		__builtin_memcpy(&tpa, arp->tpa, 4);
		/* Requests for an emulated address, and replies to one (its own resolutions). */
		if (!(v4_flags(tpa) & TW_ADDR_NEIGH))
			return pass(TW_STAT_PASSED);
		return to_socket(ctx, TW_STAT_ARP_REDIRECTED);
	}

	return pass(TW_STAT_PASSED);
}

char _license[] SEC("license") = "Dual MIT/GPL";
