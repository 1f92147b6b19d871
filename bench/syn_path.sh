#!/usr/bin/env bash
# Where a SYN's RTT goes on veth: `connect` -> kernel listener at RATE, 10,000 connections, with a
# tcpdump capture on the listener's veth and kernel tracepoints (tracefs, CLOCK_MONOTONIC, 1 us)
# of the SYN's path: our sendto, netif_rx into the peer, the peer's receive (where its capture
# sees it), its SYN-ACK's dev_queue_xmit and our XDP redirect. bench/syn_path.py reads both.
#   bench/syn_path.sh [RATE] [BUSY_LOOPS]   (root; default 10k, 0) -> figures on stdout
# THREEWAY_BIN=path picks another build (to compare one side by side).
set -euo pipefail
cd "$(dirname "$0")/.."
rate=${1:-10k}; hogs=${2:-0}
bin=${THREEWAY_BIN:-./target/release/threeway}
out=$(mktemp -d /tmp/twsyn.XXXX)
a=twsyn-a-$$; b=twsyn-b-$$
t=/sys/kernel/tracing/instances/twsyn-$$
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -d "$t" ] && rmdir "$t"
  ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
[ -d /sys/kernel/tracing/instances ] || mount -t tracefs nodev /sys/kernel/tracing
ip netns add "$a"; ip netns add "$b"
ip link add tw0 netns "$a" type veth peer name tw1 netns "$b"
ip -n "$a" addr add 198.18.0.1/24 dev tw0; ip -n "$b" addr add 198.18.0.2/24 dev tw1
for x in "$a tw0" "$b tw1"; do set -- $x; ip -n "$1" link set lo up; ip -n "$1" link set "$2" up
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null; done
ip netns exec "$b" $bin kernel listen 198.18.0.2:8080 --threads 2 >/dev/null & pids+=($!)
ip netns exec "$b" tcpdump -i tw1 -n -s 128 -B 16384 --immediate-mode -U \
  --time-stamp-precision=nano -w "$out/cap.pcap" tcp port 8080 2>/dev/null & pids+=($!)
sleep 1
mkdir "$t"; echo mono > "$t/trace_clock"; echo 65536 > "$t/buffer_size_kb"
for e in net/netif_rx net/netif_receive_skb net/net_dev_queue xdp/xdp_redirect \
         syscalls/sys_enter_sendto syscalls/sys_exit_sendto; do echo 1 > "$t/events/$e/enable"; done
for _ in $(seq "$hogs"); do (while :; do :; done) & pids+=($!); done
echo 1 > "$t/tracing_on"
ip netns exec "$a" $bin connect 198.18.0.2:8080 -i tw0 -n 10000 -r "$rate" --rto 1s --quiet \
  --json "$out/run.json" > "$out/run.txt" 2>&1
echo 0 > "$t/tracing_on"
cp "$t/trace" "$out/trace.txt"
sleep 0.5
python3 bench/syn_path.py "$out"
