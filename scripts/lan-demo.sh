#!/usr/bin/env bash
# A LAN of K machines on one Linux box: K network namespaces ("hosts") joined by a bridge that
# lives in a namespace of its own, private addresses 10.77.0.0/24. Each host runs its agents with
# one command (`netac agent --run run.yaml --host hN`); the run config gives NO addresses: the
# agents find each other by mDNS alone, inside a private swarm (swarm key). At the end: the
# report, and a check that the learning metrics are byte-identical to `netac sim`.
# Everything the script creates (namespaces, bridge, veth pairs) is removed on exit, failure or
# Ctrl-C; the host's own network is never touched, and no traffic leaves these namespaces.
#
#   sudo scripts/lan-demo.sh [HOSTS] [AGENTS_PER_HOST] [STEPS] [SCENARIO] [TOPOLOGY] [options]
#   sudo scripts/lan-demo.sh 3 3 1000 paper-synthetic random-4-over-n --flap
#
# Options:
#   --flap            mid-run, host 1 loses its network for 3 s: link down, its TCP connections
#                     closed (ss -K, where the kernel allows), link up; the agents must reconnect
#   --seed N          run seed (default 0)
#   --out DIR         run directory (default runs/lan-demo-<time>)
#   --no-swarm-key    an open swarm (default: a private one, with a pre-shared swarm key)
#   --no-sim-check    skip the comparison with netac sim
# Needs: root (or CAP_NET_ADMIN + CAP_SYS_ADMIN), iproute2 (`ip`), node, a built netac (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

hosts=3 per_host=3 steps=1000 scenario=paper-synthetic topology=random-4-over-n
seed=0 out="" flap=0 swarm_key=1 sim_check=1
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --flap) flap=1 ;;
    --seed) seed=$2; shift ;;
    --out) out=$2; shift ;;
    --no-swarm-key) swarm_key=0 ;;
    --no-sim-check) sim_check=0 ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) echo "lan-demo: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -gt 0 ] && hosts=${positional[0]}
