/* The server's handshake in XDP (--offload xdp): SYN -> cookie SYN-ACK, final ACK -> accepted,
 * peer FIN -> FIN|ACK, ACK of that FIN -> closed, all answered in place with XDP_TX (one frame
 * out per frame in, no state). The cookie is the engine's (src/tcp/cookie.rs: same layout,
 * same SipHash-2-4 key), and the SYN-ACK is byte for byte the one the engine's writer emits
 * (src/tcp/fastpath.rs `write`, options in `TcpOptions::words` order), so user space accepts
 * what XDP issued and the other way round; tests/offload_verdicts.rs pins both.
 *
 * What the program does not fully understand goes to the AF_XDP socket as before, and the
 * engine decides: VLAN-tagged frames, IPv4 options, segments with data (a request), option
 * areas TcpOptions::parse rejects, and (when the engine serves requests, TW_HS_DATA) every
 * segment that is not a SYN or a valid final ACK, since those may belong to a connection the
 * engine holds. IPv4 only.
 */
#ifndef THREEWAY_HANDSHAKE_H
#define THREEWAY_HANDSHAKE_H
#include "shared.h"
#include "parsing.h"

/* Linux >= 5.18; Debian's libbpf headers predate it. */
static long (*tw_xdp_load_bytes)(struct xdp_md *xdp_md, __u32 offset, void *buf,
				 __u32 len) = (void *)189;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_hs_cfg);
} tw_hs SEC(".maps");

/* ---- SipHash-2-4 over three 64-bit words (src/tcp/isn.rs `sip_words`) ---- */

#define TW_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

struct tw_sip {
	__u64 v0, v1, v2, v3;
};

