"""What the llmops proxy adds: the same load against a model server directly and through the proxy.

Five processes on this machine (six when the proxy is compiled): a minimal OpenAI-style model server
(aiohttp on uvloop, answering at once: a chat completion, or a stream of 8 chunks and `data:
[DONE]`), `llmops proxy --config` in front of it (governance headers, runtime limits and metrics all
active), nginx as a plain reverse proxy in front of the same server (the physical floor of relaying:
one worker, keep-alive to the server, no buffering; its configuration is generated here; skipped
with a note when nginx is not installed, `make bench-proxy` installs it from Debian's packages), a
bare Python relay (benchmarks/bare_relay.py: uvloop, a task and a future per request, no checks at
all: what Python itself costs, so the gap to nginx splits into Python's part and llmops's own), when
the proxy's hot path is compiled the same proxy on its Python sources (the row `llmops, sources`:
what compiling buys), and this script as the load generator (aiohttp on uvloop, one connection per
concurrent client, keep-alive). For each concurrency (1 and 32) and kind of request (whole answer,
stream), each round runs the same requests directly (`/openai/v1/chat/completions`), through nginx,
through the bare relay, through the OpenAI passthrough, and, for whole answers, through the original
platform's `/chat` (which wraps the answer in the envelope); rounds alternate between the paths so
drift on a shared machine hits all alike. Latency is until the answer or stream has been read
completely. The table gives the median over rounds of p50 and p99, the added milliseconds (proxy
minus direct), requests per second, and the CPU time the relaying process(es) spent per request
(user + system, from /proc; all workers of the llmops proxy), with its ratio to nginx's. Below it,
for concurrency 32, each round's added p99 and the added p99 of all rounds' requests pooled: the
model server's own p99 sits at a knee of its latencies and moves by a millisecond or more from
round to round, and every added p99 subtracts it. The machine is shared: read the ratios, not the
absolute times.

Then memory: 10,000 requests through the proxy at concurrency 32, half of them streamed, with the
proxy's resident set size (VmRSS) read every 1,000 requests; it should stay flat.

Targets (issue 17), beside nginx in the same run: CPU per relayed request at most 2x nginx's at
concurrency 32; added latency at concurrency 1 within 0.5 ms of nginx's at p50, and at concurrency
32 at most 2x nginx's at p99.

Usage: ``python benchmarks/bench_proxy.py [--requests 3000] [--requests-concurrent 10000]
[--rounds 3] [--soak 10000] [--workers N] [--check]``
(``make bench-proxy`` runs the defaults). ``--check`` exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.needs import require_proxy_extras  # noqa: E402  (after the path is set)
from llmops.proxy.native import SWITCH, compiled_dir  # noqa: E402

BARE_RELAY = Path(__file__).resolve().parent / "bare_relay.py"
BARE = "bare python relay"  # Python's own floor (benchmarks/bare_relay.py): no target applies
# the same proxy running its Python sources (LLMOPS_PROXY_COMPILED=0): what compiling buys
SOURCES = "llmops, sources"
TARGET_CPU_RATIO = 2.0  # CPU per request, llmops / nginx, at concurrency 32
TARGET_P50_MARGIN_MS = 0.5  # added p50 at concurrency 1, llmops minus nginx
TARGET_P99_RATIO = 2.0  # added p99 at concurrency 32, llmops / nginx
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
HEADERS = {"Content-Type": "application/json", "X-User-Id": "bench", "X-User-Roles": "llm-ops-user"}
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello! Can you help me?"},
]
ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Sure, happy to help. " * 8},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 40, "total_tokens": 52},
    }
).encode()
CHUNK = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"bench","choices":'
    b'[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}\n\n'
)


# ---- the model server (run as `bench_proxy.py --serve-backend PORT`) ----


def serve_backend(port: int) -> None:
    import uvloop
    from aiohttp import web

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        if not body.get("stream"):
            return web.Response(body=ANSWER, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for _ in range(8):
            await response.write(CHUNK)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"name": "bench", "ready": True})

    app = web.Application()
    app.router.add_post("/openai/v1/chat/completions", chat)
    app.router.add_get("/v1/models/{name}", ready)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# ---- processes ----


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def proxy_config(backend_url: str) -> dict[str, Any]:
    return {
        "version": 1,
        "environment": "bench",
        "access": {"requiredRole": "llm-ops-user"},
        "endpoints": [
            {
                "name": "bench",
                "route": "/llm-ops/v1/serve/bench",
                "environment": "bench",
                "modelId": "bench@1",
                "model": {"name": "bench", "version": "1"},
                "backend": {"url": backend_url, "api": "kserve-openai", "servedModelName": "bench"},
                "limits": {
                    "maxConcurrentRequests": 256,
                    "maxInputTokens": 4096,
                    "maxOutputTokens": 1024,
                },
            }
        ],
    }


def wait_for_port(port: int, seconds: float = 30) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} did not open")


def wait_for(url: str, seconds: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


NGINX_CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {scratch}/nginx.pid;
error_log {scratch}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {scratch}/body;
    proxy_temp_path {scratch}/proxy;
    fastcgi_temp_path {scratch}/fastcgi;
    uwsgi_temp_path {scratch}/uwsgi;
    scgi_temp_path {scratch}/scgi;
    upstream backend {{
        server 127.0.0.1:{backend_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    import shutil

    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
        None,
    )


def start_nginx(
    binary: str, scratch: Path, backend_port: int, port: int
) -> subprocess.Popen[bytes]:
    """nginx as a plain reverse proxy: one process (no master), keep-alive to the model server."""
    config = scratch / "nginx.conf"
    config.write_text(
        NGINX_CONFIG.format(scratch=scratch, backend_port=backend_port, port=port),
        encoding="utf-8",
    )
    return subprocess.Popen([binary, "-c", str(config), "-p", str(scratch)])


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the workers of `llmops proxy --workers N`)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            pending.extend(int(child) for child in task.read_text().split())
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user plus system) of ``pids`` so far: the nanoseconds each thread ran, from
    /proc/PID/task/TID/schedstat. /proc/PID/stat counts in 10 ms ticks, and a round of 3,000
    requests through nginx takes about 8 of them, so its figure moved by an eighth from a tick
    more or less; where a thread has no schedstat, its ticks are counted instead."""
    total = 0.0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[0]) / 1e9
                continue
            except (OSError, ValueError, IndexError):
                pass
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the thread ended
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---- load ----