[ ${#positional[@]} -gt 1 ] && per_host=${positional[1]}
[ ${#positional[@]} -gt 2 ] && steps=${positional[2]}
[ ${#positional[@]} -gt 3 ] && scenario=${positional[3]}
[ ${#positional[@]} -gt 4 ] && topology=${positional[4]}
for value in "$hosts" "$per_host" "$steps" "$seed"; do
  [[ "$value" =~ ^[0-9]+$ ]] || { echo "lan-demo: expected a whole number, got '$value'" >&2; exit 2; }
done
if [ "$hosts" -lt 2 ] || [ "$hosts" -gt 200 ]; then echo "lan-demo: HOSTS must be 2..200" >&2; exit 2; fi
if [ "$flap" = 1 ] && [ "$hosts" -lt 2 ]; then echo "lan-demo: --flap needs at least 2 hosts" >&2; exit 2; fi

[ "$(id -u)" = 0 ] || { echo "lan-demo: needs root to create network namespaces (try: sudo $0 $*)" >&2; exit 1; }
command -v ip >/dev/null || { echo "lan-demo: needs iproute2 (the 'ip' command)" >&2; exit 1; }
node=$(command -v node) || { echo "lan-demo: needs node" >&2; exit 1; }
[ -f dist/cli/main.js ] || { echo "lan-demo: build netac first: npm run build" >&2; exit 1; }
netac() { "$node" "$repo/bin/netac.js" "$@"; }

agents=$((hosts * per_host))
out=${out:-runs/lan-demo-$(date -u +%Y%m%d-%H%M%S)}
run_file="$out/run.yaml"
prefix="netac-lan-$$"
bridge_ns="$prefix-br"
namespaces=()
host_pids=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  for pid in "${host_pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  # Give the agents a moment to stop cleanly (checkpoint, metrics), then end what is left in
  # the namespaces this script made (only processes it started can be in them).
  for _ in $(seq 1 50); do
    local left=0
    for ns in "${namespaces[@]}"; do [ -n "$(ip netns pids "$ns" 2>/dev/null)" ] && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for ns in "${namespaces[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  # Deleting a namespace deletes its end of every veth pair, and the bridge with its namespace.
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
  local leftover
  leftover=$(ip netns list 2>/dev/null | grep -c "^$prefix-" || true)
  if [ "$leftover" = 0 ]; then echo "lan-demo: removed namespaces $prefix-*"; else echo "lan-demo: WARNING: $leftover namespace(s) $prefix-* left" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'echo; echo "lan-demo: interrupted"; exit 130' INT TERM

echo "== network: $hosts hosts (namespaces $prefix-h0..h$((hosts - 1))) on a bridge in $bridge_ns, 10.77.0.0/24"
ip netns add "$bridge_ns"
namespaces+=("$bridge_ns")
ip -n "$bridge_ns" link set lo up
# mcast_snooping off: the bridge floods multicast (mDNS) to every port, like a plain switch.
ip -n "$bridge_ns" link add br0 type bridge mcast_snooping 0
ip -n "$bridge_ns" link set br0 up
for ((h = 0; h < hosts; h++)); do
  ns="$prefix-h$h"
  ip netns add "$ns"
  namespaces+=("$ns")
  # The veth pair is created inside the bridge namespace, one end moved to the host namespace.
  ip -n "$bridge_ns" link add "v$h" type veth peer name eth0 netns "$ns"
  ip -n "$bridge_ns" link set "v$h" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.77.0.$((h + 1))/24" dev eth0
  ip -n "$ns" link set eth0 up
  # No default route in a namespace: mDNS needs a route for multicast (FACTS.md).
  ip -n "$ns" route add 224.0.0.0/4 dev eth0
  echo "   h$h: $ns, 10.77.0.$((h + 1))"
done

host_list=""
for ((h = 0; h < hosts; h++)); do host_list+="${host_list:+,}h$h:$per_host"; done
swarm_flag=()
[ "$swarm_key" = 1 ] && swarm_flag=(--swarm-key)
echo "== run config: $agents agents, hosts $host_list, mDNS discovery only (no addresses)"
echo "+ netac init-run --hosts $host_list ${swarm_flag[*]} --scenario $scenario --topology $topology --steps $steps --seed $seed --out $run_file"
netac init-run --hosts "$host_list" "${swarm_flag[@]}" --scenario "$scenario" --topology "$topology" \
  --steps "$steps" --seed "$seed" --run-id "lan-demo-$$" --out "$run_file" >/dev/null
if grep -q '/ip4/10\.77' "$run_file"; then echo "lan-demo: the run config lists addresses; expected none" >&2; exit 1; fi

echo "== start: one command per host, each in its namespace"
for ((h = 0; h < hosts; h++)); do
  ns="$prefix-h$h"
  echo "+ ip netns exec $ns netac agent --run $run_file --host h$h"
  if [ "$h" = 0 ]; then
    # Host 0 shows its progress here; every host's output is also in $out/host-h<N>.out.
    ip netns exec "$ns" "$node" "$repo/bin/netac.js" agent --run "$run_file" --host "h$h" 2> >(tee "$out/host-h$h.out" >&2) &
  else
    ip netns exec "$ns" "$node" "$repo/bin/netac.js" agent --run "$run_file" --host "h$h" --quiet >"$out/host-h$h.out" 2>&1 &
  fi
  host_pids+=($!)
done

status_dir() { find "$out" -mindepth 2 -maxdepth 2 -type d -name "seed-$seed" -not -path "$out/sim/*" | head -1; }
min_step() {
  local dir
  dir=$(status_dir)
  [ -n "$dir" ] || { echo 0; return; }
  local steps_seen
  steps_seen=$(grep -ho '"step":[0-9]*' "$dir"/agent-*.status.json 2>/dev/null | cut -d: -f2 | sort -n)
  if [ "$(echo "$steps_seen" | grep -c .)" -lt "$agents" ]; then echo 0; else echo "$steps_seen" | head -1; fi
}

if [ "$flap" = 1 ]; then
  target=$((steps / 3))
  echo "== --flap: waiting for every agent to pass step $target"
  while [ "$(min_step)" -lt "$target" ]; do
    for pid in "${host_pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "lan-demo: a host exited before the flap" >&2; break 2; }; done
    sleep 0.5
  done
  echo "+ ip netns exec $prefix-h1 ip link set eth0 down   (slowest agent at step $(min_step))"
  ip netns exec "$prefix-h1" ip link set eth0 down
  # Close its connections too, so the agents must reconnect rather than ride out the outage on
  # TCP retransmission (the other hosts never see the resets: their side goes stale).
  echo "+ ip netns exec $prefix-h1 ss -K -tn state established dst 10.77.0.0/24; sleep 3"
  ip netns exec "$prefix-h1" ss -K -tn state established dst 10.77.0.0/24 >/dev/null 2>&1 ||
    echo "   (ss -K is not supported by this kernel: only the link goes down)"
  sleep 3
  echo "+ ip netns exec $prefix-h1 ip link set eth0 up     (slowest agent at step $(min_step))"
  ip netns exec "$prefix-h1" ip link set eth0 up
  ip -n "$prefix-h1" route replace 224.0.0.0/4 dev eth0
fi

failed=0
for ((h = 0; h < hosts; h++)); do
  if ! wait "${host_pids[$h]}"; then
    failed=1
    echo "lan-demo: host h$h failed; its output ($out/host-h$h.out) ends with:" >&2
    tail -n 5 "$out/host-h$h.out" >&2
  fi
done
host_pids=()
[ "$failed" = 0 ] || exit 1
# A host also exits 0 when its agents were stopped by a signal (Ctrl-C): check that all finished.
finished=$(grep -l '"state":"finished"' "$(status_dir)"/agent-*.status.json 2>/dev/null | wc -l)
if [ "$finished" != "$agents" ]; then echo "lan-demo: the run did not complete ($finished of $agents agents finished)" >&2; exit 1; fi

echo "== discovery (from the agents' logs in $out/logs)"
found=$(cat "$out"/logs/agent-*.log | grep -c 'mDNS: found agent' || true)
ready=$(cat "$out"/logs/agent-*.log | grep -c 'peers ready after' || true)
echo "   $found mDNS discoveries; $ready of $agents agents had every peer connected and subscribed"
if [ "$flap" = 1 ]; then
  echo "   the flap: $(cat "$out"/logs/agent-*.log | grep -c 'disconnected from agent' || true) disconnections," \
    "$(cat "$out"/logs/agent-*.log | grep -c 'gossipsub has no stream' || true) stale links repaired," \
    "$(cat "$out"/logs/agent-*.log | grep -c 'failed dials' || true) reconnections after failed dials; the run completed"
fi

echo "+ netac report $out"
netac report "$out"

if [ "$sim_check" = 1 ]; then
  echo "== the same run in the simulator"
  echo "+ netac sim --scenario $scenario --agents $agents --topology $topology --seeds $seed --steps $steps --out $out/sim --quiet --no-report"
  netac sim --scenario "$scenario" --agents "$agents" --topology "$topology" --seeds "$seed" --steps "$steps" --out "$out/sim" --quiet --no-report >/dev/null
  lan_dir=$(status_dir)
  sim_dir="$out/sim/$(basename "$(dirname "$lan_dir")")/seed-$seed"
  same=0
  for ((i = 0; i < agents; i++)); do
    if cmp -s "$lan_dir/agent-$i.metrics.jsonl" "$sim_dir/agent-$i.metrics.jsonl"; then same=$((same + 1)); else echo "   agent $i: metrics differ from the simulator's" >&2; fi
  done
  echo "   learning metrics byte-identical to netac sim: $same of $agents agents ($lan_dir vs $sim_dir)"
  [ "$same" = "$agents" ] || exit 1
fi
