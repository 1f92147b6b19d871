#!/usr/bin/env python3
"""Raw-frame helpers for threeway's reliability tests (stdlib only: socket.AF_PACKET).

Run inside a test namespace (`ip netns exec NS python3 twnet.py CMD ...`). Every address a
command sends from or to must be inside 198.18.0.0/15 or 2001:2::/48; the commands refuse
anything else.

Commands
  relay      L2 impairment relay between two interfaces (a netem stand-in: this kernel has no
             sch_netem, and AF_XDP TX bypasses qdiscs anyway). IPv4/TCP frames are dropped,
             duplicated, delayed (delay +- jitter, uniform) or sent at once ("reordered", as
             netem's `reorder`); everything else (ARP, ...) is forwarded untouched. Runs until
             SIGTERM/SIGINT, then writes its counters as JSON to --stats.
  flood      SYNs from spoofed sources (a CIDR inside 198.18.0.0/15) at --rate for --duration.
  malformed  Each kind of malformed frame --repeat times (IPv4 or, with IPv6 addresses, IPv6
             kinds: malformed_frames / malformed_frames6); prints counts as JSON.
  rst        RSTs (and RST+ACKs) with random, almost surely out-of-window, sequence numbers to
             every (source port, destination port) of two ranges.

Each command prints one JSON object on stdout at the end.
"""
import argparse
import heapq
import ipaddress
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
LAB = ipaddress.ip_network("198.18.0.0/15")
LAB6 = ipaddress.ip_network("2001:2::/48")


def lab_addr(s):
    a = ipaddress.ip_address(s)
    if a not in (LAB if a.version == 4 else LAB6):
        raise SystemExit(f"{s} is outside 198.18.0.0/15 and 2001:2::/48: refused")
    return a


def lab_net(s):
    n = ipaddress.ip_network(s, strict=False)
    if not n.subnet_of(LAB):
        raise SystemExit(f"{s} is outside 198.18.0.0/15: refused")
    return n


def mac_bytes(s):
    return bytes(int(x, 16) for x in s.split(":"))


def iface_mac(ifname):
    with open(f"/sys/class/net/{ifname}/address") as f:
        return mac_bytes(f.read().strip())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_header(src, dst, payload_len, proto=6, ihl=5, total_len=None, frag=0x4000,
                ident=0, ttl=64, options=b"", bad_csum=False):
    tl = total_len if total_len is not None else ihl * 4 + payload_len
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (ihl & 0xF), 0, tl & 0xFFFF, ident, frag, ttl,
                    proto, 0, src.packed, dst.packed) + options
    c = csum(h)
    if bad_csum:
        c ^= 0x5A5A
    return h[:10] + struct.pack("!H", c) + h[12:]


FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_segment(src, dst, sport, dport, seq, ack, flags, options=b"", payload=b"",
                doff=None, window=65535, bad_csum=False):
    hl = 20 + len(options)
    d = doff if doff is not None else hl // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                    (d & 0xF) << 4, flags, window, 0, 0) + options
    seg = h + payload
    if src.version == 6:  # RFC 8200 8.1: upper-layer length (32 bits), 3 zeros, next header
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(seg), 6)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 6, len(seg))
    c = csum(pseudo + seg)
    if bad_csum:
        c ^= 0x1234
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def frame(dst_mac, src_mac, ethertype, payload):
    return dst_mac + src_mac + struct.pack("!H", ethertype) + payload


def tcp_frame(dst_mac, src_mac, src, dst, sport, dport, seq, ack, flags, options=b"",
              payload=b"", **ip):
    seg = tcp_segment(src, dst, sport, dport, seq, ack, flags, options, payload)
    return frame(dst_mac, src_mac, ETH_P_IP, ipv4_header(src, dst, len(seg), **ip) + seg)


def ipv6_header(src, dst, payload_len, nh=6, hop_limit=64):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len & 0xFFFF, nh, hop_limit, src.packed,
                       dst.packed)


