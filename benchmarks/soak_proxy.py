"""Does the proxy keep flat memory under hostile traffic? A soak of valid and hostile requests,
mixed.

Three processes on this machine: a model server (aiohttp) whose behaviour depends on the path the
proxy calls (each endpoint's backend URL names one: `ok`, `bomb` answers a small gzip body that
decodes to 64 MiB, `error` answers 500, `redirect` answers 302, `cut` cuts streams after one piece,
`big` answers 2 MiB, `nanstream` streams an event holding NaN), `llmops proxy --config` in front of
it with one endpoint per behaviour, and this script sending the mix below at concurrency 32 (plus a
few hundred idle and half-sent connections and 20 callers that never read a `big` answer, held open
during each round and renewed every round):

- valid: the original platform's chat, an OpenAI stream, an embeddings call to an EMBEDDING
  endpoint, catalog reads;
- hostile callers: random endpoint names up to 300 characters (on inference, health and listing
  routes), NaN/Infinity/1e999 bodies, bodies nested 5,000 deep, 100 KB hidden in `tools` under a
  4,096-token limit, non-UTF-8 bytes in X-User-* and Authorization, HTTP the parser refuses (header
  too long, bad chunk size, CL+TE, bare LF), the original platform's write routes with random ids;
  OpenAI fields of the wrong type (`stream: "yes"`, `n: 100000`, a lone surrogate), 200,000 newlines
  under the token limit, an undecodable gzip body, `Expect: 200-ok`;
- hostile model servers: the gzip bomb, 500s, redirects, cut streams, a NaN inside a stream.

The proxy's resident set size (VmRSS from /proc) is read every `--sample` requests; the script
prints the curve, the /metrics size and the answers by status, and fails (`--check`) when RSS grew
more than `--max-growth-mib` between the first sample after warm-up (`--warmup` requests) and the
last, when any answer was a 500, or when the proxy logged a traceback.

Usage: ``python benchmarks/soak_proxy.py [--requests 50000] [--sample 2500] [--check]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if str(PROJECT_ROOT) not in sys.path:  # run as a script from a checkout without `pip install -e`
    sys.path.insert(0, str(PROJECT_ROOT))

from benchmarks.needs import require_proxy_extras  # noqa: E402  (after the path is set)

CONCURRENCY = 32
IDLE_CONNECTIONS = 300
USER = {"X-User-Id": "soak", "X-User-Roles": "llm-ops-user"}
CHAT = {"messages": [{"role": "user", "content": "Hello! Can you help me?"}], "max_tokens": 16}
ANSWER = json.dumps(
    {
        "id": "c1",
        "object": "chat.completion",
        "created": 1,
        "model": "soak",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Sure."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7},
    }
).encode()
CHUNK = (
    b'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"soak","choices":'
    b'[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}\n\n'
)
BEHAVIOURS = ("ok", "bomb", "error", "redirect", "cut", "big", "nanstream")
STALLED_READERS = 20
BIG = json.dumps({"id": "c1", "object": "chat.completion", "padding": "x" * 2 * 1024 * 1024})


# ---- the model server (run as `soak_proxy.py --serve-backend PORT`) ----


def _bomb() -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(ANSWER[:-1])]
    block = b" " * (1024 * 1024)
    parts += [compressor.compress(block) for _ in range(64)]
    return b"".join(parts) + compressor.compress(b"}") + compressor.flush()


def serve_backend(port: int) -> None:
    from aiohttp import web

    bomb = _bomb()

    async def completion(request: web.Request) -> web.StreamResponse:
        behaviour = request.match_info["behaviour"]
        body = await request.read()
        if behaviour == "bomb":
            return web.Response(
                body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
            )
        if behaviour == "error":
            return web.Response(status=500, text="out of memory")
        if behaviour == "redirect":
            raise web.HTTPFound("http://127.0.0.1:9/elsewhere")
        if behaviour == "big":
            return web.Response(text=BIG, content_type="application/json")
        if request.path.endswith("/embeddings"):
            return web.json_response(
                {
                    "object": "list",
                    "data": [{"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}],
                }
            )
        if not json.loads(body).get("stream"):
            return web.Response(body=ANSWER, content_type="application/json")
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(CHUNK)
        if behaviour == "cut":
            assert request.transport is not None
            request.transport.abort()
            return response
        if behaviour == "nanstream":
            await response.write(b'data: {"choices": [{"delta": {"content": NaN}}]}\n\n')
        for _ in range(3):
            await response.write(CHUNK)
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def ready(request: web.Request) -> web.StreamResponse:
        if request.match_info["behaviour"] == "bomb":
            return web.Response(
                body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
            )
        return web.json_response({"name": request.match_info["name"], "ready": True})

    app = web.Application()
    app.router.add_post(
        "/{behaviour}/openai/v1/{path:chat/completions|completions|embeddings}", completion
    )
    app.router.add_get("/{behaviour}/v1/models/{name}", ready)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


# ---- the proxy's configuration ----


def proxy_config(backend: str) -> dict[str, Any]:
    limits = {"maxConcurrentRequests": 256, "maxInputTokens": 4096, "maxOutputTokens": 1024}

    def endpoint(name: str, behaviour: str, target: str = "GENERATION") -> dict[str, Any]:
        return {
            "name": name,
            "route": f"/llm-ops/v1/serve/{name}",
            "environment": "soak",
            "modelId": "m@1",
            "model": {"name": "m", "version": "1"},
            "serveTarget": target,
            "backend": {
                "url": f"{backend}/{behaviour}",
                "api": "kserve-openai",
                "openaiPrefix": "/openai/v1",
                "servedModelName": name,
            },
            "limits": limits,
            "allowedRoles": [],
            "minReplicas": 1,
            "maxReplicas": 1,
        }

    return {
        "version": 1,
        "environment": "soak",
        "access": {"requiredRole": "llm-ops-user"},
        "endpoints": [
            *(endpoint(b, b) for b in BEHAVIOURS),
            endpoint("vectors", "ok", "EMBEDDING"),
        ],
        "templates": [
            {"name": "a", "template": "Be brief."},
            {"name": "b", "template": "Be kind."},
        ],
        "experiments": [
            {
                "id": "tone",
                "endpoint": "ok",
                "templateAId": "a",
                "templateBId": "b",
                "allocation": 50,
                "metric": "latency_ms",
            }
        ],
        "models": [{"id": "m@1", "name": "m", "version": "1", "status": "approved"}],
    }


# ---- the traffic ----


def _name(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789-_.~", k=rng.randint(1, 300)))


def _raw(kind: str, rng: random.Random) -> bytes:
    host = b"Host: proxy\r\n"
    if kind == "header_bytes":
        header = rng.choice([b"X-User-Id", b"X-User-Roles", b"Authorization"])
        value = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 30)))
        return (
            b"GET /llm-ops/v1/serving/endpoints HTTP/1.1\r\n" + host + b"X-User-Id: soak\r\n"
            b"X-User-Roles: llm-ops-user\r\n"
            + header
            + b": "
            + value
            + b"\r\nConnection: close\r\n\r\n"
        )
    return rng.choice(
        [
            b"GET /llm-ops/v1/health HTTP/1.1\r\n" + host + b"X-Long: " + b"a" * 9000 + b"\r\n\r\n",
            b"POST /llm-ops/v1/serve/ok/chat HTTP/1.1\r\n"
            + host
            + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"POST /llm-ops/v1/serve/ok/chat HTTP/1.1\r\n" + host + b"Content-Length: 2\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            b"GET /llm-ops/v1/health HTTP/1.1\nHost: proxy\n\n",
            b"POST /llm-ops/v1/serve/ok/chat HTTP/1.1\r\n" + host + b"X-User-Id: soak\r\n"
            b"X-User-Roles: llm-ops-user\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\n"
            b"not gzip!",
            b"POST /llm-ops/v1/serve/ok/chat HTTP/1.1\r\n" + host + b"Expect: 200-ok\r\n"
            b"Content-Length: 2\r\n\r\n{}",
        ]
    )


def _raw_exchange(port: int, payload: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        data = b""
        while b"\r\n" not in data:
            piece = sock.recv(4096)
            if not piece:
                return 0
            data += piece
    return int(data.split(b" ", 2)[1])


def plan(rng: random.Random) -> tuple[str, ...]:
    """The kind of one request, chosen by weight."""
    kinds = [
        ("chat", 24),
        ("stream", 8),
        ("embeddings", 4),
        ("catalog", 4),
        ("unknown_name", 12),
        ("nan", 5),
        ("deep", 4),
        ("hidden_tokens", 4),
        ("header_bytes", 6),
        ("protocol", 5),
        ("write_route", 4),
        ("bomb", 2),
        ("error", 6),
        ("redirect", 4),
        ("cut", 4),
        ("health_unknown", 4),
        ("bad_fields", 4),
        ("whitespace", 3),
        ("nanstream", 2),
    ]
    kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
    return (kind,)


async def one(session: Any, base: str, port: int, kind: str, rng: random.Random) -> int:
    name = _name(rng)
    if kind in ("header_bytes", "protocol"):
        return await asyncio.to_thread(_raw_exchange, port, _raw(kind, rng))
    method, path, headers = "POST", "/llm-ops/v1/serve/ok/chat", USER
    data: bytes | None = json.dumps(CHAT).encode()
    if kind == "stream":
        path, data = (
            "/llm-ops/v1/serve/ok/v1/chat/completions",
            json.dumps({**CHAT, "stream": True}).encode(),
        )
    elif kind == "embeddings":
        path, data = "/llm-ops/v1/serve/vectors/embeddings", b'{"input": "text"}'
    elif kind == "catalog":
        method, path, data = (
            "GET",
            rng.choice(
                [
                    "/llm-ops/v1/catalog/models",
                    "/llm-ops/v1/serving/endpoints/ok",
                    "/llm-ops/v1/prompts/experiments/tone",
                ]
            ),
            None,
        )
    elif kind == "unknown_name":
        path = rng.choice(
            [f"/llm-ops/v1/serve/{name}/chat", f"/llm-ops/v1/serve/{name}/v1/chat/completions"]
        )
        headers = rng.choice([USER, {}])
    elif kind == "health_unknown":
        method, data = "GET", None
        path = rng.choice(
            [
                f"/llm-ops/v1/serve/{name}/health",
                f"/llm-ops/v1/serving/endpoints/{name}",
                f"/llm-ops/v1/serve/{name}/v1/models",
            ]
        )
    elif kind == "nan":
        data = (
            b'{"messages": [{"role": "user", "content": "hi"}], "temperature": '
            + rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e999"])
            + b"}"
        )
    elif kind == "deep":
        data = b'{"messages": [{"role": "user", "content": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"
    elif kind == "hidden_tokens":
        data = json.dumps(
            {
                **CHAT,
                "tools": [
                    {
                        "type": "function",
                        "function": {"name": "f", "description": "lorem ipsum " * 9000},
                    }
                ],
            }
        ).encode()
    elif kind == "write_route":
        method = rng.choice(["POST", "PUT", "PATCH", "DELETE"])
        path = rng.choice(
            [
                "/llm-ops/v1/serving/endpoints",
                f"/llm-ops/v1/serving/endpoints/{name}/rollback",
                f"/llm-ops/v1/catalog/models/{name}/status",
                f"/llm-ops/v1/prompts/experiments/{name}/conclude",
                "/llm-ops/v1/training/jobs",
            ]
        )
    elif kind == "bad_fields":
        extra: dict[str, Any] = rng.choice(
            [
                {"stream": "yes"},
                {"n": 100_000},
                {"temperature": "hot"},
                {"stop": 5},
                {"seed": 2**70},
            ]
        )
        data = json.dumps({**CHAT, **extra}).encode()
        if rng.random() < 0.3:
            data = b'{"messages": [{"role": "user", "content": "a\\ud800"}]}'
    elif kind == "whitespace":
        data = json.dumps(
            {"messages": [{"role": "user", "content": "hi" + "\n" * 200_000}]}
        ).encode()
    elif kind in ("bomb", "error", "redirect", "cut", "nanstream"):
        stream = kind in ("cut", "nanstream")
        path = f"/llm-ops/v1/serve/{kind}/" + ("v1/chat/completions" if stream else "chat")
        data = json.dumps({**CHAT, "stream": stream}).encode()
    async with session.request(
        method, base + path, data=data, headers={**headers, "Content-Type": "application/json"}
    ) as response:
        await response.read()
        return int(response.status)


def hold_stalled(port: int, count: int) -> list[socket.socket]:
    """Callers that ask for a 2 MiB answer and never read it: the proxy must cut them off after its
    write timeout, and hold a bounded number of answers for them meanwhile."""
    body = json.dumps(CHAT).encode()
    head = (
        "POST /llm-ops/v1/serve/big/chat HTTP/1.1\r\nHost: a\r\nX-User-Id: soak\r\n"
        f"X-User-Roles: llm-ops-user\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    held = []
    for _ in range(count):
        try:
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(2)
            sock.connect(("127.0.0.1", port))
            sock.sendall(head + body)
        except OSError:
            continue
        held.append(sock)
    return held


async def hold_idle(port: int, count: int) -> list[socket.socket]:
    """Idle connections, half of them with a head never finished: the proxy must shed them."""
    held = []
    for n in range(count):
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            continue
        sock.setblocking(False)
        if n % 2:
            sock.send(b"GET /llm-ops/v1/health HTTP/1.1\r\nHost: a\r\n")
        held.append(sock)
    return held


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def soak(
    base: str, pid: int, total: int, sample: int, seed: int
) -> tuple[list[tuple[int, float, int]], Counter[int]]:
    import aiohttp

    port = int(base.rsplit(":", 1)[1])
    rng = random.Random(seed)
    statuses: Counter[int] = Counter()
    curve: list[tuple[int, float, int]] = []
    done = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def metrics_size() -> int:
            async with session.get(base + "/metrics") as response:
                return len(await response.read())

        curve.append((0, rss_mib(pid), await metrics_size()))
        while done < total:
            idle = await hold_idle(port, IDLE_CONNECTIONS) + hold_stalled(port, STALLED_READERS)
            batch = min(sample, total - done)
            queue = [plan(rng)[0] for _ in range(batch)]

            async def worker(kinds: list[str], local: random.Random) -> None:
                for kind in kinds:
                    try:
                        statuses[await one(session, base, port, kind, local)] += 1
                    except (TimeoutError, aiohttp.ClientError, OSError) as error:
                        statuses[0] += 1
                        if statuses[0] <= 5:
                            print(
                                f"  client error on {kind}: {type(error).__name__}: {error}",
                                file=sys.stderr,
                            )

            await asyncio.gather(
                *(
                    worker(queue[n::CONCURRENCY], random.Random(rng.random()))
                    for n in range(CONCURRENCY)
                )
            )
            for sock in idle:
                sock.close()
            done += batch
            curve.append((done, rss_mib(pid), await metrics_size()))
            print(
                f"  {done:>7,} requests  RSS {curve[-1][1]:7.1f} MiB  /metrics {curve[-1][2]:>7,} "
                "bytes",
                flush=True,
            )
    return curve, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--sample", type=int, default=2_500)
    parser.add_argument(
        "--warmup", type=int, default=10_000, help="requests before the baseline sample"
    )
    parser.add_argument("--max-growth-mib", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--serve-backend", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    require_proxy_extras("soak_proxy.py", "soak-proxy")
    if args.serve_backend:
        serve_backend(args.serve_backend)
        return 0

    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        backend_port = probe.getsockname()[1]
    backend = subprocess.Popen(
        [sys.executable, __file__, "--serve-backend", str(backend_port)], env=env
    )
    with tempfile.TemporaryDirectory() as scratch:
        config = Path(scratch) / "proxy.json"
        config.write_text(
            json.dumps(proxy_config(f"http://127.0.0.1:{backend_port}")), encoding="utf-8"
        )
        proxy = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llmops.cli.main",
                "proxy",
                "--config",
                str(config),
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=PROJECT_ROOT,
        )
        assert proxy.stdout is not None
        first_line = proxy.stdout.readline()
        if " on " not in first_line:  # it did not start: say why instead of failing on the line
            proxy.kill()
            backend.terminate()
            _, stderr = proxy.communicate(timeout=60)
            raise SystemExit(f"llmops proxy did not start:\n{first_line}{stderr}")
        base = first_line.rsplit(" on ", 1)[1].strip()
        time.sleep(0.5)
        print(
            f"soak: {args.requests:,} requests at concurrency {CONCURRENCY} plus "
            f"{IDLE_CONNECTIONS} idle connections per {args.sample:,}; proxy pid {proxy.pid}"
        )
        started = time.monotonic()
        try:
            curve, statuses = asyncio.run(
                soak(base, proxy.pid, args.requests, args.sample, args.seed)
            )
        finally:
            proxy.send_signal(signal.SIGTERM)
            _, stderr = proxy.communicate(timeout=60)
            backend.terminate()
            backend.wait(timeout=30)
    elapsed = time.monotonic() - started
    baseline = next(((n, rss) for n, rss, _ in curve if n >= args.warmup), curve[0][:2])
    growth = curve[-1][1] - baseline[1]
    print(
        f"answers by status: {dict(sorted(statuses.items()))}  ({elapsed:.0f} s, "
        f"{args.requests / elapsed:,.0f} requests/s)"
    )
    print(
        f"RSS: {curve[0][1]:.1f} MiB at start, {baseline[1]:.1f} MiB after {baseline[0]:,} "
        f"requests, {curve[-1][1]:.1f} MiB at the end: {growth:+.1f} MiB since the baseline"
    )
    problems = []
    if growth > args.max_growth_mib:
        problems.append(f"RSS grew {growth:.1f} MiB (more than {args.max_growth_mib:g})")
    if statuses[500]:
        problems.append(f"{statuses[500]} answers were 500")
    if "Traceback" in stderr:
        problems.append("the proxy logged a traceback:\n" + stderr[-3000:])
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if args.check and problems else 0


if __name__ == "__main__":
    sys.exit(main())
