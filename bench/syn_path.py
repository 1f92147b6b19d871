#!/usr/bin/env python3
"""Reads bench/syn_path.sh's folder: run.json (threeway's figures), cap.pcap (the peer's
capture) and trace.txt (tracefs). Per SYN from the trace: S = our sendto that carried it (the
departure stamp is read just before), Q = netif_rx into the peer, R = the peer's receive (its
capture's SYN-in), A = its SYN-ACK's dev_queue_xmit, X = our XDP redirect of that SYN-ACK (the
RX stamp). Prints where the RTT (~ X - S) goes, and which SYNs make its tail."""
import collections, json, math, re, struct, sys

def pct(v, q):
    v = sorted(v)
    return v[min(max(math.ceil(len(v) * q), 1), len(v)) - 1]

def capture(path):
    """Per handshake: (SYN in, SYN-ACK out, ACK in) in ns, as tests/latency_wire.rs pairs them."""
    b, o, hs = open(path, 'rb').read(), 24, {}
    while o + 16 <= len(b):
        s, ns, cl, _ = struct.unpack_from('<IIII', b, o)
        f, o = b[o + 16:o + 16 + cl], o + 16 + cl
        if len(f) < 54 or f[12:14] != b'\x08\x00' or f[23] != 6:
            continue
        tcp = f[14 + (f[14] & 15) * 4:]
        sp, dp, seq, ack = struct.unpack('>HHII', tcp[:12])
        fl = tcp[13]
        if fl & 2 and not fl & 16 and dp == 8080:
            i, k = 0, (sp, seq)
        elif fl & 2 and fl & 16 and sp == 8080:
            i, k = 1, (dp, (ack - 1) & 0xffffffff)
        elif not fl & 6 and fl & 16 and dp == 8080:
            i, k = 2, (sp, (seq - 1) & 0xffffffff)
        else:
            continue
        e = hs.setdefault(k, [None] * 3)
        if e[i] is None and (i == 0 or e[i - 1] is not None):
            e[i] = s * 10**9 + ns
    return [e for e in hs.values() if None not in e]

LINE = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+(\S+)\s+([\d.]+):\s+(\S+?):?\s(.*)$')

def syns(path):
    """The SYNs (IP length 60) of the trace, each with S, Q, R, A, X (us), its kick's SYN count
    and its position there, and the task the peer's receive ran in."""
    ev = [m.groups() for m in map(LINE.match, open(path)) if m]
    kicks = collections.Counter(e[1] for e in ev if e[5] == 'sys_sendto(fd' and 'buff: 0,' in e[6])
    worker = kicks.most_common(1)[0][0]
    kick, by_skb, out, last, synacks = None, {}, [], None, collections.deque()
    for comm, pid, _cpu, _fl, ts, name, rest in ev:
        t = float(ts) * 1e6
        skb = re.search(r'skbaddr=(\S+)', rest)
        if pid == worker and name == 'sys_sendto(fd' and 'buff: 0,' in rest:
            kick = {'S': t, 'n': 0}
        elif pid == worker and name == 'sys_sendto':
            kick = None
        elif name == 'netif_rx' and 'dev=tw1' in rest and 'len=60' in rest and kick:
            d = {'Q': t, 'S': kick['S'], 'pos': kick['n'], 'kick': kick}
            kick['n'] += 1
            by_skb[skb.group(1)] = d
            out.append(d)
        elif name == 'netif_receive_skb' and 'dev=tw1' in rest and 'len=60' in rest:
            last = by_skb.pop(skb.group(1), None)
            if last:
                last.update(R=t, task=comm)
        elif name == 'net_dev_queue' and 'dev=tw1' in rest and 'len=74' in rest:
            if last and 'A' not in last:
                last['A'] = t
                synacks.append(last)
        elif name == 'xdp_redirect' and synacks:
            synacks.popleft()['X'] = t
    return [d for d in out if all(k in d for k in 'SQRAX')]

def main(folder):
    j = json.load(open(f'{folder}/run.json'))
    h = capture(f'{folder}/cap.pcap')
    s = syns(f'{folder}/trace.txt')
    us = lambda ns: ns / 1e3
    print(f"threeway RTT p50 {us(j['rtt_ns']['p50']):.1f} p99 {us(j['rtt_ns']['p99']):.1f} us; "
          f"syn_own_kicks {j['counters']['worker'].get('syn_own_kicks', 0)}; "
          f"late_starts {j['late_starts']}")
    for q in (0.5, 0.99):
        print(f"capture p{round(q * 100)}: SYN in -> SYN-ACK out {us(pct([e[1] - e[0] for e in h], q)):.1f}"
              f" us, SYN in -> ACK in {us(pct([e[2] - e[0] for e in h], q)):.1f} us ({len(h)} handshakes)")
    print(f"trace: {len(s)} SYNs; SYNs per kick: "
          f"{collections.Counter(d['kick']['n'] for d in s if d['pos'] == 0).most_common(8)}")
    for name, f in [('X-S (RTT as stamped)', lambda d: d['X'] - d['S']),
                    ('Q-S (stamp -> SYN into veth)', lambda d: d['Q'] - d['S']),
                    ('R-Q (wait in the peer backlog)', lambda d: d['R'] - d['Q']),
                    ('A-R (peer turnaround)', lambda d: d['A'] - d['R']),
                    ('X-A (SYN-ACK -> our XDP)', lambda d: d['X'] - d['A'])]:
        v = [f(d) for d in s]
        print(f"  {name:32} p50 {pct(v, .5):6.0f}  p99 {pct(v, .99):6.0f}  max {max(v):6.0f} us")
    print(f"  peer receive ran in: {collections.Counter(d['task'] for d in s).most_common(3)}")
    cut = pct([d['X'] - d['S'] for d in s], .99)
    tail = [d for d in s if d['X'] - d['S'] >= cut]
    print(f"  tail (RTT >= p99 {cut:.0f} us): {len(tail)} SYNs, "
          f"{sum(d['pos'] > 0 for d in tail)} behind other SYNs of their kick")

if __name__ == '__main__':
    main(sys.argv[1])
