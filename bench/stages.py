#!/usr/bin/env python3
"""Per-stage breakdown of an engine-bench profile (issue 15's must-show 3).

    perf record -F 5000 -e cpu-clock -o /tmp/engine.data -- BENCH -n 3000000
    bench/stages.py BENCH /tmp/engine.data

Each sample of the bench binary is resolved with its inline chain (addr2line -i) and charged
to the innermost frame that is project code or hdrhistogram (std helpers count for their
caller), then mapped to a stage: parse, lookup, state machine, emit, checksum, histogram,
ISN/cookie hash, timers, departures, bench harness. Everything is inlined into a few big
functions, so a symbol-level `perf report` cannot tell the stages apart.
"""
import collections
import re
import subprocess
import sys

# (pattern on the inlined function name or file, stage); first match wins.
RULES = [
    (r"hdrhistogram|stats::record|tally::|tcp/tally", "histogram"),
    (r"checksum|ipv4_header_ok|sum_options", "checksum"),
    (r"fastpath::fast|fastpath::parse|wire::headers|wire::tcp|TcpOptions::parse|wire/headers|wire/tcp", "parse"),
    (r"fastpath::write|write_options|TcpOptions::words|output::|tcp/output|tcp/fastpath", "emit"),
    (r"table::|tcp/table", "lookup"),
    (r"isn::|cookie::|tcp/isn|tcp/cookie", "ISN/cookie hash"),
    (r"timer::|tcp/timer", "timers"),
    (r"stamps::|tcp/stamps", "departures"),
    (r"tcp::|/tcp/", "state machine"),
    (r"engine::run|engine::Ring|bench/engine|Transmit", "bench harness"),
]
def project(name, loc):
    """Project (or hdrhistogram) code. A frame is named by its function but located by the
    source line of its inlined callee's caller, so a std helper inlined into the bench's
    `run` reads `engine::run` at a std file: such frames are skipped for the next one."""
    if "hdrhistogram" in name or "hdrhistogram" in loc or "threeway::" in name:
        return True
    return "/work/" in loc


OTHER = collections.Counter()


def stage(names):
    for name, loc in names:
        if project(name, loc):
            key = name + " " + loc
            for pat, st in RULES:
                if re.search(pat, key):
                    return st
            OTHER[name + " " + loc.split("/")[-1]] += 1
            return "other project code"
    return "std/libc"


def main():
    binary, data = sys.argv[1], sys.argv[2]
    syms = {}
    for line in subprocess.run(["nm", binary], capture_output=True, text=True).stdout.splitlines():
        p = line.split()
        if len(p) == 3:
            syms[p[2]] = int(p[0], 16)
    out = subprocess.run(
        ["perf", "script", "-i", data, "--no-demangle", "-F", "ip,dso,sym,symoff", "-G"],
        capture_output=True, text=True).stdout
    addrs = collections.Counter()
    total = outside = 0
    for line in out.splitlines():
        m = re.match(r"\s*[0-9a-f]+ (\S+)\+0x([0-9a-f]+) \((.*)\)", line)
        total += 1
        if not m or m.group(3) != binary.split("/")[-1] and not m.group(3).endswith(binary):
            outside += 1
            continue
        base = syms.get(m.group(1))
        if base is None:
            outside += 1
            continue
        addrs[base + int(m.group(2), 16)] += 1
    keys = sorted(addrs)
    res = subprocess.run(["addr2line", "-e", binary, "-i", "-f", "-C", "-a"] +
                         [hex(a) for a in keys], capture_output=True, text=True).stdout
    chains, cur = {}, None
    lines = res.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("0x"):
            cur = int(lines[i], 16)
            chains[cur] = []
            i += 1
            continue
        chains[cur].append((lines[i], lines[i + 1] if i + 1 < len(lines) else ""))
        i += 2
    stages = collections.Counter()
    for a, n in addrs.items():
        stages[stage(chains.get(a, []))] += n
    inside = sum(addrs.values())
    print(f"samples: {total}, in the bench binary: {inside} (kernel/libc/other: {outside})")
    for st, n in stages.most_common():
        print(f"  {st:<20} {100 * n / inside:5.1f}%")
    if "-v" in sys.argv:
        print("other project code, by frame:", OTHER.most_common(8))


if __name__ == "__main__":
    main()
