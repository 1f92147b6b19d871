/* Bounds-checked header parsing for the XDP steering program.
 * Every helper checks `pos + size <= end` before the caller dereferences anything. */
#ifndef THREEWAY_PARSING_H
#define THREEWAY_PARSING_H
#include <linux/types.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

struct cursor {
	void *pos;
	void *end;
};

struct tw_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Ethernet ARP for IPv4, with the addresses (RFC 826). Byte arrays: spa/tpa are unaligned. */
struct tw_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
};

/* Ethernet header plus up to two VLAN tags (802.1Q or 802.1ad, any order: headers::link).
 * Returns the inner EtherType (network order), or 0 when truncated. */
static __always_inline __be16 parse_eth(struct cursor *c)
{
	struct ethhdr *eth = c->pos;
	if ((void *)(eth + 1) > c->end)
		return 0;
	c->pos = eth + 1;
	__be16 proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct tw_vlan_hdr *vh = c->pos;
		if ((void *)(vh + 1) > c->end)
			return 0;
		c->pos = vh + 1;
		proto = vh->proto;
	}
	return proto;
}

/* The C twin of src/wire/headers.rs: every frame this file accepts, the Rust reader
 * accepts, and the other way round (tests/steer_verdicts.rs runs both on one frame set). */

/* IPv4 header: version 4, 5 <= IHL, header within the packet, IHL*4 <= total length <=
 * the packet (bytes after total length are Ethernet padding). NULL when malformed; on
 * success *seg_len is the segment length (total length - IHL*4). */
static __always_inline struct iphdr *parse_ipv4(struct cursor *c, __u32 *seg_len)
{
	struct iphdr *ip = c->pos;
	if ((void *)(ip + 1) > c->end)
		return 0;
	__u32 hlen = ip->ihl * 4;
	__u32 total = bpf_ntohs(ip->tot_len);
	if (ip->version != 4 || hlen < sizeof(*ip) || total < hlen)
		return 0;
	if (c->pos + hlen > c->end || c->pos + total > c->end)
		return 0;
	c->pos += hlen;
	*seg_len = total - hlen;
	return ip;
}

#define TW_MAX_IPV6_EXT 4 /* headers::MAX_IPV6_EXT */

/* Outcome of the IPv6 walk. */
enum tw_v6 {
	TW_V6_UPPER = 0,   /* reached the upper layer: *proto, cursor at its header */
	TW_V6_BAD = 1,     /* truncated or a length past the payload */
	TW_V6_FRAGMENT = 2,/* a fragment header: reassembly is the kernel's */
	TW_V6_UNWALKED = 3,/* routing header with segments left, or too many headers */
};

struct tw_ext_hdr {
	__u8 nexthdr;
	__u8 len;
	__u8 b2;
	__u8 segments_left; /* meaningful in a routing header */
	__u8 rest[4];
};

static __always_inline int tw_v6_ext_unit(__u8 nh)
{
	switch (nh) {
	case 51: /* AH: 4-byte units, minus 2 */
		return 4;
	case 0:   /* hop-by-hop */
	case 43:  /* routing */
	case 60:  /* destination options */
	case 135: /* mobility */
	case 139: /* HIP */
	case 140: /* shim6 */
	case 253:
	case 254: /* experiments */
		return 8;
	default:
		return 0;
	}
}

/* IPv6 fixed header and extension headers up to the upper layer. On TW_V6_UPPER, *proto is
 * the upper-layer protocol, the cursor points at its header and *seg_len is its length
 * (to the end of the payload). */
static __always_inline int parse_ipv6(struct cursor *c, struct ipv6hdr **out, __u8 *proto,
				      __u32 *seg_len)
{
	struct ipv6hdr *ip6 = c->pos;
	if ((void *)(ip6 + 1) > c->end)
		return TW_V6_BAD;
	if (ip6->version != 6)
		return TW_V6_BAD;
	__u32 end = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
	if ((void *)ip6 + end > c->end)
		return TW_V6_BAD;
	*out = ip6;
	__u8 nh = ip6->nexthdr;
	__u32 at = sizeof(*ip6);
#pragma unroll
	for (int i = 0; i < TW_MAX_IPV6_EXT; i++) {
		if (nh == 44)
			return TW_V6_FRAGMENT;
		int unit = tw_v6_ext_unit(nh);
		if (!unit)
			break;
		if (at + sizeof(struct tw_ext_hdr) > end)
			return TW_V6_BAD;
		struct tw_ext_hdr *h = (void *)ip6 + at;
		if ((void *)(h + 1) > c->end)
			return TW_V6_BAD;
		if (nh == 43 && h->segments_left != 0)
			return TW_V6_UNWALKED;
		at += unit == 4 ? ((__u32)h->len + 2) * 4 : ((__u32)h->len + 1) * 8;
		nh = h->nexthdr;
		if (at > end)
			return TW_V6_BAD;
	}
	if (nh == 44)
		return TW_V6_FRAGMENT;
	if (tw_v6_ext_unit(nh))
		return TW_V6_UNWALKED;
	c->pos = (void *)ip6 + at;
	*proto = nh;
	*seg_len = end - at;
	return TW_V6_UPPER;
}

/* TCP header: 20 bytes, 5 <= data offset, data offset * 4 <= the segment (seg_len, from
 * the IP header). NULL when malformed. */
static __always_inline struct tcphdr *parse_tcp(struct cursor *c, __u32 seg_len)
{
	struct tcphdr *tcp = c->pos;
	if ((void *)(tcp + 1) > c->end)
		return 0;
	__u32 hlen = tcp->doff * 4;
	if (seg_len < sizeof(*tcp) || hlen < sizeof(*tcp) || hlen > seg_len)
		return 0;
	c->pos = tcp + 1;
	return tcp;
}

static __always_inline struct tw_arp *parse_arp(struct cursor *c)
{
	struct tw_arp *arp = c->pos;
	if ((void *)(arp + 1) > c->end)
		return 0;
	c->pos = arp + 1;
	return arp;
}

#endif