def ext_header(nh, body6):
    """An 8-byte extension header (hop-by-hop, routing, destination options, fragment...):
    next header, length 0 (8 bytes) or, for a fragment header, reserved, then 6 bytes."""
    assert len(body6) == 6
    return bytes([nh, 0]) + body6


PADN4 = b"\x01\x04\0\0\0\0"  # a PadN option filling an options header's 6 bytes


def ipv6_frame(dst_mac, src_mac, src, dst, seg, exts=(), plen=None):
    """`seg` behind the extension headers `exts` ((type, 6-byte body), first first), each
    pointing at the next, the last at TCP; `plen` overrides the payload length."""
    chain = b""
    types = [t for t, _ in exts] + [6]
    for i, (_, body) in enumerate(exts):
        chain += ext_header(types[i + 1], body)
    payload = chain + seg
    return frame(dst_mac, src_mac, ETH_P_IPV6,
                 ipv6_header(src, dst, len(payload) if plen is None else plen, types[0]) + payload)


SYN_OPTS = b"\x02\x04\x05\xb4" + b"\x04\x02\x08\x0a" + b"\0\0\0\1\0\0\0\0" + b"\x01\x03\x03\x07"


def open_tx(ifname):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    return s


# ---------------------------------------------------------------------------------- relay

def relay(a):
    rnd = random.Random(a.seed)
    socks = {}
    for name in (a.a, a.b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks[name] = s
    peer = {a.a: socks[a.b], a.b: socks[a.a]}
    names = {socks[a.a].fileno(): a.a, socks[a.b].fileno(): a.b}
    stats = {d: {"in": 0, "tcp": 0, "lost": 0, "duplicated": 0, "reordered": 0,
                 "delayed": 0, "out": 0, "send_errors": 0} for d in ("ab", "ba")}
    # Per direction, TCP frames by flags as delivered: "S", "SA", "A", "R", "RA", "F..." ...
    delivered = {"ab": {}, "ba": {}}
    # A listener's view of each tuple (a -> b frames, in delivery order): None -> (SYN) ->
    # request -> (ACK) -> child; an RST ends either. `requests` counts request sockets a
    # listener opens (a SYN delivered while the tuple has neither), `syn_tuples` the tuples
    # that got at least one SYN: requests - syn_tuples are SYN copies (duplicates,
    # retransmissions) that arrived after their connection had ended and opened another.
    tuples = {}
    model = {"requests": 0, "syn_tuples": 0, "acks_to_request": 0, "rsts_to_request": 0}
    heap = []
    seqno = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    poll = select.poll()
    for s in socks.values():
        poll.register(s, select.POLLIN)
    delay, jitter = a.delay_ms / 1e3, a.jitter_ms / 1e3

    def flags_of(f):
        ihl = (f[14] & 0xF) * 4
        fl = f[14 + ihl + 13] if len(f) > 14 + ihl + 13 else 0
        return "".join(c for bit, c in ((SYN, "S"), (FIN, "F"), (RST, "R"), (ACK, "A"))
                       if fl & bit)

    def listener_model(f):
        ihl = (f[14] & 0xF) * 4
        if len(f) < 14 + ihl + 14:
            return
        fl = f[14 + ihl + 13]
        key = f[26:34] + f[14 + ihl:14 + ihl + 4]
        st = tuples.get(key)
        if fl & RST:
            if st == "req":
                model["rsts_to_request"] += 1
            if st is not None:
                tuples[key] = None
        elif fl & SYN and not fl & ACK:
            if key not in tuples:
                model["syn_tuples"] += 1
            if st is None:
                model["requests"] += 1
                tuples[key] = "req"
        elif fl & ACK and not fl & SYN and st == "req":
            model["acks_to_request"] += 1
            tuples[key] = "child"

    def send(out, f, d):
        try:
            out.send(f)
            stats[d]["out"] += 1
            if len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == 6:
                k = flags_of(f)
                delivered[d][k] = delivered[d].get(k, 0) + 1
                if d == "ab":
                    listener_model(f)
        except OSError:
            stats[d]["send_errors"] += 1

    with open(a.ready, "w") if a.ready else open(os.devnull, "w") as r:
        r.write("ready\n")
    while not stop:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, out, f, d = heapq.heappop(heap)
            send(out, f, d)
        timeout = 50 if not heap else max(0, (heap[0][0] - time.monotonic()) * 1e3)
        try:
            events = poll.poll(timeout)
        except InterruptedError:
            continue
        for fd, _ in events:
            name = names[fd]
            s = socks[a.a] if name == a.a else socks[a.b]
            d = "ab" if name == a.a else "ba"
            for _ in range(256):
                try:
                    f, addr = s.recvfrom(65536)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                st = stats[d]
                st["in"] += 1
                out = peer[name]
                is_tcp = len(f) > 34 and f[12:14] == b"\x08\x00" and f[23] == 6
                if not is_tcp:
                    send(out, f, d)
                    continue
                st["tcp"] += 1
                if rnd.random() < a.loss:
                    st["lost"] += 1
                    continue
                copies = 1
                if rnd.random() < a.duplicate:
                    st["duplicated"] += 1
                    copies = 2
                t = time.monotonic()
                for _ in range(copies):
                    if rnd.random() < a.reorder:
                        st["reordered"] += 1
                        send(out, f, d)
                    else:
                        st["delayed"] += 1
                        seqno += 1
                        at = t + delay + rnd.uniform(-jitter, jitter)
                        heapq.heappush(heap, (at, seqno, out, f, d))
    for _, _, out, f, d in sorted(heap):
        send(out, f, d)
    out = {"ab": stats["ab"], "ba": stats["ba"], "delivered": delivered, "model": model}
    if a.stats:
        with open(a.stats + ".tmp", "w") as f:
            json.dump(out, f)
        os.rename(a.stats + ".tmp", a.stats)
    print(json.dumps(out))


# ---------------------------------------------------------------------------------- flood

def flood(a):
    rnd = random.Random(a.seed)
    net = lab_net(a.src_net)
    dst = lab_addr(a.dst)
    s = open_tx(a.iface)
    src_mac = iface_mac(a.iface)
    dst_mac = mac_bytes(a.dst_mac)
    hosts = int(net.num_addresses) - 2
    base = int(net.network_address) + 1
    # Pre-built pool (checksums are the slow part in Python); each frame is a distinct tuple.
    pool = []
    for i in range(a.pool):
        src = ipaddress.ip_address(base + rnd.randrange(hosts))
        assert src in LAB
        pool.append(tcp_frame(dst_mac, src_mac, src, dst, rnd.randrange(1024, 65536), a.dport,
                              rnd.getrandbits(32), 0, SYN, SYN_OPTS))
    sent = errors = 0
    t0 = time.monotonic()
    end = t0 + a.duration
    interval = 1.0 / a.rate
    nxt = t0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        # Send everything due (bursts catch up after a preemption), then sleep a little.
        while nxt <= now:
            try:
                s.send(pool[sent % len(pool)])
                sent += 1
            except OSError:
                errors += 1
            nxt += interval
        time.sleep(max(0.0, min(0.002, nxt - time.monotonic())))
    el = time.monotonic() - t0
    print(json.dumps({"sent": sent, "errors": errors, "seconds": el, "pps": sent / el}))


# ------------------------------------------------------------------------------ malformed

def malformed_frames(a, dst_mac, src_mac, src, dst):
    """(kind, frame) pairs; the kind says what the server should make of it."""
    rnd = random.Random(a.seed)
    dp = a.dport

    def sp():
        return rnd.randrange(40000, 60000)

    def seq():
        return rnd.getrandbits(32)

    out = []

    def add(kind, f):
        out.append((kind, f))

    good_syn = lambda **kw: tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), 0, SYN,
                                      SYN_OPTS, **kw)
    # Truncated: IP total length claims 40 bytes more than the frame carries.
    f = good_syn()
    add("truncated", f[:14] + ipv4_header(src, dst, 40 + len(SYN_OPTS), total_len=20 + 40 +
                                          40 + len(SYN_OPTS)) + f[34:])
    # Truncated below the TCP header (XDP cannot read the ports: passed to the kernel).
    add("truncated_short", good_syn()[:14 + 20 + 10])
    # Bad IHL: 4 (< 5) -> XDP parse error -> the kernel (InHdrErrors).
    seg = tcp_segment(src, dst, sp(), dp, seq(), 0, SYN, SYN_OPTS)
    add("ihl_small", frame(dst_mac, src_mac, ETH_P_IP, ipv4_header(src, dst, len(seg), ihl=4,
                                                                   total_len=20 + len(seg)) + seg))
    # Bad IHL: 15 (60 bytes of header) but total length 40: the header is longer than the
    # packet: a header-bounds error, which XDP passes to the kernel (InHdrErrors).
    opts = b"\x01" * 40
    seg = tcp_segment(src, dst, sp(), dp, seq(), 0, SYN)
    add("ihl_past_total", frame(dst_mac, src_mac, ETH_P_IP,
                                ipv4_header(src, dst, len(seg), ihl=15, total_len=40,
                                            options=opts) + seg))
    # Bad data offset: 4 (< 5) and 15 (past the segment).
    for kind, d in (("doff_small", 4), ("doff_large", 15)):
        seg = tcp_segment(src, dst, sp(), dp, seq(), 0, SYN, doff=d)
        add(kind, frame(dst_mac, src_mac, ETH_P_IP, ipv4_header(src, dst, len(seg)) + seg))
    # Bad checksums.
    add("bad_ip_csum", good_syn(bad_csum=True))
    seg = tcp_segment(src, dst, sp(), dp, seq(), 0, SYN, SYN_OPTS, bad_csum=True)
    add("bad_tcp_csum", frame(dst_mac, src_mac, ETH_P_IP, ipv4_header(src, dst, len(seg)) + seg))
    # Options: length 0; length past the header; wrong length for MSS.
    for kind, o in (("opt_len_zero", b"\x02\x00\x05\xb4"), ("opt_len_past", b"\x08\x0a\0\0"),
                    ("opt_mss_len", b"\x02\x03\x05\x01")):
        add(kind, tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), 0, SYN, o))
    # Flags.
    for kind, fl in (("syn_fin", SYN | FIN), ("syn_rst", SYN | RST), ("no_flags", 0),
                     ("fin_only", FIN)):
        add(kind, tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), 0, fl))
    # RST (out-of-window sequence) for a tuple with no connection.
    add("rst_nothing", tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), 0, RST))
    # ACK for nothing (a forged cookie).
    add("ack_nothing", tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), seq(), ACK))
    # IPv4 fragments (first and second half of a SYN): passed to the kernel by XDP.
    seg = tcp_segment(src, dst, sp(), dp, seq(), 0, SYN, SYN_OPTS)
    ident = rnd.randrange(1, 65535)
    add("fragment_first", frame(dst_mac, src_mac, ETH_P_IP,
                                ipv4_header(src, dst, 16, frag=0x2000, ident=ident,
                                            total_len=36) + seg[:16]))
    add("fragment_rest", frame(dst_mac, src_mac, ETH_P_IP,
                               ipv4_header(src, dst, len(seg) - 16, frag=2, ident=ident,
                                           total_len=20 + len(seg) - 16) + seg[16:]))
    # Oversized: a 2600-byte frame (needs MTU > 2600 on the path; bigger than a UMEM frame).
    add("oversized", tcp_frame(dst_mac, src_mac, src, dst, sp(), dp, seq(), seq(), ACK,
                               payload=bytes(2600 - 54)))
    # Unknown EtherTypes (local experimental 0x88b5, and 0x1234).
    add("ethertype_88b5", frame(dst_mac, src_mac, 0x88B5, bytes(46)))
    add("ethertype_1234", frame(dst_mac, src_mac, 0x1234, bytes(46)))
    return out


