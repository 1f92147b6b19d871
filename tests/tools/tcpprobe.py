#!/usr/bin/env python3
"""Kernel-socket probes for threeway's host-sharing tests (stdlib only).

Run inside a test namespace. Every address must be inside 198.18.0.0/15.

  connect HOST PORT --count N [--bind ADDR] [--sport P] [--timeout S] [--gap-ms G] [--hold S]
          [--parallel]
      N kernel connect()s (each with a timeout), one after another or all at once
      (--parallel); closed at once, or all kept open for --hold seconds at the end.
      --sport P binds ports P, P+1, ...
  http URL [--timeout S]
      One HTTP GET; prints the status and the body's length.

Each command prints one JSON object on stdout.
"""
import argparse
import ipaddress
import json
import socket
import sys
import threading
import time
import urllib.request

LAB = ipaddress.ip_network("198.18.0.0/15")


def lab(s):
    if ipaddress.ip_address(s) not in LAB:
        raise SystemExit(f"{s} is outside 198.18.0.0/15: refused")
    return s


def connect(a):
    ok, errors, held = [0], {}, []
    lock = threading.Lock()

    def one(i):
        s = socket.socket()
        s.settimeout(a.timeout)
        try:
            if a.bind or a.sport:
                s.bind((a.bind or "0.0.0.0", a.sport + i if a.sport else 0))
            s.connect((lab(a.host), a.port))
            with lock:
                ok[0] += 1
                if a.hold:
                    held.append(s)
                    s = None
        except OSError as e:
            name = type(e).__name__
            with lock:
                errors[name] = errors.get(name, 0) + 1
        finally:
            if s is not None:
                s.close()

    if a.parallel:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(a.count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for i in range(a.count):
            one(i)
            if a.gap_ms:
                time.sleep(a.gap_ms / 1e3)
    ok = ok[0]
    if a.hold:
        time.sleep(a.hold)
    for s in held:
        s.close()
    print(json.dumps({"ok": ok, "failed": a.count - ok, "errors": errors}))


def http(a):
    host = urllib.parse.urlparse(a.url).hostname
    lab(host)
    try:
        with urllib.request.urlopen(a.url, timeout=a.timeout) as r:
            body = r.read()
            print(json.dumps({"status": r.status, "bytes": len(body)}))
    except OSError as e:
        print(json.dumps({"status": 0, "error": str(e)}))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("connect")
    c.add_argument("host")
    c.add_argument("port", type=int)
    c.add_argument("--count", type=int, default=50)
    c.add_argument("--bind")
    c.add_argument("--sport", type=int, default=0)
    c.add_argument("--timeout", type=float, default=2.0)
    c.add_argument("--gap-ms", type=float, default=0)
    c.add_argument("--hold", type=float, default=0)
    c.add_argument("--parallel", action="store_true")
    h = sub.add_parser("http")
    h.add_argument("url")
    h.add_argument("--timeout", type=float, default=3.0)
    a = p.parse_args()
    {"connect": connect, "http": http}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
