#!/usr/bin/env python3
"""Records which managed methods the published agent runs, and writes them as ILC's method order file.

Native AOT lays methods out by assembly and type, so the few thousand that the agent runs are spread over
its whole code section; the kernel maps file pages in 64 KB blocks around each page fault (fault-around),
so nearly all of the code ends up resident. Listed first (src/OtelPower.Agent/method-order.txt, passed to
ILC with --method-layout:explicit), the methods that run sit together and the rest is never mapped.

How: one uprobe at the entry of every method of __managedcode (symbols from the .dbg file beside the
native build), the agent run on the benchmark's workloads, and the probes that fired counted from
uprobe_profile. A probe that fired is removed before the next round, so each round runs faster; rounds repeat
until one finds (almost) nothing new. Needs root and a writable tracefs (/sys/kernel/tracing).

It is slow. Under 36,000 probes the agent takes tens of seconds to start (the first round reaches only a
few hundred methods), and the kernel waits for an RCU grace period per probe when they are disabled. The
committed list was recorded by hand with these same steps (three rounds and a console run, about 7 minutes
of disabling after the first); one later run of this script spent over 15 minutes disabling the probes
after its first round and was stopped, so this script has not yet been run to the end.

  sudo bench/layout/record-method-order.py --agent DIR/otelpower --dbg .../native/otelpower.dbg \\
      --tree /tmp/tree1000 [--out src/OtelPower.Agent/method-order.txt]

The tree is a synthetic /proc and /sys (bench/OtelPower.Bench tree --processes 1000 DIR). Methods that a
workload here never reaches (Kubernetes, GPUs, VMs) keep the compiler's order after the listed ones, so a
stale or partial list costs memory, never correctness.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.server
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from otlp_sink import Sink  # noqa: E402 (bench/ is not a package)

TRACEFS = "/sys/kernel/tracing"
GROUP = "otelpower_layout"


def log(message):
    print(f"[method-order] {message}", file=sys.stderr, flush=True)


def section_range(binary, name):
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and m.group(1) == name:
            address, offset, size = (int(m.group(i), 16) for i in (2, 3, 4))
            if address != offset:
                sys.exit(f"{binary}: {name} is at address {address:#x} but file offset {offset:#x}; uprobes take offsets")
            return address, address + size
    sys.exit(f"{binary}: no {name} section")


def managed_methods(dbg, start, end):
    """Address -> symbol names (several names can share one address) for the methods in [start, end)."""
    out = subprocess.run(["nm", "-n", "--defined-only", dbg], capture_output=True, text=True, check=True).stdout
    methods = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in ("t", "T") and not parts[2].startswith("__start"):
            address = int(parts[0], 16)
            if start <= address < end:
                methods.setdefault(address, []).append(parts[2])
    return methods


def write_events(lines, what):
    # One line per write: the kernel parses each write on its own and rejects a line split across two.
    fd = os.open(os.path.join(TRACEFS, "uprobe_events"), os.O_WRONLY | os.O_APPEND)
    try:
        for i, line in enumerate(lines, 1):
            try:
                os.write(fd, line.encode())
            except OSError as error:
                sys.exit(f"{TRACEFS}/uprobe_events rejected {line.strip()!r}: {error}")
            if i % 5000 == 0 or i == len(lines):
                log(f"{what} {i} of {len(lines)} probes")
    finally:
        os.close(fd)


def set_enabled(on):
    with open(os.path.join(TRACEFS, "events", GROUP, "enable"), "w") as f:
        f.write("1" if on else "0")


def fired():
    hits = set()
    with open(os.path.join(TRACEFS, "uprobe_profile")) as profile:
        for line in profile:
            parts = line.split()
            if len(parts) == 3 and parts[2] != "0" and parts[1].startswith("m"):
                hits.add(int(parts[1][1:], 16))
    return hits


def run_benchmark_workload(agent, tree, seconds, work):
    """The agent as bench/compare.sh runs it: json, otlp/http and prometheus (scraped every second)."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    env = dict(os.environ, OTEL_METRIC_EXPORT_INTERVAL="1000")
    log_path = os.path.join(work, "agent.log")
    with open(log_path, "w") as agent_log:
        process = subprocess.Popen(
            [agent, "--procfs", f"{tree}/current/proc", "--sysfs", f"{tree}/current/sys", "--cgroupfs", "",
             "--container-engines", "", "--interval", "0.2", "--exporter", "json,otlp,prometheus",
             "--output", os.path.join(work, "out.jsonl"), "--prometheus-port", "0", "--otlp-protocol",
             "http/protobuf", "--otlp-endpoint", f"http://127.0.0.1:{sink.server_address[1]}"],
            stdout=subprocess.DEVNULL, stderr=agent_log, env=env)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(1)
        with open(log_path) as agent_log:
            m = re.search(r"listening on http://\S*:(\d+)/metrics", agent_log.read())
        if m:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=30).read()
            except OSError:
                pass
    stop(process)
    sink.shutdown()