def malformed_frames6(a, dst_mac, src_mac, src, dst):
    """IPv6 (kind, frame) pairs. Where each lands is asserted by tests/reliability_malformed.rs
    (the engine's view is src/tcp/tests/ipv6.rs::malformed_ipv6_frames_are_counted_drops)."""
    rnd = random.Random(a.seed)
    dp = a.dport
    out = []

    def seg(flags=SYN, options=SYN_OPTS, ack=0, sport=None, **kw):
        sport = sport or rnd.randrange(40000, 60000)
        return tcp_segment(src, dst, sport, dp, rnd.getrandbits(32), ack, flags, options, **kw)

    # The SYNs the engine takes get ports of their own (20000 + 4 * round + k): random ones
    # could repeat a tuple and be counted as a duplicate SYN instead.
    def taken(k):
        return seg(sport=20000 + 4 * a.round + k)

    def add(kind, s, exts=(), plen=None):
        out.append((kind, ipv6_frame(dst_mac, src_mac, src, dst, s, exts, plen)))

    add("bad_tcp_csum", seg(bad_csum=True))
    for kind, o in (("opt_len_zero", b"\x02\x00\x05\xb4"), ("opt_len_past", b"\x08\x0a\0\0"),
                    ("opt_mss_len", b"\x02\x03\x05\x01")):
        add(kind, seg(options=o))
    for kind, fl in (("syn_fin", SYN | FIN), ("syn_rst", SYN | RST), ("no_flags", 0),
                     ("fin_only", FIN)):
        add(kind, seg(flags=fl, options=b""))
    add("rst_nothing", seg(flags=RST, options=b""))
    add("ack_nothing", seg(flags=ACK, options=b"", ack=rnd.getrandbits(32)))
    # Payload length: past the frame (by 40), and 10 (short of the TCP header).
    s = seg()
    add("plen_past", s, plen=len(s) + 40)
    add("plen_short", seg(), plen=10)
    # The frame cut inside the TCP header (the payload length says the whole segment).
    s = seg()
    out.append(("truncated_short", ipv6_frame(dst_mac, src_mac, src, dst, s)[:14 + 40 + 10]))
    for kind, d in (("doff_small", 4), ("doff_large", 15)):
        add(kind, seg(options=b"", doff=d))
    # Extension headers the XDP program and the engine walk to TCP: SYNs the engine takes.
    add("ext_hop_by_hop", taken(0), [(0, PADN4)])
    add("ext_dest_opts", taken(1), [(60, PADN4)])
    add("ext_routing_done", taken(2), [(43, b"\0\0\0\0\0\0")])  # type 0, segments left 0
    add("ext_chain", taken(3), [(0, PADN4), (43, b"\0\0\0\0\0\0"), (60, PADN4)])
    # Not walked (left to the kernel): a routing header with segments left, five headers
    # (more than MAX_IPV6_EXT), an unknown next header (no extension header, not TCP).
    add("ext_routing_left", seg(), [(43, b"\0\1\0\0\0\0")])
    add("ext_five", seg(), [(60, PADN4)] * 5)
    s = seg()
    out.append(("ext_unknown", frame(dst_mac, src_mac, ETH_P_IPV6,
                                     ipv6_header(src, dst, len(s), nh=200) + s)))
    # A fragmented segment (ACK + 28 bytes: the first fragment holds the whole TCP header,
    # as RFC 7112 asks and the kernel checks): reassembly is the kernel's.
    s = seg(flags=ACK, options=b"", ack=rnd.getrandbits(32), payload=bytes(28))
    ident = struct.pack("!I", rnd.getrandbits(32))
    add("fragment_first", s[:24], [(44, struct.pack("!H", 1) + ident)])  # offset 0, M
    add("fragment_rest", s[24:], [(44, struct.pack("!H", 3 << 3) + ident)])  # offset 24
    return out


