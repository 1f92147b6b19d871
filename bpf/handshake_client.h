/* The client's handshake in XDP (--offload xdp, TW_HS_CLIENT): user space paces the SYNs;
 * XDP checks each SYN-ACK with no table and answers it, one frame out per frame in.
 *
 * Our SYN's ISN is SipHash-2-4(isn key; tuple words, TSval) (src/tcp/offload.rs
 * `client_isn`) and its TSval the attempt's intended start in µs. The peer echoes both: a
 * SYN-ACK is ours when ack == ISN(tuple, TSecr) + 1, and `now - TSecr` is the handshake
 * latency from the intended start (not the send time: a late pacer's lateness is in it).
 *
 * The third segment is ACK|FIN (a legal graceful close), with PSH set (no data: a marker
 * threeway's XDP server counts as an accept, where a later FIN is not): it completes the
 * handshake on the peer (a Linux listener creates the child socket and counts TcpPassiveOpens; a bare RST
 * instead would only drop its request socket, and ACK then RST needs two frames), and starts
 * the close. The peer's ACK of our FIN is consumed; its FIN is answered with the last ACK.
 * Every segment keeps TSval = the SYN's (equal is what PAWS allows), so the peer keeps
 * echoing it and each later segment is checked the same way (ack == ISN + 2).
 *
 * The engine keeps what it needs state for: RSTs (refusals: its SYN-SENT TCB counts them),
 * SYN-ACKs without timestamps or with a wrong ack (counted HSC_BAD_SYNACK), data, odd
 * options. IPv4 only, no VLAN, IHL 5, as the server half (bpf/handshake.h).
 */
#ifndef THREEWAY_HANDSHAKE_CLIENT_H
#define THREEWAY_HANDSHAKE_CLIENT_H
#include "handshake.h"

/* Established marks: per source port, the ack (our ISN + 1) of the SYN-ACK XDP answered
 * there. User space reads it without a syscall (BPF_F_MMAPABLE) to end the attempt whose
 * SYN-SENT TCB has that ISS as established (no SYN retransmission, no timeout); an ISN is
 * a 32-bit keyed hash of tuple and TSval, so a stale mark matches a new attempt on the same
 * port with probability 2^-32. One port, one attempt in flight: the client offload runs
 * with one source and one destination (src/tcp/offload.rs `client_blocker`). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u32);
} tw_hs_marks SEC(".maps");

/* Handshake latency from the intended start (the SYN's TSval, echoed in TSecr) to the SYN-ACK
 * here, in ns, as log-linear buckets (src/xsk/handshake.rs `lat_index`, `lat_value`): values
 * below 256 exact, then 128 buckets per power of two (relative width < 0.8%) up to 2^37 ns.
 * Per-CPU, one element (31,744 bytes, under the kernel's 32 KiB per-CPU value limit), so user
 * space reads the whole histogram with one syscall. The TSval is in µs: the engine takes each
 * intended start to the nearest µs (active_open), so the TSval carries it exactly.
 * Element TW_LAT_ANSWERED: the SYN-ACKs XDP answered, once per attempt (the run's latency).
 * Element TW_LAT_WITNESS, --offload check only: the engine's half timed here as well, every
 * SYN-ACK with the right ack, before it goes on to the engine, with the same clock read as its
 * RX stamp (tw_hs_client's `rx_ns`). The same SYN-ACKs measured by both: the XDP figure
 * checked against the engine's with no sampling difference between them. */
#define TW_LAT_BUCKETS 3968
#define TW_LAT_ANSWERED 0
#define TW_LAT_WITNESS 1

struct tw_lat {
	__u64 b[TW_LAT_BUCKETS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct tw_lat);
} tw_hs_lat SEC(".maps");

static __always_inline __u32 tw_msb64(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	return r + (__u32)(v >> 1);
}

