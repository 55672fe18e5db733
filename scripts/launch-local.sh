#!/usr/bin/env bash
# What `netac launch` does, as plain commands: write a run config, start one `netac agent`
# process per agent, wait for all, draw the report. Ctrl-C stops every agent.
#
#   scripts/launch-local.sh [AGENTS] [SCENARIO] [TOPOLOGY] [STEPS]
#   scripts/launch-local.sh 4 paper-synthetic ring 500
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-4}
scenario=${2:-paper-synthetic}
topology=${3:-ring}
steps=${4:-500}
run_dir="runs/local-$(date -u +%Y%m%d-%H%M%S)"
netac() { node bin/netac.js "$@"; }

echo "+ netac init-run --agents $agents --scenario $scenario --topology $topology --steps $steps --out $run_dir/run.yaml"
netac init-run --agents "$agents" --scenario "$scenario" --topology "$topology" --steps "$steps" --out "$run_dir/run.yaml"

pids=()
stop_all() { kill -TERM "${pids[@]}" 2>/dev/null || true; }
trap 'echo; echo "stopping every agent"; stop_all; wait; exit 130' INT TERM
for ((id = 0; id < agents; id++)); do
  echo "+ netac agent --run $run_dir/run.yaml --id $id 2> $run_dir/agent-$id.log &"
  netac agent --run "$run_dir/run.yaml" --id "$id" --log-format pretty 2>"$run_dir/agent-$id.log" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
trap - INT TERM
if [ "$status" -ne 0 ]; then
  echo "an agent failed (exit $status); logs: $run_dir/agent-*.log" >&2
  exit "$status"
fi
echo "+ netac report $run_dir"
netac report "$run_dir"
