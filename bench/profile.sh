#!/usr/bin/env bash
# Profiles threeway <-> threeway over veth system-wide (perf, software cpu-clock sampling: this
# VM has no hardware counters): kernel (veth, AF_XDP copy path) and user space together.
#   bench/profile.sh [seconds]   -> perf report summary on stdout, perf.data in /tmp
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-4}
bin=./target/release/threeway
a=twprof-a-$$; b=twprof-b-$$
cleanup() { ip netns del "$a" 2>/dev/null || true; ip netns del "$b" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$a"; ip netns add "$b"
ip link add tw0 netns "$a" type veth peer name tw1 netns "$b"
ip -n "$a" addr add 198.18.0.1/24 dev tw0; ip -n "$b" addr add 198.18.0.2/24 dev tw1
for x in "$a tw0" "$b tw1"; do set -- $x; ip -n "$1" link set lo up; ip -n "$1" link set "$2" up
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null; done
ip netns exec "$b" $bin serve 198.18.0.2:8080 -i tw1 --cores 1 --quiet &
srv=$!
sleep 1.5
ip netns exec "$a" $bin connect 198.18.0.2:8080 -i tw0 --cores 0 -r 0 --max-active 256 -d "${secs}s" --quiet --drain 200ms > /tmp/twprof-client.txt 2>&1 &
cli=$!
sleep 1
perf record -q -a -g -e cpu-clock -o /tmp/twprof.data -- sleep $((secs - 2)) 2>/dev/null
wait $cli || true
kill -INT $srv; wait $srv || true
grep -E "^Rate" /tmp/twprof-client.txt
perf report -i /tmp/twprof.data --no-children --sort comm,dso,sym --stdio 2>/dev/null | grep -E "^ +[0-9]" | head -45