static __always_inline __u32 tw_lat_index(__u64 v)
{
	if (v < 256)
		return (__u32)v;
	__u32 shift = tw_msb64(v) - 7;
	__u64 idx = (__u64)shift * 128 + (v >> shift);
	return idx < TW_LAT_BUCKETS ? (__u32)idx : TW_LAT_BUCKETS - 1;
}

static __always_inline void tw_lat_record(__u64 now, __u32 tsecr, __u32 element)
{
	__u64 now_us = now / 1000;
	__u64 ns = (__u64)((__u32)now_us - tsecr) * 1000 + (now - now_us * 1000);
	struct tw_lat *l = bpf_map_lookup_elem(&tw_hs_lat, &element);
	if (!l)
		return;
	__u32 i = tw_lat_index(ns);
	if (i < TW_LAT_BUCKETS)
		l->b[i] += 1;
}

/* --offload check (cport_split = W workers, else 0): the port is the engine's
 * (offload::check_port_in_xdp is its negation): the port's place in its worker's sequence
 * (ports p, p + W, p + 2W, ...) in blocks of four, in the order XXEE, EEXX, XEEX or EXXE
 * that a Fibonacci hash of the block picks (0x963c: the orders' engine places, a nibble
 * each). */
static __always_inline __u32 tw_check_engine(const struct tw_hs_cfg *h, __u32 port)
{
	__u32 w = h->cport_split;
	if (!w)
		return 0;
	__u32 seq = port / w;
	__u32 order = ((seq >> 2) * 0x9e3779b1u) >> 30;
	return (0x963cu >> (order * 4 + (seq & 3))) & 1;
}

/* The client ISN (offload::client_isn): the tuple's message words (isn::key_words) and the
 * SYN's TSval as the third word. */
static __always_inline __u32 tw_client_isn(const struct tw_hs_cfg *h, const struct tw_tuple *t,
					   __u32 tsval)
{
	__u64 w0 = (__u64)t->local_ip << 32 | t->remote_ip;
	__u64 w1 = (__u64)t->local_port << 16 | t->remote_port;
	return (__u32)tw_sip3(h->isn_k0, h->isn_k1, w0, w1, tsval);
}

/* --offload check, a segment on one of the engine's ports: a SYN-ACK with the right ack is
 * timed (TW_LAT_WITNESS) and its arrival handed back in `rx_ns` (the raw clock, as stamp_rx
 * reads it) for the engine's RX stamp; everything goes on to the engine, uncounted. */
static __always_inline int tw_hs_witness(struct xdp_md *ctx, const struct tw_hs_cfg *h,
					 const struct tw_seg *s, __u64 *rx_ns)
{
	__u8 fl = s->fl;
	if ((fl & 0x17) != 0x12 || s->seg_len != s->hlen) /* SYN|ACK, no RST or FIN, no data */
		return TW_TO_ENGINE;
	__u64 at = tw_hs_now(h);
	__u8 th[TW_TH_BUF] TW_TH_ALIGN = {};
	struct tw_opts o = {};
	/* Not tw_hs_read_tcp: its drops would be counted twice, here and by the engine. The
	 * checksums are the engine's to check. */
	if (tw_hs_load_tcp(ctx, s->hlen, th, &o) != TW_OPTS_OK || !o.has_ts)
		return TW_TO_ENGINE;
	if (tw_be32(th, 8) != tw_client_isn(h, &s->t, o.tsecr) + 1)
		return TW_TO_ENGINE;
	tw_lat_record(at, o.tsecr, TW_LAT_WITNESS);
	*rx_ns = at + h->epoch_ns;
	return TW_TO_ENGINE;
}

/* A TCP segment to one of our IPv4 addresses and steered ports (as tw_hs_server). Returns
 * an XDP action, or TW_TO_ENGINE; `rx_ns`: see tw_hs_witness (else left 0). */
