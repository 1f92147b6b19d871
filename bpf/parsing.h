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

/* Ethernet header plus up to two VLAN tags. Returns the inner EtherType (network order),
 * or 0 when truncated. */
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

/* IPv4 header with IHL validated. NULL when truncated or malformed. */
static __always_inline struct iphdr *parse_ipv4(struct cursor *c)
{
	struct iphdr *ip = c->pos;
	if ((void *)(ip + 1) > c->end)
		return 0;
	__u32 hlen = ip->ihl * 4;
	if (ip->version != 4 || hlen < sizeof(*ip))
		return 0;
	if (c->pos + hlen > c->end)
		return 0;
	c->pos += hlen;
	return ip;
}

/* IPv6 fixed header. NULL when truncated or not version 6. */
static __always_inline struct ipv6hdr *parse_ipv6(struct cursor *c)
{
	struct ipv6hdr *ip6 = c->pos;
	if ((void *)(ip6 + 1) > c->end)
		return 0;
	if (ip6->version != 6)
		return 0;
	c->pos = ip6 + 1;
	return ip6;
}

/* TCP fixed header (ports are all we read). NULL when truncated. */
static __always_inline struct tcphdr *parse_tcp(struct cursor *c)
{
	struct tcphdr *tcp = c->pos;
	if ((void *)(tcp + 1) > c->end)
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