static __always_inline void tw_sip_round(struct tw_sip *s)
{
	s->v0 += s->v1;
	s->v1 = TW_ROTL(s->v1, 13) ^ s->v0;
	s->v0 = TW_ROTL(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = TW_ROTL(s->v3, 16) ^ s->v2;
	s->v0 += s->v3;
	s->v3 = TW_ROTL(s->v3, 21) ^ s->v0;
	s->v2 += s->v1;
	s->v1 = TW_ROTL(s->v1, 17) ^ s->v2;
	s->v2 = TW_ROTL(s->v2, 32);
}

static __always_inline void tw_sip_compress(struct tw_sip *s, __u64 m)
{
	s->v3 ^= m;
	tw_sip_round(s);
	tw_sip_round(s);
	s->v0 ^= m;
}

static __noinline __u64 tw_sip3(__u64 k0, __u64 k1, __u64 w0, __u64 w1, __u64 w2)
{
	struct tw_sip s = {
		.v0 = k0 ^ 0x736f6d6570736575ULL,
		.v1 = k1 ^ 0x646f72616e646f6dULL,
		.v2 = k0 ^ 0x6c7967656e657261ULL,
		.v3 = k1 ^ 0x7465646279746573ULL,
	};
	tw_sip_compress(&s, w0);
	tw_sip_compress(&s, w1);
	tw_sip_compress(&s, w2);
	tw_sip_compress(&s, 24ULL << 56);
	s.v2 ^= 0xff;
	tw_sip_round(&s);
	tw_sip_round(&s);
	tw_sip_round(&s);
	tw_sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* ---- The cookie (src/tcp/cookie.rs) ---- */

#define TW_COOKIE_SHIFT 36
#define TW_MAC_MASK ((1u << 19) - 1)
#define TW_NO_WS 15

/* The connection as the engine keys it: host-order addresses and ports, ours first. */
struct tw_tuple {
	__u32 local_ip, remote_ip;
	__u16 local_port, remote_port;
};

static __always_inline __u32 tw_cookie_mac(const struct tw_hs_cfg *h, const struct tw_tuple *t,
					   __u32 irs, __u32 upper)
{
	__u64 w0 = (__u64)t->local_ip << 32 | t->remote_ip;
	__u64 w1 = (__u64)t->local_port << 16 | t->remote_port;
	__u64 w2 = (__u64)irs << 32 | upper;
	return (__u32)tw_sip3(h->cookie_k0, h->cookie_k1, w0, w1, w2) & TW_MAC_MASK;
}

static __always_inline __u32 tw_counter(__u64 now)
{
	return (__u32)(now >> TW_COOKIE_SHIFT) & 31;
}

/* Options of a segment as TcpOptions::parse reads them. */
struct tw_opts {
	__u32 tsval, tsecr;
	__u16 mss;
	__u8 has_mss, has_ws, ws, sack, has_ts;
};

/* The negotiated options a cookie carries (CookieOpts). */
struct tw_neg {
	__u16 mss;
	__u8 ws; /* TW_NO_WS: none */
	__u8 sack, ts;
};

static __always_inline __u32 tw_neg_bits(const struct tw_neg *n)
{
	__u32 idx = n->mss >= 1460 ? 3 : n->mss >= 1440 ? 2 : n->mss >= 1300 ? 1 : 0;
	return idx << 25 | ((__u32)n->ws & 15) << 21 | (__u32)n->sack << 20 | (__u32)n->ts << 19;
}

/* cookie::decode: counter current or previous, MAC over the tuple, irs and the upper bits.
 * Returns 1 and the negotiated options when valid. */
static __always_inline int tw_cookie_ok(const struct tw_hs_cfg *h, const struct tw_tuple *t,
					__u32 irs, __u32 cookie, __u64 now, struct tw_neg *out)
{
	__u32 tick = cookie >> 27, cur = tw_counter(now);
	if (tick != cur && tick != ((cur - 1) & 31))
		return 0;
	if (tw_cookie_mac(h, t, irs, cookie & ~TW_MAC_MASK) != (cookie & TW_MAC_MASK))
		return 0;
	out->ws = (cookie >> 21) & 15;
	out->sack = (cookie >> 20) & 1;
	out->ts = (cookie >> 19) & 1;
	return 1;
}

/* ---- Reading a TCP header (copied to the stack: every offset below is a masked scalar) ---- */

#define TW_TH_BUF 64
/* 8-aligned, so that tw_sum60 reads it in 32-bit words. */
#define TW_TH_ALIGN __attribute__((aligned(8)))

enum tw_opt_parse { TW_OPTS_OK = 0, TW_OPTS_BAD = 1 };

/* th[i & 63], the mask kept in the instructions (clang drops it where it can prove the range,
 * and the verifier cannot always follow that proof through 32-bit subregisters). */
static __always_inline __u8 tw_at(const __u8 *th, __u64 i)
{
	asm volatile("%[i] &= 63" : [i] "+r"(i));
	return th[i];
}

static __always_inline __u32 tw_be32(const __u8 *b, __u32 at)
{
	return (__u32)tw_at(b, at) << 24 | (__u32)tw_at(b, at + 1) << 16 |
	       (__u32)tw_at(b, at + 2) << 8 | tw_at(b, at + 3);
}

/* State of the option walk, one bpf_loop step per option (the verifier checks the step once
 * instead of every path through 40 iterations). */
struct tw_walk {
	const __u8 *th;
	struct tw_opts *o;
	__u32 i, hlen;
	int bad;
};

static long tw_opt_step(__u32 n, void *arg)
{
	struct tw_walk *w = arg;
	const __u8 *th = w->th;
	__u32 i = w->i, hlen = w->hlen;
	if (i >= hlen || i >= 60)
		return 1;
	__u8 kind = tw_at(th, i);
	if (kind == 0)
		return 1;
	if (kind == 1) {
		w->i = i + 1;
		return 0;
	}
	if (i + 1 >= hlen)
		goto bad;
	__u32 len = tw_at(th, i + 1);
	if (len < 2 || i + len > hlen)
		goto bad;
	struct tw_opts *o = w->o;
	switch (kind) {
	case 2:
		if (len != 4)
			goto bad;
		o->mss = (__u16)tw_at(th, i + 2) << 8 | tw_at(th, i + 3);
		o->has_mss = 1;
		break;
	case 3:
		if (len != 3)
			goto bad;
		o->ws = tw_at(th, i + 2);
		o->has_ws = 1;
		break;
	case 4:
		if (len != 2)
			goto bad;
		o->sack = 1;
		break;
	case 8:
		if (len != 10)
			goto bad;
		o->tsval = tw_be32(th, i + 2);
		o->tsecr = tw_be32(th, i + 6);
		o->has_ts = 1;
		break;
	default:
		break;
	}
	w->i = i + len;
	return 0;
bad:
	w->bad = 1;
	return 1;
}

/* TcpOptions::parse over th[20..hlen]: EOL stops, NOP skips, a length of 0/1 or past the
 * area or wrong for MSS/WS/SACK-perm/TS is BAD, unknown kinds are skipped, repeats win.
 * 40 steps cover the longest area (40 NOPs). */
static __always_inline int tw_parse_opts(const __u8 *th, __u32 hlen, struct tw_opts *o)
{
	/* The two layouts Linux and threeway send, read in place (same result as the walk,
	 * which costs a bpf_loop step per option): NOP NOP TS on every segment but a SYN, and
	 * MSS SACK-permitted TS NOP WS on SYNs and SYN-ACKs. */
	if (hlen == 32 && tw_be32(th, 20) == 0x0101080a) {
		o->tsval = tw_be32(th, 24);
		o->tsecr = tw_be32(th, 28);
		o->has_ts = 1;
		return TW_OPTS_OK;
	}
	if (hlen == 40 && tw_at(th, 20) == 2 && tw_at(th, 21) == 4 && tw_be32(th, 24) == 0x0402080a &&
	    tw_at(th, 36) == 1 && tw_at(th, 37) == 3 && tw_at(th, 38) == 3) {
		o->mss = (__u16)tw_at(th, 22) << 8 | tw_at(th, 23);
		o->has_mss = 1;
		o->sack = 1;
		o->tsval = tw_be32(th, 28);
		o->tsecr = tw_be32(th, 32);
		o->has_ts = 1;
		o->ws = tw_at(th, 39);
		o->has_ws = 1;
		return TW_OPTS_OK;
	}
	struct tw_walk w = { .th = th, .o = o, .i = 20, .hlen = hlen };
	if (bpf_loop(40, tw_opt_step, &w, 0) < 0)
		return TW_OPTS_BAD;
	return w.bad ? TW_OPTS_BAD : TW_OPTS_OK;
}

static __always_inline __u16 tw_fold(__u64 acc)
{
	acc = (acc >> 32) + (acc & 0xffffffff);
	acc = (acc >> 16) + (acc & 0xffff);
	acc = (acc >> 16) + (acc & 0xffff);
	acc = (acc >> 16) + (acc & 0xffff);
	return (__u16)acc;
}

/* One's-complement sum, folded, of the big-endian 16-bit words of th[0..60] (zero beyond
 * hlen; `th` 8-aligned, TW_TH_ALIGN). Read as 15 native 32-bit words, not 30 byte pairs (a
 * quarter of the instructions, four times per connection): the sum of the little-endian
 * words is the byte swap of the big-endian words' sum (RFC 1071, 2.B). */
static __always_inline __u32 tw_sum60(const __u8 *th)
{
	const __u32 *w = (const void *)th;
	__u64 acc = 0;
#pragma unroll
	for (int i = 0; i < 15; i++)
		acc += w[i];
	__u16 le = tw_fold(acc);
	return (__u32)(le >> 8 | (le & 0xff) << 8);
}

static __always_inline __u32 tw_w32(__u32 v)
{
	return (v >> 16) + (v & 0xffff);
}

/* --checksum verify: the IPv4 header's and the TCP segment's (header only: no data here). */
static __always_inline int tw_csums_ok(const struct iphdr *ip, const struct tw_tuple *t,
				       __u32 hlen, const __u8 *th)
{
	__u32 acc = 0;
	const __u16 *w = (const void *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		acc += w[i];
	if (tw_fold(acc) != 0xffff)
		return 0;
	__u64 sum = tw_w32(t->local_ip) + tw_w32(t->remote_ip) + 6 + hlen + tw_sum60(th);
	return tw_fold(sum) == 0xffff;
}

/* ---- Writing the answer in place (fastpath::write for IHL 5, no VLAN) ---- */

struct tw_reply {
	__u8 dst_mac[6];
	__u32 src, dst; /* host order: ours, the peer's */
	__u16 sport, dport;
	__u32 seq, ack;
	__u8 flags;
	__u8 nw; /* option words used */
	__u32 w[5];
};

#define TW_ETH 14

static __always_inline int tw_hs_count(__u32 idx, int act)
{
	count(idx);
	return act;
}

static __always_inline void tw_put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static __always_inline void tw_put32(__u8 *p, __u32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Resizes the frame to the reply and writes every byte of it. Returns XDP_TX, or -1 when the
 * frame cannot be resized (then it is untouched and goes to the engine); XDP_DROP (counted)
 * if the resized frame is not the size asked for, which the kernel never does. */
static __noinline int tw_emit(struct xdp_md *ctx, const struct tw_hs_cfg *h,
			      const struct tw_reply *r)
{
	__u32 nw = r->nw > 5 ? 5 : r->nw;
	__u32 ol = nw * 4;
	__u32 tl = 20 + ol;
	__u32 want = TW_ETH + 20 + tl;
	int have = (int)(ctx->data_end - ctx->data);
	if (bpf_xdp_adjust_tail(ctx, (int)want - have))
		return -1;
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	if (p + TW_ETH + 40 > end)
		return tw_hs_count(TW_STAT_HS_TX_ERR, XDP_DROP);
	__builtin_memcpy(p, r->dst_mac, 6);
	__builtin_memcpy(p + 6, h->local_mac, 6);
	p[12] = 0x08;
	p[13] = 0;
	__u8 *ip = p + TW_ETH;
	__u32 ip_total = 20 + tl;
	__u32 ttl_proto = (__u32)h->ttl << 8 | 6;
	__u16 ip_csum = ~tw_fold(0x4500 + ip_total + 0x4000 + ttl_proto + tw_w32(r->src) +
				 tw_w32(r->dst));
	__u32 doff_flags = (tl / 4) << 12 | r->flags;
	__u64 acc = tw_w32(r->src) + tw_w32(r->dst) + 6 + tl;
	acc += r->sport + r->dport + tw_w32(r->seq) + tw_w32(r->ack);
	acc += doff_flags + 0xffff; /* RCV_WND */
#pragma unroll
	for (int i = 0; i < 5; i++)
		acc += tw_w32(r->w[i]); /* unused words are zero */
	__u16 tcp_csum = ~tw_fold(acc);
	tw_put32(ip, 0x45000000 | ip_total);
	tw_put32(ip + 4, 0x00004000);
	tw_put32(ip + 8, ttl_proto << 16 | ip_csum);
	tw_put32(ip + 12, r->src);
	tw_put32(ip + 16, r->dst);
	__u8 *th = ip + 20;
	tw_put16(th, r->sport);
	tw_put16(th + 2, r->dport);
	tw_put32(th + 4, r->seq);
	tw_put32(th + 8, r->ack);
	tw_put32(th + 12, doff_flags << 16 | 0xffff);
	tw_put32(th + 16, (__u32)tcp_csum << 16);
	/* Option words, each written only where the resized frame has room for it. */
#define TW_OPT_WORD(i)                                                                     \
	if (nw > (i)) {                                                                    \
		if (th + 20 + 4 * ((i) + 1) > end)                                         \
			return tw_hs_count(TW_STAT_HS_TX_ERR, XDP_DROP);                   \
		tw_put32(th + 20 + 4 * (i), r->w[i]);                                      \
	}
	TW_OPT_WORD(0)
	TW_OPT_WORD(1)
	TW_OPT_WORD(2)
	TW_OPT_WORD(3)
	TW_OPT_WORD(4)
#undef TW_OPT_WORD
	return XDP_TX;
}

/* TcpOptions::words for the options given (constant indices only). */
#define TW_PUSH(r, n, v)                                                                   \
	do {                                                                               \
		if ((n) == 0)                                                              \
			(r)->w[0] = (v);                                                   \
		else if ((n) == 1)                                                         \
			(r)->w[1] = (v);                                                   \
		else if ((n) == 2)                                                         \
			(r)->w[2] = (v);                                                   \
		else if ((n) == 3)                                                         \
			(r)->w[3] = (v);                                                   \
		else                                                                       \
			(r)->w[4] = (v);                                                   \
		(n)++;                                                                     \
	} while (0)

static __always_inline void tw_words(struct tw_reply *r, __u16 mss, int ws, __u8 sack, int ts,
				     __u32 tsval, __u32 tsecr)
{
	__u32 n = 0;
	if (mss)
		TW_PUSH(r, n, 0x02040000 | mss);
	if (ts) {
		TW_PUSH(r, n, sack ? 0x0402080a : 0x0101080a);
		TW_PUSH(r, n, tsval);
		TW_PUSH(r, n, tsecr);
	} else if (sack) {
		TW_PUSH(r, n, 0x01010402);
	}
	if (ws >= 0)
		TW_PUSH(r, n, 0x01030300 | (__u32)ws);
	r->nw = n;
}

/* ---- The server ---- */

static __always_inline int tw_hs_listening(const struct tw_hs_cfg *h, __u32 addr, __u16 port)
{
#pragma unroll
	for (int i = 0; i < TW_MAX_LISTEN; i++) {
		if (i >= h->n_listen)
			break;
		if (h->listen_port[i] == port && (h->listen_addr[i] == 0 || h->listen_addr[i] == addr))
			return 1;
	}
	return 0;
}

/* The worker's clock (its epoch at 0), as the engine's `now`. */
static __always_inline __u64 tw_hs_now(const struct tw_hs_cfg *h)
{
	if (h->fixed_now)
		return h->fixed_now;
	return bpf_ktime_get_ns() - h->epoch_ns;
}

/* Linux >= 5.11; Debian's libbpf headers predate it. */
static __u64 (*tw_ktime_get_coarse_ns)(void) = (void *)160;

/* The server's clock: cookie periods (2^36 ns) and TSvals (ms) need no better than the
 * coarse clock (CLOCK_MONOTONIC_COARSE: the same clock, up to a tick behind), which skips
 * the clocksource read (~5% of a both-sides offload run's CPU went to read_tsc). */
static __always_inline __u64 tw_hs_now_coarse(const struct tw_hs_cfg *h)
{
	if (h->fixed_now)
		return h->fixed_now;
	__u64 t = tw_ktime_get_coarse_ns();
	return t > h->epoch_ns ? t - h->epoch_ns : 0; /* a tick behind at the very start */
}

#define TW_TO_ENGINE (-1)
/* tw_hs_read_tcp: the header is read and checked, go on. */
#define TW_HS_READ (-2)

/* Both halves' common step: the TCP header (`hlen` bytes, 20-60) copied to `th`, its options
 * parsed into `o`, and, with TW_HS_VERIFY, both checksums checked. Returns TW_HS_READ, or the
 * verdict for a segment that is not ours to answer (counted). Packet pointers the caller
 * holds must be re-derived afterwards (the verifier wants fresh bounds after the helpers). */
/* The TCP header (`hlen` bytes, 20-60) copied to `th` and its options parsed into `o`, with
 * nothing counted or checked: TW_OPTS_OK, TW_OPTS_BAD (odd options), or -1 (no header). */
static __always_inline int tw_hs_load_tcp(struct xdp_md *ctx, __u32 hlen, __u8 *th,
					  struct tw_opts *o)
{
	__u32 n = hlen & 63;
	if (n < 20 || n > 60)
		return -1;
	if (tw_xdp_load_bytes(ctx, TW_ETH + 20, th, n))
		return -1;
	return tw_parse_opts(th, n, o);
}

static __always_inline int tw_hs_read_tcp(struct xdp_md *ctx, const struct tw_hs_cfg *h,
					  const struct tw_tuple *t, __u32 hlen, __u8 *th,
					  struct tw_opts *o)
{
	int opts = tw_hs_load_tcp(ctx, hlen, th, o);
	if (opts < 0)
		return TW_TO_ENGINE;
	if (opts != TW_OPTS_OK)
		return tw_hs_count(TW_STAT_HS_TO_ENGINE, TW_TO_ENGINE);
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	if (p + TW_ETH + 40 > end)
		return TW_TO_ENGINE;
	if ((h->flags & TW_HS_VERIFY) && !tw_csums_ok((void *)(p + TW_ETH), t, hlen, th))
		return tw_hs_count(TW_STAT_HS_BAD_CSUM, XDP_DROP);
	return TW_HS_READ;
}

/* What both halves read first of a frame (IPv4, IHL 5, no VLAN: the rest is the engine's). */
struct tw_seg {
	struct tw_tuple t;
	__u32 hlen;    /* the TCP header's length */
	__u32 seg_len; /* the TCP segment's: more than hlen is data (the caller checks both, so
			* that the verifier sees hlen's bounds where it is used) */
	__u8 fl;       /* TCP flags */
};

/* Fills `s`; 0: not a frame the handshake paths take. */
static __always_inline int tw_hs_segment(struct xdp_md *ctx, struct tw_seg *s)
{
	__u8 *p = (void *)(long)ctx->data;
	__u8 *end = (void *)(long)ctx->data_end;
	if (p + TW_ETH + 40 > end)
		return 0;
	struct ethhdr *eth = (void *)p;
	struct iphdr *ip = (void *)(p + TW_ETH);
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return 0;
	struct tcphdr *tcp = (void *)(p + TW_ETH + 20);
	s->seg_len = bpf_ntohs(ip->tot_len) - 20;
	s->hlen = tcp->doff * 4;
	s->fl = ((__u8 *)tcp)[13];
	s->t.local_ip = bpf_ntohl(ip->daddr);
	s->t.remote_ip = bpf_ntohl(ip->saddr);
	s->t.local_port = bpf_ntohs(tcp->dest);
	s->t.remote_port = bpf_ntohs(tcp->source);
	return 1;
}

/* A TCP segment to one of our IPv4 addresses and steered ports, headers checked by the
 * parsers. Returns an XDP action, or TW_TO_ENGINE. */
static __noinline int tw_hs_server(struct xdp_md *ctx)
{
	__u32 zero = 0;
	const struct tw_hs_cfg *h = bpf_map_lookup_elem(&tw_hs, &zero);
	if (!h || !(h->flags & TW_HS_SERVER))
		return TW_TO_ENGINE;
	struct tw_seg s = {};
	if (!tw_hs_segment(ctx, &s))
		return TW_TO_ENGINE;
	__u32 hlen = s.hlen;
	if (hlen < 20 || hlen > 60 || s.seg_len != hlen)
		return tw_hs_count(TW_STAT_HS_TO_ENGINE, TW_TO_ENGINE); /* data: a request */
	struct tw_tuple t = s.t;
	if (!tw_hs_listening(h, t.local_ip, t.local_port))
		return TW_TO_ENGINE;
	__u8 fl = s.fl;
	int syn = fl & 0x02, ack = fl & 0x10, rst = fl & 0x04, fin = fl & 0x01;
	int data_phase = h->flags & TW_HS_DATA;
	if (rst) {
		/* Ours to drop only when the engine holds no connections (no request phase). */
		if (data_phase)
			return TW_TO_ENGINE;
		return tw_hs_count(TW_STAT_HS_RST, XDP_DROP);
	}
	if (syn && (ack || fin))
		return TW_TO_ENGINE;
	if (!syn && !ack)
		return TW_TO_ENGINE;

	__u8 th[TW_TH_BUF] TW_TH_ALIGN = {};
	struct tw_opts o = {};
	int read = tw_hs_read_tcp(ctx, h, &t, hlen, th, &o);
	if (read != TW_HS_READ)
		return read;
	__u8 *p = (void *)(long)ctx->data;
	if (p + TW_ETH > (__u8 *)(long)ctx->data_end)
		return TW_TO_ENGINE;
	struct ethhdr *eth = (void *)p;
	__u32 seq = tw_be32(th, 4), ackn = tw_be32(th, 8);
	__u64 now = tw_hs_now_coarse(h);
	struct tw_reply r = {
		.src = t.local_ip,
		.dst = t.remote_ip,
		.sport = t.local_port,
		.dport = t.remote_port,
	};
	__builtin_memcpy(r.dst_mac, eth->h_source, 6);
	__u32 tsnow = (__u32)(now / 1000000);

	if (syn) {
		/* CookieOpts::negotiate, then send_synack's options. */
		struct tw_neg g = {
			.mss = o.has_mss ? o.mss : 536,
			.ws = (h->wscale != TW_HS_NONE && o.has_ws) ? (o.ws > 14 ? 14 : o.ws) : TW_NO_WS,
			.sack = o.sack && h->sack,
			.ts = o.has_ts && h->ts,
		};
		__u32 upper = tw_counter(now) << 27 | tw_neg_bits(&g);
		r.seq = upper | tw_cookie_mac(h, &t, seq, upper);
		r.ack = seq + 1;
		r.flags = 0x12;
		tw_words(&r, h->mss, g.ws != TW_NO_WS ? h->wscale : -1, g.sack, g.ts, tsnow & ~1U,
			 o.tsval);
		int act = tw_emit(ctx, h, &r);
		if (act < 0)
			return tw_hs_count(TW_STAT_HS_TX_ERR, TW_TO_ENGINE);
		return tw_hs_count(TW_STAT_HS_SYNACK, act);
	}

	/* An ACK. The final one of the handshake: seq = irs + 1, ack = cookie + 1; the ACK of
	 * our FIN|ACK: seq = irs + 2, ack = cookie + 2. A 19-bit MAC alone would take one for
	 * the other once in 2^19, so the echoed TSval tells them apart where the peer has
	 * timestamps: our SYN-ACK's TSval is even, our FIN|ACK's odd (as the engine's, src/tcp/
	 * output.rs `synack_tsval`, `ts_opt` in LAST-ACK). */
	int after_fin = o.has_ts && (o.tsecr & 1);
	struct tw_neg g = {};
	if (!after_fin && tw_cookie_ok(h, &t, seq - 1, ackn - 1, now, &g)) {
		if (!fin) {
			if (data_phase)
				count(TW_STAT_HS_ACCEPTED_DATA);
			return tw_hs_count(TW_STAT_HS_ACCEPTED, XDP_DROP);
		}
		if (data_phase)
			return TW_TO_ENGINE;
		/* ACK|FIN|PSH with no data is the third segment of a handshake closed at once
		 * (threeway's XDP client, bpf/handshake_client.h): it is the accept as well. A
		 * later FIN of an accepted connection carries no PSH (Linux sets it on data only).
		 * That client keeps no state either, so our FIN carries PSH too and it sends no last
		 * ACK for it: the connection is closed here (no state waits for that ACK on either
		 * side; a lost FIN|PSH costs nothing, as neither end would resend). */
		int stateless = fl & 0x08;
		if (stateless)
			count(TW_STAT_HS_ACCEPTED);
		/* The peer closes (CLOSE-WAIT, and we close at once: LAST-ACK), as the engine's
		 * server does without a response: <SEQ=cookie+1><ACK=seq+1><FIN,ACK>. */
		r.seq = ackn;
		r.ack = seq + 1;
		r.flags = stateless ? 0x19 : 0x11;
		tw_words(&r, 0, -1, 0, g.ts && o.has_ts, tsnow | 1, o.tsval);
		int act = tw_emit(ctx, h, &r);
		if (act < 0)
			return tw_hs_count(TW_STAT_HS_TX_ERR, TW_TO_ENGINE);
		if (stateless)
			count(TW_STAT_HS_CLOSED);
		return tw_hs_count(TW_STAT_HS_FIN_ANSWERED, act);
	}
	if (data_phase)
		return TW_TO_ENGINE; /* may be a connection the engine holds */
	if (!fin && tw_cookie_ok(h, &t, seq - 2, ackn - 2, now, &g))
		return tw_hs_count(TW_STAT_HS_CLOSED, XDP_DROP);
	/* Not a cookie of ours, or expired, or a connection the engine took over (data): the
	 * engine decides (it holds those TCBs, and answers a bad cookie with its RST, counted
	 * cookie_invalid). */
	return tw_hs_count(TW_STAT_HS_BAD_COOKIE, TW_TO_ENGINE);
}

#endif
