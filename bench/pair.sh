#!/usr/bin/env bash
# Two published agents at once on one live synthetic tree, for a before/after comparison of a change whose
# effect is smaller than this machine's drift between runs minutes apart (10 to 30 %, the C floor's too).
# Both meet the same kernel caches, the same writer and the same moment, and swap places every other round.
#
#   bench/pair.sh BEFORE/otelpower AFTER/otelpower          # 6 rounds of 30 s, 1,000 processes at 0.2 s
#   ROUNDS=4 SECONDS_PER_RUN=20 PROCESSES=10000 INTERVAL=1 LIVE_PERCENT=10 bench/pair.sh A B
#
# Each agent runs as in bench/compare.sh (json to a file, otlp/http to a local sink every second, prometheus
# scraped every second) while bench/live-writer.c gives LIVE_PERCENT % of the processes a clock tick each
# interval. Prints each round's CPU per sample (utime + stime over the window / JSON lines written) and peak
# RSS of both, the ratio AFTER / BEFORE, and the median ratio: below 1 means AFTER costs less.
# Needs: dotnet, gcc, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 2 ] || { echo "usage: bench/pair.sh BEFORE_AGENT AFTER_AGENT" >&2; exit 2; }
before=$1 after=$2
for agent in "$before" "$after"; do
  [ -x "$agent" ] || { echo "[pair] $agent: not an executable" >&2; exit 2; }
done
rounds=${ROUNDS:-6} seconds=${SECONDS_PER_RUN:-30} processes=${PROCESSES:-1000} interval=${INTERVAL:-0.2}
live=${LIVE_PERCENT:-10} warmup=${WARMUP_SECONDS:-3}
case "$rounds$seconds$processes$live" in *[!0-9]*) echo "[pair] ROUNDS, SECONDS_PER_RUN, PROCESSES and LIVE_PERCENT are whole numbers" >&2; exit 2 ;; esac

work=$(mktemp -d "${TMPDIR:-/tmp}/otelpower-pair-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '[pair] %s\n' "$*" >&2; }

log "building the tree generator and the live writer ..."
dotnet build bench/OtelPower.Bench -c Release -o "$work/bench" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
gcc -O2 -o "$work/live-writer" bench/live-writer.c
log "writing a tree of $processes processes ..."
"$work/bench/OtelPower.Bench" tree --processes "$processes" "$work/tree" >/dev/null
procfs="$work/tree/current/proc" sysfs="$work/tree/current/sys"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
sink_port=$(free_port)
python3 bench/otlp_sink.py "$sink_port" &
pids+=($!)
"$work/live-writer" "$procfs" "$sysfs" "$interval" "$live" 1000000 >"$work/writer.log" 2>&1 &
pids+=($!)

cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
clock_ticks=$(getconf CLK_TCK)

declare -A pid
# Starts one agent (before or after) in the background and notes its pid. Its /metrics port is named in its log.
start_agent() {
  local executable=$before
  [ "$1" = after ] && executable=$after
  OTEL_METRIC_EXPORT_INTERVAL=1000 "$executable" --procfs "$procfs" --sysfs "$sysfs" --cgroupfs "" --container-engines "" \
    --interval "$interval" --exporter json,otlp,prometheus --output "$work/$1.jsonl" --prometheus-port 0 \
    --otlp-protocol http/protobuf --otlp-endpoint "http://127.0.0.1:$sink_port" >/dev/null 2>"$work/$1.log" &
  pid[$1]=$!
  pids+=($!)
}
metrics_url() { grep -o 'Prometheus endpoint listening on http://[^ ]*:[0-9]*/metrics' "$work/$1.log" | sed 's/.* on //'; }

ratios=()
for ((round = 1; round <= rounds; round++)); do
  # Odd rounds start BEFORE first, even rounds AFTER: neither always has the first pick of a CPU.
  if ((round % 2)); then first=before second=after; else first=after second=before; fi
  : >"$work/before.jsonl"; : >"$work/after.jsonl"
  start_agent "$first"
  start_agent "$second"
  sleep "$warmup"
  urls="$(metrics_url before) $(metrics_url after)"
  [ "$(wc -w <<<"$urls")" -eq 2 ] || { log "an agent did not say where /metrics is:"; cat "$work"/*.log >&2; exit 1; }
  ( while true; do for url in $urls; do curl -sf -o /dev/null "$url" || true; done; sleep 1; done ) &
  scraper=$!; pids+=("$scraper")
  declare -A cpu0 lines0
  for name in before after; do cpu0[$name]=$(cpu_ticks "${pid[$name]}"); lines0[$name]=$(wc -l <"$work/$name.jsonl"); done
  sleep "$seconds"
  declare -A per_sample peak
  for name in before after; do
    samples=$(($(wc -l <"$work/$name.jsonl") - ${lines0[$name]}))
    per_sample[$name]=$(awk -v c="$(($(cpu_ticks "${pid[$name]}") - ${cpu0[$name]}))" -v n="$samples" -v hz="$clock_ticks" 'BEGIN { printf "%.3f", n ? c * 1000 / hz / n : 0 }')
    peak[$name]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/${pid[$name]}/status")
  done
  kill "$scraper" "${pid[before]}" "${pid[after]}"; wait "${pid[before]}" "${pid[after]}" 2>/dev/null || true
  ratio=$(awk -v a="${per_sample[after]}" -v b="${per_sample[before]}" 'BEGIN { printf "%.3f", b ? a / b : 0 }')
  ratios+=("$ratio")
  printf 'round %d: before %s ms/sample, %s MiB; after %s ms/sample, %s MiB; after / before %s\n' \
    "$round" "${per_sample[before]}" "${peak[before]}" "${per_sample[after]}" "${peak[after]}" "$ratio"
done

printf '%s\n' "${ratios[@]}" | sort -n | awk -v p="$processes" -v i="$interval" -v l="$live" '
  { r[NR] = $1 }
  END { m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
        printf "median after / before: %.3f (%d rounds, %d processes at %s s, %d %% live; from %.3f to %.3f)\n", m, NR, p, i, l, r[1], r[NR] }'