static __noinline int tw_hs_client(struct xdp_md *ctx, __u64 *rx_ns)
{
	__u32 zero = 0;
	const struct tw_hs_cfg *h = bpf_map_lookup_elem(&tw_hs, &zero);
	if (!h || !(h->flags & TW_HS_CLIENT))
		return TW_TO_ENGINE;
	struct tw_seg s = {};
	if (!tw_hs_segment(ctx, &s))
		return TW_TO_ENGINE;
	struct tw_tuple t = s.t;
	if (t.local_port < h->cport_lo || t.local_port > h->cport_hi)
		return TW_TO_ENGINE;
	if (tw_check_engine(h, t.local_port))
		return tw_hs_witness(ctx, h, &s, rx_ns); /* --offload check: the engine's half */
	__u32 hlen = s.hlen;
	if (hlen < 20 || hlen > 60 || s.seg_len != hlen)
		return tw_hs_count(TW_STAT_HS_TO_ENGINE, TW_TO_ENGINE); /* data: the engine's */
	__u8 fl = s.fl;
	int syn = fl & 0x02, ack = fl & 0x10, rst = fl & 0x04, fin = fl & 0x01;
	if (rst || !ack || (syn && fin))
		return TW_TO_ENGINE; /* refusals and oddities: the engine holds the TCB */
	/* A SYN-ACK's arrival, read before the checks (the SipHash and the answer take ~0.2 µs,
	 * which the engine's RX stamp, taken at the hook, does not include). */
	__u64 at = syn ? tw_hs_now(h) : 0;

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
	struct tw_reply r = {
		.src = t.local_ip,
		.dst = t.remote_ip,
		.sport = t.local_port,
		.dport = t.remote_port,
		.seq = ackn,
		.ack = seq + 1,
	};
	__builtin_memcpy(r.dst_mac, eth->h_source, 6);
	tw_words(&r, 0, -1, 0, 1, o.tsecr, o.tsval);

	/* Without the echoed TSval there is nothing to check the ack against. */
	if (!o.has_ts)
		return syn ? tw_hs_count(TW_STAT_HSC_BAD_SYNACK, TW_TO_ENGINE) : TW_TO_ENGINE;
	__u32 port = t.local_port;
	__u32 *mark = bpf_map_lookup_elem(&tw_hs_marks, &port);
	if (syn) {
		if (ackn != tw_client_isn(h, &t, o.tsecr) + 1)
			return tw_hs_count(TW_STAT_HSC_BAD_SYNACK, TW_TO_ENGINE);
		r.flags = 0x19; /* ACK|PSH|FIN: PSH marks the accept (tw_hs_server) */
		int act = tw_emit(ctx, h, &r);
		if (act < 0)
			return tw_hs_count(TW_STAT_HS_TX_ERR, TW_TO_ENGINE);
		/* One latency per attempt: a repeated SYN-ACK finds its mark already set. */
		if (mark && *mark != ackn)
			tw_lat_record(at, o.tsecr, TW_LAT_ANSWERED);
		if (mark)
			*mark = ackn;
		return tw_hs_count(TW_STAT_HSC_ESTABLISHED, act);
	}
	/* Later segments: this port's mark is the ack (ISS + 1) of the attempt XDP answered there
	 * (one attempt per port in flight), so ack == mark + 1 checks them without a hash. */
	if (!mark || *mark == 0 || ackn != *mark + 1)
		return TW_TO_ENGINE; /* not after our ACK|FIN: the engine's */
	if (!fin)
		return tw_hs_count(TW_STAT_HSC_FIN_ACKED, XDP_DROP);
	/* FIN|PSH with no data: threeway's XDP server, which keeps no state waiting for our
	 * last ACK (bpf/handshake.h); a Linux peer sets PSH only on data. */
	if (fl & 0x08)
		return tw_hs_count(TW_STAT_HSC_FIN_STATELESS, XDP_DROP);
	r.flags = 0x10; /* the last ACK */
	int act = tw_emit(ctx, h, &r);
	if (act < 0)
		return tw_hs_count(TW_STAT_HS_TX_ERR, TW_TO_ENGINE);
	return tw_hs_count(TW_STAT_HSC_FIN_ANSWERED, act);
}

#endif
