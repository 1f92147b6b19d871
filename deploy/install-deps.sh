#!/usr/bin/env bash
# Installs what threeway needs to build and test on Debian 12 (idempotent; quiet when all is there).
# clang + libbpf-dev + linux-libc-dev: build bpf/steer.bpf.c; iproute2/ethtool: netns + veth
# topologies; tcpdump/iputils-ping/procps: tests and diagnostics; python3: the raw-frame
# generator and impairment relay of the reliability tests (tests/tools/twnet.py, stdlib only);
# nftables: rate caps and loss in test and router namespaces (no sch_netem here); chromium +
# fonts-dejavu-core: the headless screenshot of `threeway report` in the report test; nginx-light,
# wrk, curl: real HTTP peers of the request/response tests (started per test in its own netns).
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in clang libbpf-dev linux-libc-dev iproute2 ethtool tcpdump iputils-ping procps python3 nftables chromium fonts-dejavu-core nginx-light wrk curl; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing ${need[*]}; run as root (or: sudo apt-get install -y ${need[*]})" >&2
    exit 3
  fi
  echo "install-deps: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi
command -v cargo >/dev/null || { echo "install-deps: cargo not found: install Rust 1.95 (rustup)" >&2; exit 3; }
