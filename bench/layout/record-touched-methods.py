#!/usr/bin/env python3
"""Adds to the method order the methods on every code page the published agent touches, from the page cache.

record-method-order.py finds the methods that run with a uprobe on each one, which takes the best part of an
hour. This finds the code pages that are read instead, in one run of each workload: the agent's private copy
is evicted from the page cache and the disk's readahead is set to 0, so a page fault brings in just the page it
needs (fault-around only maps pages that are cached already); after the workloads, mincore() on the file says
which pages were read. Every method with code on such a page is kept: a superset of the methods that ran, at
page granularity. Needs root (the block device's read_ahead_kb, which it restores).

The workloads are record-method-order.py's (json, otlp/http and prometheus scraped every second; then the
console default), with bench/live-writer.c making the tree live, so that the per-process paths of a busy host
(dividing energy, JSON lines of active processes, series with a process.pid) are read too.

  sudo bench/layout/record-touched-methods.py --agent DIR/otelpower --dbg .../native/otelpower.dbg \\
      --tree /tmp/tree1000 [--out src/OtelPower.Agent/method-order.txt]

The methods already listed keep their place; the new ones are appended in address order, so they join the
block that ILC lays out first.
"""
import ctypes
import importlib.util
import mmap
import os
import shutil
import subprocess
import sys
import tempfile

PAGE = os.sysconf("SC_PAGE_SIZE")
HERE = os.path.dirname(os.path.realpath(__file__))


def log(message):
    print(f"[touched-methods] {message}", file=sys.stderr, flush=True)


def load_uprobe_recorder():
    """record-method-order.py's section, symbol and workload helpers (its name is no module name)."""
    spec = importlib.util.spec_from_file_location("record_method_order", os.path.join(HERE, "record-method-order.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def block_device_of(path):
    """/sys/block/NAME/queue/read_ahead_kb for the disk that holds path (a partition's parent disk)."""
    device = os.stat(path).st_dev
    sysfs = os.path.realpath(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}")
    for candidate in (sysfs, os.path.dirname(sysfs)):
        setting = os.path.join(candidate, "queue", "read_ahead_kb")
        if os.path.exists(setting):
            return setting
    sys.exit(f"{path}: no read_ahead_kb for its block device ({sysfs}); is it on a disk, not tmpfs?")


def resident_pages(path):
    """The indexes of the file's pages that are in the page cache (mincore on a shared read-only mapping)."""
    size = os.path.getsize(path)
    pages = (size + PAGE - 1) // PAGE
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    with open(path, "rb") as file:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, file.fileno(), 0)
    if address in (None, ctypes.c_void_p(-1).value):
        sys.exit(f"{path}: mmap failed: {os.strerror(ctypes.get_errno())}")
    try:
        vector = ctypes.create_string_buffer(pages)
        if libc.mincore(address, size, vector) != 0:
            sys.exit(f"{path}: mincore failed: {os.strerror(ctypes.get_errno())}")
    finally:
        libc.munmap(address, size)
    return {i for i in range(pages) if vector.raw[i] & 1}


def evict(path):
    with open(path, "rb") as file:
        os.fsync(file.fileno())
        os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    left = resident_pages(path)
    if left:
        sys.exit(f"{path}: {len(left)} pages stay in the page cache after POSIX_FADV_DONTNEED")


def main():
    recorder = load_uprobe_recorder()
    parser = recorder.recorder_arguments(__doc__.splitlines()[0], 20, "per workload")
    parser.add_argument("--live-percent", type=int, default=10, help="processes that use CPU in each interval")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="touched-methods-")
    agent = recorder.private_copy(args.agent, work)
    writer = os.path.join(work, "live-writer")
    subprocess.run(["gcc", "-O2", "-o", writer, os.path.join(HERE, "..", "live-writer.c")], check=True)

    start, end = recorder.section_range(agent, "__managedcode")
    methods = recorder.managed_methods(args.dbg, start, end)
    if not methods:
        sys.exit(f"{args.dbg}: no method symbols in __managedcode; is it this build's .dbg?")

    read_ahead = block_device_of(agent)
    with open(read_ahead) as setting:
        saved = setting.read().strip()
    try:
        with open(read_ahead, "w") as setting:
            setting.write("0")
        evict(agent)
        live = subprocess.Popen([writer, f"{args.tree}/current/proc", f"{args.tree}/current/sys", "0.2",
                                 str(args.live_percent), str(args.seconds + 5)], stdout=subprocess.DEVNULL)
        recorder.run_benchmark_workload(agent, args.tree, args.seconds, work)
        live.wait()
        recorder.run_console_workload(agent, args.seconds)
        touched = resident_pages(agent)
    finally:
        with open(read_ahead, "w") as setting:
            setting.write(saved)
        shutil.rmtree(work, ignore_errors=True)

    addresses = sorted(methods)
    # A method's code runs up to the next symbol's address (the last one to the end of the section).
    spans = zip(addresses, addresses[1:] + [end])
    on_touched = [a for a, b in spans if any(page in touched for page in range(a // PAGE, (b - 1) // PAGE + 1))]
    code_pages = {p for p in touched if start // PAGE <= p <= (end - 1) // PAGE}
    log(f"{len(touched)} pages read in all, {len(code_pages)} of them code ({len(code_pages) * PAGE / 1048576:.2f} MiB); "
        f"{len(on_touched)} of {len(methods)} methods have code on them")

    with open(args.out) as existing:
        lines = existing.read().splitlines()
    listed = set(lines)
    new = [name for address in on_touched for name in methods[address] if name not in listed]
    temporary = args.out + ".tmp"
    with open(temporary, "w") as out:
        out.write("\n".join(lines + new) + "\n")
    os.replace(temporary, args.out)
    log(f"{len(new)} symbols appended to {args.out} ({len(lines) + len(new)} lines)")


if __name__ == "__main__":
    main()