def malformed(a):
    src, dst = lab_addr(a.src), lab_addr(a.dst)
    kinds = malformed_frames6 if src.version == 6 else malformed_frames
    s = open_tx(a.iface)
    dst_mac, src_mac = mac_bytes(a.dst_mac), iface_mac(a.iface)
    counts, errors = {}, {}
    t0 = time.monotonic()
    for i in range(a.repeat):
        a.seed = (a.seed or 0) * 1000003 + i
        a.round = i
        for kind, f in kinds(a, dst_mac, src_mac, src, dst):
            try:
                s.send(f)
                counts[kind] = counts.get(kind, 0) + 1
            except OSError as e:
                errors[kind] = str(e)
        if a.gap_ms:
            time.sleep(a.gap_ms / 1e3)
    print(json.dumps({"sent": counts, "errors": errors, "seconds": time.monotonic() - t0}))


# ------------------------------------------------------------------------------------ rst

def rst(a):
    rnd = random.Random(a.seed)
    src, dst = lab_addr(a.src), lab_addr(a.dst)
    s = open_tx(a.iface)
    dst_mac, src_mac = mac_bytes(a.dst_mac), iface_mac(a.iface)
    def ports(spec):
        lo, _, hi = spec.partition("-")
        return range(int(lo), int(hi or lo) + 1)

    sent = 0
    for _ in range(a.rounds):
        for sp in ports(a.sports):
            for dp in ports(a.dports):
                for with_ack in (False, True):
                    fl = RST | (ACK if with_ack else 0)
                    f = tcp_frame(dst_mac, src_mac, src, dst, sp, dp, rnd.getrandbits(32),
                                  rnd.getrandbits(32) if with_ack else 0, fl)
                    s.send(f)
                    sent += 1
        if a.gap_ms:
            time.sleep(a.gap_ms / 1e3)
    print(json.dumps({"sent": sent}))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--a", required=True)
    r.add_argument("--b", required=True)
    r.add_argument("--loss", type=float, default=0.0)
    r.add_argument("--delay-ms", type=float, default=0.0)
    r.add_argument("--jitter-ms", type=float, default=0.0)
    r.add_argument("--reorder", type=float, default=0.0)
    r.add_argument("--duplicate", type=float, default=0.0)
    r.add_argument("--seed", type=int, default=1)
    r.add_argument("--stats")
    r.add_argument("--ready")
    f = sub.add_parser("flood")
    f.add_argument("--iface", required=True)
    f.add_argument("--dst-mac", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--dport", type=int, required=True)
    f.add_argument("--src-net", default="198.19.0.0/16")
    f.add_argument("--rate", type=float, default=10000)
    f.add_argument("--duration", type=float, default=5)
    f.add_argument("--pool", type=int, default=20000)
    f.add_argument("--seed", type=int, default=1)
    m = sub.add_parser("malformed")
    m.add_argument("--iface", required=True)
    m.add_argument("--dst-mac", required=True)
    m.add_argument("--src", required=True)
    m.add_argument("--dst", required=True)
    m.add_argument("--dport", type=int, required=True)
    m.add_argument("--repeat", type=int, default=10)
    m.add_argument("--gap-ms", type=float, default=0)
    m.add_argument("--seed", type=int, default=1)
    t = sub.add_parser("rst")
    t.add_argument("--iface", required=True)
    t.add_argument("--dst-mac", required=True)
    t.add_argument("--src", required=True)
    t.add_argument("--sports", required=True, help="PORT or LO-HI")
    t.add_argument("--dst", required=True)
    t.add_argument("--dports", required=True, help="PORT or LO-HI")
    t.add_argument("--rounds", type=int, default=5)
    t.add_argument("--gap-ms", type=float, default=0)
    t.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    {"relay": relay, "flood": flood, "malformed": malformed, "rst": rst}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
