#!/bin/bash
# One-off capture of the golden frames in frames.rs (needs root, tcpdump, ethtool, python3).
# Two throwaway namespaces joined by a veth pair; addresses from 198.18.0.0/15 and
# 2001:2::/48 only; TX checksum offload off on both ends so captured checksums are complete.
# Usage: ./capture.sh [out.pcap]     (default: ./golden.pcap)
set -ex
cd "$(dirname "$0")"
OUT=$(realpath -m "${1:-golden.pcap}")
A=twg-$$-a; B=twg-$$-b
trap 'ip netns del $A; ip netns del $B' EXIT
ip netns add $A; ip netns add $B
ip link add twga$$ address 02:00:00:00:00:01 netns $A type veth \
    peer name twgb$$ address 02:00:00:00:00:02 netns $B
for ns in $A:twga$$:1 $B:twgb$$:2; do
  IFS=: read -r n dev h <<<"$ns"
  ip -n "$n" link set lo up; ip -n "$n" link set "$dev" up
  ip -n "$n" addr add 198.18.0."$h"/24 dev "$dev"
  ip -n "$n" addr add 2001:2::"$h"/64 dev "$dev" nodad
  ip netns exec "$n" ethtool -K "$dev" tx off
done
ip netns exec $A tcpdump -i twga$$ -w "$OUT" -U -n &
TD=$!; sleep 1
ip netns exec $B python3 server.py 198.18.0.2 & SRV=$!; sleep 0.5
ip netns exec $A python3 client.py 198.18.0.2 198.18.0.1
wait $SRV || true
ip netns exec $B python3 server.py 2001:2::2 & SRV=$!; sleep 0.5
ip netns exec $A python3 client.py 2001:2::2 2001:2::1
wait $SRV || true
sleep 0.5; kill $TD; wait $TD || true
