#!/usr/bin/env bash
# Runs the published Native AOT agent and Debian's prometheus-process-exporter side by side on the same
# synthetic /proc trees (1,000 processes at a 0.2 s interval, 10,000 at 1 s), plus a C loop that only opens,
# reads and closes every PID/stat, and prints peak RSS and CPU per sample for each, as ratios.
#
#   bench/compare.sh                 # publish, build, measure (about 5 minutes of publishing the first time)
#   AGENT=/path/to/otelpower SECONDS_PER_RUN=60 bench/compare.sh
#   RUNS="1000:0.2" bench/compare.sh  # only the 1,000-process run (PROCESSES:INTERVAL, space-separated)
#   ROUNDS=3 bench/compare.sh         # each run three times, then the median of each column
#   LIVE_PERCENT=10 bench/compare.sh  # a live tree: 10 % of the processes use CPU in each interval (below)
#
# The agent runs with json (to a file), otlp (http/protobuf to a local sink that answers 200, exporting
# every second) and prometheus (scraped once a second) on. The process exporter is scraped once per
# interval, so its "per sample" is per scrape, which is when it reads /proc. CPU is utime + stime from
# /proc/PID/stat over the measured window, after a warm-up; peak RSS is VmHWM at the end.
#
# The tree stands still by default: after the first interval no process uses CPU, so the agent divides no energy
# and exports no per-process joules. With LIVE_PERCENT=P, bench/live-writer.c runs beside every measure and, each
# interval, gives P % of the processes a clock tick, advances /proc/stat and counts RAPL energy, as on a busy host.
# Needs: dotnet, gcc, curl, python3, prometheus-process-exporter (apt-get install prometheus-process-exporter).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SECONDS_PER_RUN:-30}
rounds=${ROUNDS:-1}
live=${LIVE_PERCENT:-}
case "$live" in ''|[0-9]|[0-9][0-9]|100) ;; *) echo "[compare] LIVE_PERCENT must be a whole number from 0 to 100, not '$live'" >&2; exit 2 ;; esac
case "$rounds" in ''|*[!0-9]*|0) echo "[compare] ROUNDS must be a positive whole number, not '$rounds'" >&2; exit 2 ;; esac
warmup=${WARMUP_SECONDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/otelpower-compare-XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

log() { printf '[compare] %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { log "$1 is missing: $2"; exit 1; }; }
need dotnet "the .NET 10 SDK"
need gcc "apt-get install gcc"
need curl "apt-get install curl"
need python3 "apt-get install python3"
need prometheus-process-exporter "apt-get install prometheus-process-exporter"

agent=${AGENT:-}
if [ -z "$agent" ]; then
  log "publishing the agent (Native AOT) ..."
  dotnet publish src/OtelPower.Agent -c Release -o "$work/agent" >"$work/publish.log" 2>&1 || { cat "$work/publish.log"; exit 1; }
  agent="$work/agent/otelpower"
fi
log "building the tree generator and the C read floor ..."
dotnet build bench/OtelPower.Bench -c Release -o "$work/bench" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
gcc -O2 -o "$work/read-floor" bench/read-floor.c
gcc -O2 -o "$work/live-writer" bench/live-writer.c

clock_ticks=$(getconf CLK_TCK)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# "4.362 ms/pass (user 0.312, system 4.051), ..." from read-floor as "0.31 + 4.05 ms".
user_plus_system() { awk '{ u = $4; s = $6; gsub(/[^0-9.]/, "", u); gsub(/[^0-9.]/, "", s); printf "%.2f + %.2f ms", u, s }' <<<"$1"; }
# utime and stime of PID, in ms; cpu_ms is their sum.
user_system_ms() { awk -v hz="$clock_ticks" '{ sub(/.*\) /, ""); print $12 * 1000 / hz, $13 * 1000 / hz }' "/proc/$1/stat"; }
cpu_ms() { user_system_ms "$1" | awk '{ print $1 + $2 }'; }
peak_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
rollup() { awk '/^(Rss|Anonymous|Private_Clean|Shared_Clean):/ { printf "%s%s %d MiB", sep, $1, $2 / 1024; sep = ", " }' "/proc/$1/smaps_rollup"; }

# An OTLP/HTTP sink: answers every POST with 200 and an empty ExportMetricsServiceResponse.
sink_port=$(free_port)
python3 bench/otlp_sink.py "$sink_port" &
pids+=($!)

# Scrapes URL every PERIOD seconds until killed; counts scrapes in FILE.
scrape_loop() {
  local url=$1 period=$2 count=$3
  while true; do curl -sf -o /dev/null "$url" && echo >>"$count"; sleep "$period"; done
}

results=()
measure() {
  local processes=$1 interval=$2
  local tree="$work/tree-$processes"
  if [ ! -d "$tree" ]; then # written once, measured in every round
    log "writing a tree of $processes processes ..."
    "$work/bench/OtelPower.Bench" tree --processes "$processes" "$tree" >/dev/null
  fi
  local procfs="$tree/current/proc" sysfs="$tree/current/sys"
  local writer_pid="" writer_log="$work/live-$processes.log"
  if [ -n "$live" ]; then
    # Until it is stopped below, after the last measure of this round.
    "$work/live-writer" "$procfs" "$sysfs" "$interval" "$live" 1000000 >"$writer_log" 2>&1 &
    writer_pid=$!; pids+=("$writer_pid")
  fi

  # The agent, all three exporters on.
  local json="$work/agent-$processes.jsonl" scrapes="$work/agent-scrapes-$processes"
  : >"$json"; : >"$scrapes"
  OTEL_METRIC_EXPORT_INTERVAL=1000 "$agent" --procfs "$procfs" --sysfs "$sysfs" --cgroupfs "" --container-engines "" \
    --interval "$interval" --exporter json,otlp,prometheus --output "$json" --prometheus-port 0 \
    --otlp-protocol http/protobuf --otlp-endpoint "http://127.0.0.1:$sink_port" 2>"$work/agent-$processes.log" &
  local agent_pid=$!; pids+=("$agent_pid")
  sleep "$warmup"
  # Port 0: the agent takes a free port and names it in its log.
  local prom_port; prom_port=$(grep -o 'Prometheus endpoint listening on http://[^ ]*:[0-9]*/metrics' "$work/agent-$processes.log" | sed 's|.*:\([0-9]*\)/metrics|\1|')
  [ -n "$prom_port" ] || { log "the agent did not say where /metrics is:"; cat "$work/agent-$processes.log" >&2; exit 1; }
  scrape_loop "http://127.0.0.1:$prom_port/metrics" 1 "$scrapes" &
  local agent_scraper=$!; pids+=("$agent_scraper")
  local lines0 user0 system0; lines0=$(wc -l <"$json"); read -r user0 system0 < <(user_system_ms "$agent_pid")
  sleep "$seconds"
  local lines1 user1 system1; lines1=$(wc -l <"$json"); read -r user1 system1 < <(user_system_ms "$agent_pid")
  local agent_hwm; agent_hwm=$(peak_kib "$agent_pid")
  local agent_rollup; agent_rollup=$(rollup "$agent_pid")
  kill "$agent_scraper" "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
  local agent_samples=$((lines1 - lines0))
  local agent_user=$((${user1%.*} - ${user0%.*})) agent_system=$((${system1%.*} - ${system0%.*}))
  local agent_cpu; agent_cpu=$(awk -v c="$((agent_user + agent_system))" -v n="$agent_samples" 'BEGIN { printf "%.2f", n ? c / n : 0 }')

  # prometheus-process-exporter on the same tree, scraped once per interval.
  local pe_port; pe_port=$(free_port)
  local pe_scrapes="$work/pe-scrapes-$processes"; : >"$pe_scrapes"
  prometheus-process-exporter -procfs "$procfs" -procnames "$(seq -s, -f 'proc%g' 0 49)" -gather-smaps=false -threads=false \
    -web.listen-address "127.0.0.1:$pe_port" >"$work/pe-$processes.log" 2>&1 &
  local pe_pid=$!; pids+=("$pe_pid")
  sleep 1
  scrape_loop "http://127.0.0.1:$pe_port/metrics" "$interval" "$pe_scrapes" &
  local pe_scraper=$!; pids+=("$pe_scraper")
  sleep "$warmup"
  local s0 pcpu0; s0=$(wc -l <"$pe_scrapes"); pcpu0=$(cpu_ms "$pe_pid")
  sleep "$seconds"
  local s1 pcpu1; s1=$(wc -l <"$pe_scrapes"); pcpu1=$(cpu_ms "$pe_pid")
  local pe_hwm; pe_hwm=$(peak_kib "$pe_pid")
  local pe_procs; pe_procs=$(curl -sf "http://127.0.0.1:$pe_port/metrics" | awk '/^namedprocess_namegroup_num_procs/ { n += $2 } END { print n + 0 }')
  kill "$pe_scraper" "$pe_pid"; wait "$pe_pid" 2>/dev/null || true
  local pe_samples=$((s1 - s0))
  local pe_cpu; pe_cpu=$(awk -v c="$((${pcpu1%.*} - ${pcpu0%.*}))" -v n="$pe_samples" 'BEGIN { printf "%.2f", n ? c / n : 0 }')

  # The C read floor: the same files, nothing else; back to back (warm caches), then paced at the agent's
  # interval for as long as the agent ran (caches as cold as the agent's samples meet them).
  local passes=$((processes >= 10000 ? 50 : 500))
  local floor_line; floor_line=$("$work/read-floor" "$procfs" "$passes")
  local paced_passes; paced_passes=$(awk -v s="$seconds" -v i="$interval" 'BEGIN { printf "%d", s / i }')
  local paced_line; paced_line=$("$work/read-floor" "$procfs" "$paced_passes" "$interval")
  local floor paced; floor=${floor_line%% *}; paced=${paced_line%% *}
  # Where the time goes: the agent's user and system time per sample beside the floor's per pass.
  log "$processes processes, user + system per sample: agent $(awk -v u="$agent_user" -v s="$agent_system" -v n="$agent_samples" 'BEGIN { printf "%.2f + %.2f ms", n ? u / n : 0, n ? s / n : 0 }'); C floor back to back $(user_plus_system "$floor_line"), paced $(user_plus_system "$paced_line")"

  if [ -n "$writer_pid" ]; then
    kill -TERM "$writer_pid"; wait "$writer_pid" || true
    log "live tree at $processes processes (the writer's own CPU, outside every figure): $(cat "$writer_log")"
  fi

  results+=("$processes|$interval|$agent_samples|$agent_cpu|$((agent_hwm / 1024))|$pe_samples|$pe_cpu|$((pe_hwm / 1024))|$pe_procs|$floor|$paced")
  log "agent smaps_rollup at $processes processes: $agent_rollup"
  if [ "$agent_samples" -lt $(awk -v s="$seconds" -v i="$interval" 'BEGIN { printf "%d", s / i * 0.9 }') ]; then
    log "the agent fell behind at $processes processes: $agent_samples samples in $seconds s at a $interval s interval"
  fi
}

# A machine's CPU per sample moves by 10 to 30 % between runs minutes apart (the C floor's too), so with
# ROUNDS above 1 every column is measured that many times, one round after another, and the median is printed.
for run in ${RUNS:-1000:0.2 10000:1}; do
  for ((round = 1; round <= rounds; round++)); do
    [ "$rounds" -gt 1 ] && log "round $round of $rounds at ${run%%:*} processes"
    measure "${run%%:*}" "${run##*:}"
  done
done

# Start-up to the first JSON line (the first interval, 10 ms after the first sample) on the 1,000-process
# tree, json only, five runs: wall time and the CPU the whole run took (start, two samples, exit).
log "timing start-up ..."
startup=$(python3 - "$agent" "$work/tree-1000/current/proc" "$work/tree-1000/current/sys" <<'PY'
import os, subprocess, sys, time
agent, procfs, sysfs = sys.argv[1:4]
walls, cpus = [], []
for _ in range(5):
    start = time.monotonic()
    p = subprocess.Popen([agent, "--procfs", procfs, "--sysfs", sysfs, "--cgroupfs", "", "--container-engines", "",
                          "--interval", "0.01", "--samples", "1", "--exporter", "json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    walls.append((time.monotonic() - start) * 1000)
    _, _, usage = os.wait4(p.pid, 0)
    cpus.append((usage.ru_utime + usage.ru_stime) * 1000)
walls.sort(); cpus.sort()
print(f"start-up to the first JSON line: median {walls[2]:.0f} ms wall (min {walls[0]:.0f}, max {walls[4]:.0f}); whole run {cpus[2]:.0f} ms CPU (median of 5)")
PY
) || startup="start-up not measured (no 1,000-process run)"

printf '\n%s\n' "$startup"
printf '%s CPUs, %s s per run after %s s warm-up, load average %s; %s\n' "$(nproc)" "$seconds" "$warmup" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$([ -n "$live" ] && echo "live tree: $live % of the processes use CPU in each interval" || echo "a tree that stands still")"
printf '| processes | interval | agent CPU/sample | process-exporter CPU/scrape | C read floor (back to back / paced) | agent / exporter CPU | agent / C floor (back to back / paced) | agent peak RSS | exporter peak RSS | agent / exporter RSS |\n'
printf '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n'
row_line() {
  IFS='|' read -r n interval a_samples a_cpu a_rss p_samples p_cpu p_rss p_procs floor paced <<<"$1"
  awk -v label="$2" -v n="$n" -v i="$interval" -v ac="$a_cpu" -v pc="$p_cpu" -v f="$floor" -v fp="$paced" -v ar="$a_rss" -v pr="$p_rss" -v as="$a_samples" -v ps="$p_samples" -v pp="$p_procs" 'BEGIN {
    printf "| %d%s | %s s | %.2f ms (%d samples) | %.2f ms (%d scrapes, %d procs seen) | %.2f / %.2f ms | %.2fx | %.2fx / %.2fx | %d MiB | %d MiB | %.2fx |\n",
      n, label, i, ac, as, pc, ps, pp, f, fp, (pc ? ac / pc : 0), (f ? ac / f : 0), (fp ? ac / fp : 0), ar, pr, (pr ? ar / pr : 0) }'
}
for row in "${results[@]}"; do
  row_line "$row" ""
done
if [ "$rounds" -gt 1 ]; then
  # The median of each column over the rounds of one run (rounds are consecutive in results); its ratios are
  # those of the medians.
  for ((first = 0; first < ${#results[@]}; first += rounds)); do
    median_row=$(printf '%s\n' "${results[@]:first:rounds}" | awk -F'|' -v k="$rounds" '
      { for (c = 1; c <= NF; c++) v[c, NR] = $c; nf = NF }
      END {
        for (c = 1; c <= nf; c++) {
          for (i = 1; i <= k; i++) a[i] = v[c, i] + 0
          for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
          m = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
          printf "%s%s", (c > 1 ? "|" : ""), (c == 2 ? v[2, 1] : m)
        }
        print ""
      }')
    row_line "$median_row" " (median of $rounds)"
  done
fi