@dataclass
class Run:
    latencies_ms: list[float]
    seconds: float
    cpu_seconds: float = 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return self.cpu_seconds * 1000 / len(self.latencies_ms)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds


async def load(url: str, body: bytes, count: int, concurrency: int, on_progress: Any = None) -> Run:
    import aiohttp

    latencies: list[float] = []
    remaining = iter(range(count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            for index in remaining:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=HEADERS) as response:
                    await response.read()
                    if response.status != 200:
                        raise SystemExit(f"{url} answered {response.status}")
                latencies.append((time.perf_counter() - started) * 1000)
                if on_progress is not None:
                    on_progress(index)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return Run(latencies, time.perf_counter() - started)


def request_body(stream: bool) -> bytes:
    return json.dumps(
        {"model": "bench", "messages": MESSAGES, "max_tokens": 64, "stream": stream}
    ).encode()


def pooled(runs: list[Run]) -> Run:
    """Every request of ``runs`` as one run: a p99 over 30,000 requests moves less than the median
    of three p99s over 10,000, where the model server's own tail (a knee near its p99) decides
    much of the difference between rounds."""
    return Run(
        [latency for run in runs for latency in run.latencies_ms], sum(r.seconds for r in runs)
    )


def measured(url: str, body: bytes, count: int, concurrency: int, pids: list[int]) -> Run:
    """One run, with the CPU time the relaying processes spent on it."""
    before = cpu_seconds(pids)
    run = asyncio.run(load(url, body, count, concurrency))
    run.cpu_seconds = cpu_seconds(pids) - before
    return run


def measure(
    paths: dict[str, str], relays: dict[str, list[int]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    for concurrency in (1, 32):
        for stream in (False, True):
            targets = {
                name: url
                for name, url in paths.items()
                if not (stream and name == "platform /chat")
            }
            body = request_body(stream)
            runs: dict[str, list[Run]] = {name: [] for name in targets}
            for url in targets.values():  # warm-up: connections, caches
                asyncio.run(load(url, body, min(300, args.requests), concurrency))
            count = args.requests if concurrency == 1 else args.requests_concurrent
            for _ in range(args.rounds):
                for name, url in targets.items():
                    pids = relays.get(name, [])
                    runs[name].append(measured(url, body, count, concurrency, pids))
            direct_p50 = statistics.median(r.percentile(0.5) for r in runs["direct"])
            direct_p99 = statistics.median(r.percentile(0.99) for r in runs["direct"])
            direct_pooled = pooled(runs["direct"]).percentile(0.99)
            for name, name_runs in runs.items():
                p50 = statistics.median(r.percentile(0.5) for r in name_runs)
                p99 = statistics.median(r.percentile(0.99) for r in name_runs)
                by_round = [
                    run.percentile(0.99) - direct.percentile(0.99)
                    for run, direct in zip(name_runs, runs["direct"], strict=True)
                ]
                rows.append(
                    {
                        "concurrency": concurrency,
                        "kind": "stream" if stream else "whole",
                        "path": name,
                        "p50": p50,
                        "p99": p99,
                        "added_p50": p50 - direct_p50,
                        "added_p99": p99 - direct_p99,
                        "per_second": statistics.median(r.per_second for r in name_runs),
                        "cpu_ms": statistics.median(r.cpu_ms_per_request for r in name_runs),
                        "added_p99_by_round": by_round,
                        "added_p99_pooled": pooled(name_runs).percentile(0.99) - direct_pooled,
                    }
                )
    return rows


def soak(url: str, pid: int, total: int) -> list[tuple[int, int]]:
    """RSS after every 1,000 requests (half streamed), concurrency 32."""
    samples = [(0, rss_kib(pid))]
    step = 1000

    async def run() -> None:
        done = 0
        while done < total:
            size = min(step, total - done)
            await asyncio.gather(
                load(url, request_body(False), size // 2, 16),
                load(url, request_body(True), size - size // 2, 16),
            )
            done += size
            samples.append((done, rss_kib(pid)))

    asyncio.run(run())
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per path and round (default 3000)"
    )
    parser.add_argument(
        "--requests-concurrent",
        type=int,
        default=10_000,
        help="requests per path and round at concurrency 32 (default 10000: a p99 of 3,000 is "
        "their 30 slowest, and moved by milliseconds from round to round)",
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--soak", type=int, default=10_000, help="requests of the memory run (default 10000)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="llmops proxy --workers (default 1, as nginx)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--baseline",
        metavar="DIR",
        action="append",
        default=[],
        help="also measure the passthrough of the llmops proxy in the source tree DIR (e.g. `git "
        "archive` of an earlier commit), interleaved with this one; repeatable (one row each, "
        "named after DIR's last part)",
    )
    parser.add_argument("--serve-backend", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    require_proxy_extras("bench_proxy.py", "bench-proxy")
    if args.serve_backend:
        serve_backend(args.serve_backend)
        return 0

    import uvloop

    uvloop.install()
    backend_port, proxy_port, nginx_port = free_port(), free_port(), free_port()
    backend_url = f"http://127.0.0.1:{backend_port}"
    nginx = nginx_binary()
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "proxy.json"
        config.write_text(json.dumps(proxy_config(backend_url)), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        try:
            processes.append(
                subprocess.Popen([sys.executable, __file__, "--serve-backend", str(backend_port)])
            )
            command = [sys.executable, "-m", "llmops.cli.main", "proxy", "--config", str(config)]
            command += ["--port", str(proxy_port)]
            if args.workers != 1:  # a proxy without the option can still be measured
                command += ["--workers", str(args.workers)]
            proxy = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
            processes.append(proxy)
            proxy_url = f"http://127.0.0.1:{proxy_port}"
            wait_for(f"{backend_url}/v1/models/bench")
            wait_for(f"{proxy_url}/llm-ops/v1/health")
            paths = {"direct": f"{backend_url}/openai/v1/chat/completions"}
            relays = {}
            if nginx is not None:
                processes.append(start_nginx(nginx, Path(scratch), backend_port, nginx_port))
                wait_for(f"http://127.0.0.1:{nginx_port}/v1/models/bench")
                paths["nginx"] = f"http://127.0.0.1:{nginx_port}/openai/v1/chat/completions"
                relays["nginx"] = [processes[-1].pid]
            bare_port = free_port()
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(BARE_RELAY), str(backend_port), str(bare_port)]
                )
            )
            paths[BARE] = f"http://127.0.0.1:{bare_port}/llm-ops/v1/serve/bench/v1/chat/completions"
            relays[BARE] = [processes[-1].pid]
            wait_for_port(bare_port)
            for tree in args.baseline:
                base_port = free_port()
                base = subprocess.Popen(
                    [*command[:6], "--port", str(base_port)],  # one worker
                    env={**env, "PYTHONPATH": str(Path(tree).resolve())},
                    cwd=tree,
                    stdout=subprocess.DEVNULL,
                )
                processes.append(base)
                wait_for(f"http://127.0.0.1:{base_port}/llm-ops/v1/health")
                name = Path(tree).resolve().name[:18]
                paths[name] = (
                    f"http://127.0.0.1:{base_port}/llm-ops/v1/serve/bench/v1/chat/completions"
                )
                relays[name] = [base.pid]
            compiled, compiled_state = compiled_dir()
            if compiled is not None:
                sources_port = free_port()
                processes.append(
                    subprocess.Popen(
                        [*command[:6], "--port", str(sources_port)],  # one worker
                        env={**env, SWITCH: "0"},
                        stdout=subprocess.DEVNULL,
                    )
                )
                wait_for(f"http://127.0.0.1:{sources_port}/llm-ops/v1/health")
                paths[SOURCES] = (
                    f"http://127.0.0.1:{sources_port}/llm-ops/v1/serve/bench/v1/chat/completions"
                )
                relays[SOURCES] = [processes[-1].pid]
            paths["proxy passthrough"] = f"{proxy_url}/llm-ops/v1/serve/bench/v1/chat/completions"
            paths["platform /chat"] = f"{proxy_url}/llm-ops/v1/serve/bench/chat"
            time.sleep(1.0 if args.workers > 1 else 0.0)  # every worker listening
            relays["proxy passthrough"] = relays["platform /chat"] = process_tree(proxy.pid)
            print(
                f"{os.cpu_count()} CPUs; {args.requests} requests per path at concurrency 1, "
                f"{args.requests_concurrent} at 32, {args.rounds} rounds; "
                f"llmops proxy with {args.workers} worker(s), its hot path {compiled_state}; "
                "medians over rounds; latency and CPU in ms\n"
                + ("" if nginx else "nginx is not installed: no comparison (make bench-proxy)\n")
            )
            rows = measure(paths, relays, args)
            worker = relays["proxy passthrough"][1:2] or [proxy.pid]  # with --workers: the first
            samples = soak(paths["proxy passthrough"], worker[0], args.soak)
        finally:
            for process in reversed(processes):
                process.terminate()
                process.wait(timeout=15)
    report(rows, samples)
    missed = missed_targets(rows)
    if "nginx" in paths:
        print(
            f"\ntargets (CPU/request <= {TARGET_CPU_RATIO:g}x nginx at c=32; added p50 at c=1 "
            f"<= nginx + {TARGET_P50_MARGIN_MS} ms; added p99 at c=32 <= {TARGET_P99_RATIO:g}x "
            "nginx): " + ("met" if not missed else "missed for " + "; ".join(missed))
        )
    return 1 if args.check and missed else 0


def report(rows: list[dict[str, Any]], samples: list[tuple[int, int]]) -> None:
    nginx_cpu = {
        (row["concurrency"], row["kind"]): row["cpu_ms"] for row in rows if row["path"] == "nginx"
    }
    print(
        f"{'conc':>4} {'kind':<6} {'path':<18} {'p50':>7} {'p99':>7} {'+p50':>7} {'+p99':>7} "
        f"{'req/s':>7} {'CPU/req':>8} {'x nginx':>7}"
    )
    for row in rows:
        added = (
            "" if row["path"] == "direct" else f"{row['added_p50']:>7.3f} {row['added_p99']:>7.3f}"
        )
        cpu = "" if row["path"] == "direct" else f"{row['cpu_ms']:>8.3f}"
        base = nginx_cpu.get((row["concurrency"], row["kind"]))
        ratio = "" if not cpu or not base else f"{row['cpu_ms'] / base:>7.2f}"
        print(
            f"{row['concurrency']:>4} {row['kind']:<6} {row['path']:<18} {row['p50']:>7.3f} "
            f"{row['p99']:>7.3f} {added:>15} {row['per_second']:>7.0f} {cpu:>8} {ratio:>7}"
        )
    print(
        "\nadded p99 at concurrency 32 (ms), each round's (path minus direct, in the order run) and"
        " over all rounds' requests pooled (the verdict uses the table's median):"
    )
    for row in rows:
        if row["concurrency"] == 32 and row["path"] != "direct":
            rounds = " ".join(f"{added:6.2f}" for added in row["added_p99_by_round"])
            print(
                f"  {row['kind']:<6} {row['path']:<18} rounds {rounds}   pooled "
                f"{row['added_p99_pooled']:6.2f}"
            )
    print("\nproxy RSS (MiB, first worker) after N requests at concurrency 32, half streamed:")
    print("  " + "  ".join(f"{n}: {kib / 1024:.1f}" for n, kib in samples))
    growth = (samples[-1][1] - samples[1][1]) / 1024 if len(samples) > 2 else 0.0
    print(f"  growth after the first 1,000: {growth:+.1f} MiB")


def missed_targets(rows: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, each llmops row against nginx's row of the same kind."""
    nginx = {(row["concurrency"], row["kind"]): row for row in rows if row["path"] == "nginx"}
    missed = []
    for row in rows:
        base = nginx.get((row["concurrency"], row["kind"]))
        if base is None or row["path"] in ("direct", "nginx", BARE, SOURCES):
            continue
        where = f"c={row['concurrency']} {row['kind']} {row['path']}"
        if row["concurrency"] == 32 and row["cpu_ms"] > TARGET_CPU_RATIO * base["cpu_ms"]:
            missed.append(f"{where} CPU")
        if row["concurrency"] == 1 and row["added_p50"] > base["added_p50"] + TARGET_P50_MARGIN_MS:
            missed.append(f"{where} p50")
        if row["concurrency"] == 32 and row["added_p99"] > TARGET_P99_RATIO * max(
            base["added_p99"], 0.001
        ):
            missed.append(f"{where} p99")
    return missed


if __name__ == "__main__":
    raise SystemExit(main())