def run_console_workload(agent, seconds):
    """The README's first command: the embedded default, console view, on this host."""
    process = subprocess.Popen([agent], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    stop(process)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def private_copy(agent, work):
    """Copies the executable (and the appsettings.json beside it, if any) into work; returns the copy's path."""
    copy = os.path.join(work, "otelpower")
    shutil.copy2(os.path.realpath(agent), copy)
    settings = os.path.join(os.path.dirname(os.path.realpath(agent)), "appsettings.json")
    if os.path.exists(settings):
        shutil.copy2(settings, work)
    return copy


def recorder_arguments(description, seconds, seconds_help):
    """The command line both recorders take (record-touched-methods.py adds its own to it)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--agent", required=True, help="the published otelpower executable")
    parser.add_argument("--dbg", required=True, help="its otelpower.dbg (obj or bin .../native/otelpower.dbg)")
    parser.add_argument("--tree", required=True, help="a synthetic tree from `OtelPower.Bench tree`")
    parser.add_argument("--out", default="src/OtelPower.Agent/method-order.txt")
    parser.add_argument("--seconds", type=int, default=seconds, help=seconds_help)
    return parser


def main():
    parser = recorder_arguments(__doc__.splitlines()[0], 15, "per workload and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    if not os.access(os.path.join(TRACEFS, "uprobe_events"), os.W_OK):
        sys.exit(f"{TRACEFS}/uprobe_events is not writable: run as root with tracefs mounted")
    work = tempfile.mkdtemp(prefix="method-order-")
    # A private copy: uprobes are set on an inode, and this one is gone when the run ends.
    agent = private_copy(args.agent, work)

    start, end = section_range(agent, "__managedcode")
    methods = managed_methods(args.dbg, start, end)
    if not methods:
        sys.exit(f"{args.dbg}: no method symbols in __managedcode [{start:#x}, {end:#x}); is it this build's .dbg?")
    log(f"{len(methods)} methods in __managedcode ({(end - start) / 1048576:.1f} MiB)")

    open(os.path.join(TRACEFS, "uprobe_events"), "w").close()  # drops every uprobe event, ours of earlier runs too
    write_events([f"p:{GROUP}/m{a:x} {agent}:{a:#x}\n" for a in sorted(methods)], "registered")
    ran = set()
    try:
        for round_number in range(1, args.rounds + 1):
            set_enabled(True)
            started = time.monotonic()
            run_benchmark_workload(agent, args.tree, args.seconds, work)
            run_console_workload(agent, args.seconds)
            set_enabled(False)
            new = fired() - ran
            ran |= new
            log(f"round {round_number}: {len(new)} methods ran for the first time ({len(ran)} in all), "
                f"{time.monotonic() - started:.0f} s")
            write_events([f"-:{GROUP}/m{a:x}\n" for a in sorted(new)], "removed")
            if len(new) < 20:
                break
    finally:
        try:
            set_enabled(False)
        except OSError:
            pass
        open(os.path.join(TRACEFS, "uprobe_events"), "w").close()
        shutil.rmtree(work, ignore_errors=True)

    names = [name for address in sorted(ran) for name in methods[address]]
    addresses = sorted(methods)
    # A method runs up to the next symbol's address (the last one to the end of the section).
    sizes = {a: b - a for a, b in zip(addresses, addresses[1:] + [end])}
    size = sum(sizes[a] for a in ran)
    temporary = args.out + ".tmp"
    with open(temporary, "w") as out:
        # ILC skips lines that name no method, so this header is harmless.
        out.write("# Methods the agent ran, first in its code section (bench/layout/record-method-order.py).\n")
        out.write("".join(f"{name}\n" for name in names))
    os.replace(temporary, args.out)
    log(f"wrote {len(names)} symbols of {len(ran)} methods ({size / 1048576:.2f} MiB of code) to {args.out}")


if __name__ == "__main__":
    main()
