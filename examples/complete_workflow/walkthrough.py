"""The original platform's six-step workflow, the GitOps way, in a temporary git repository.

    .venv/bin/python examples/complete_workflow/walkthrough.py [--keep DIR]

Each step commits manifests instead of POSTing them, as a different person where it matters (the
model's owner is not its approver), then shows what llmops says: validate, diff, render, the proxy
and a chat, the endpoint's history, a rollback, and the approval audit. Then the original
platform's CPU-only mode for real: a tiny base model, the SFT job run by llmops's trainer from what
`llmops render` wrote, the trained model with its lineage and approval, and a CPU endpoint serving
it, chatted with through `llmops proxy` by the `openai` client. Every command is printed before it
runs, so the output reads as a tutorial (README.md beside this file says how to run each step by
hand); any unexpected exit code stops the walkthrough with exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import git

PROJECT = Path(__file__).resolve().parents[2]
BUNDLED = PROJECT / "environments"
ENGINEER = git.Actor("Mina ML Engineer", "mina@example.com")
ADMIN = git.Actor(
    "admin", "admin@example.com"
)  # the original platform's approver user id is `admin`
ENDPOINT = "environments/dev/serving/example-model.yaml"
CPU_ESTATE = PROJECT / "examples" / "complete_workflow" / "cpu"  # the CPU-only mode's manifests
SANDBOX = PROJECT / "examples" / "sandbox"
SCRATCH = ".sandbox"  # in the repository, ignored: what a cluster would hold (mounts, /mnt/models)
# the question is a row of the sample CSV, as the trainer writes it (instruction, blank line, input)
QUESTION = "Track an order\n\nWhere is order 10423?"
USER = {"X-User-Id": "mina", "X-User-Roles": "llm-ops-user"}


class Walkthrough:
    def __init__(self, root: Path):
        self.root = root
        self.repo = git.Repo.init(root, initial_branch="main")
        with self.repo.config_writer() as config:
            config.set_value("user", "name", ENGINEER.name)
            config.set_value("user", "email", ENGINEER.email)
            config.set_value("commit", "gpgsign", "false")

    def step(self, title: str) -> None:
        print(f"\n=== {title}", flush=True)

    def llmops(self, *args: str, expect: tuple[int, ...] = (0,)) -> str:
        return self._execute(
            [sys.executable, "-m", "llmops.cli.main", *args],
            f"llmops {shlex.join(args)}",
            {"NO_COLOR": "1"},
            expect,
        )

    def run(self, command: list[str], env: dict[str, str] | None = None) -> str:
        """A command other than llmops, printed as a user would type it from the repository."""
        return self._execute(command, _shown(command), env or {}, (0,))

    def _execute(
        self, command: list[str], shown: str, env: dict[str, str], expect: tuple[int, ...]
    ) -> str:
        """Run ``command`` in the estate, printing it as ``shown`` and its output; stop the
        walkthrough when it exits otherwise than ``expect``."""
        print(f"$ {shown}", flush=True)
        result = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, **env},
        )
        output = result.stdout + result.stderr
        if output.strip():
            print(output.rstrip("\n"), flush=True)
        if result.returncode not in expect:
            raise SystemExit(
                f"walkthrough: `{shown}` exited {result.returncode}, "
                f"expected {' or '.join(map(str, expect))}"
            )
        return output

    def copy(self, *relative: str, source: Path = PROJECT) -> None:
        """Bring files from the bundled estate (or another folder laid out like a repository), as
        a team member would write them."""
        for path in relative:
            target = self.root / path
            source_file = source / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source_file, target)

    def commit(self, message: str, author: git.Actor = ENGINEER) -> str:
        self.repo.git.add(A=True)
        sha = self.repo.index.commit(message, author=author, committer=author).hexsha
        print(f"[commit {sha[:12]}] {message}  ({author.name})", flush=True)
        return sha

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text(encoding="utf-8")
        if old not in text:
            raise SystemExit(f"walkthrough: {relative} no longer contains {old!r}")
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run(root: Path) -> None:
    walk = Walkthrough(root)
    walk.step("The dev environment: CPU-only, the original platform's defaults")
    walk.copy("environments/dev/environment.yaml")
    # rendered output is rebuilt, not committed
    (root / ".gitignore").write_text(f"rendered/\n{SCRATCH}/\n", encoding="utf-8")
    walk.commit("dev environment")

    walk.step("Step 1-2: register the dataset (with its sample file) and the base model")
    walk.copy(
        "environments/_shared/catalog/customer-support-dataset.yaml",
        "examples/datasets/customer-support-sample.csv",
        "environments/_shared/catalog/example-base-model.yaml",
    )
    walk.llmops("validate")
    walk.commit("catalog: customer-support-dataset v1.0 and example-base-model 1.0")

    walk.step("Step 3: approve the model (a different person: four eyes)")
    walk.llmops(
        "approve",
        "example-base-model@1.0",
        "--env",
        "dev",
        "--by",
        "admin",
        "--role",
        "admin",
        "--notes",
        "reviewed the model card",
    )
    walk.commit("approve example-base-model 1.0 for dev", author=ADMIN)

    walk.step("Step 4: the fine-tuning job (optional on the original platform)")
    walk.copy("environments/dev/training/customer-support-sft.yaml")
    walk.llmops("validate", "--env", "dev")
    walk.commit("dev: SFT job on customer-support-dataset")

    walk.step("Step 5: the serving endpoint; review what the change does before committing it")
    walk.copy(ENDPOINT, "environments/_shared/prompts/support-templates.yaml")
    base = walk.repo.head.commit.hexsha
    walk.llmops("diff", "--base", base, "--env", "dev", expect=(1,))
    walk.commit("dev: serve example-model")
    walk.llmops("validate", "--audit")
    walk.llmops("render", "--env", "dev", "-o", "rendered")

    walk.step("Step 6: chat through the proxy")
    chat_through_proxy(walk)

    train_and_serve_on_cpu(walk)

    walk.step("A change, its history, and a rollback")
    walk.edit(ENDPOINT, "maxReplicas: 3", "maxReplicas: 5")
    walk.commit("dev: allow five replicas")
    walk.llmops("history", "example-model", "--env", "dev")
    walk.llmops("rollback", "example-model", "--env", "dev")
    print(walk.repo.head.commit.message, flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _shown(command: list[str]) -> str:
    """A command as a user types it: this checkout's files as `$LLMOPS/...`."""
    return shlex.join(command).replace(str(PROJECT), "$LLMOPS")


def _wait_ready(
    url: str, process: subprocess.Popen[bytes], what: str = "the model server", seconds: float = 120
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"walkthrough: {what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"walkthrough: {what} did not become ready")


@contextlib.contextmanager
def _running(
    command: list[str], cwd: Path, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A background process, stopped on leaving; its output to `log`, or its stdout to read."""
    if log is None:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    else:
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as sink:
            process = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def chat_through_proxy(walk: Walkthrough) -> None:
    """The original platform's chat test on a laptop: KServe's own model server with a deterministic
    model stands in for the cluster's InferenceService, and `llmops proxy` serves the platform API
    in front of it."""
    kserve_python = PROJECT / ".venv-kserve" / "bin" / "python"
    if not kserve_python.exists():
        print("building the KServe sandbox virtualenv (make kserve-venv, once)", flush=True)
        subprocess.run(["make", "-s", "kserve-venv"], cwd=PROJECT, check=True)
    port = _free_port()
    model_url = f"http://127.0.0.1:{port}"
    print(
        "$ make sandbox-backend   # KServe ModelServer with examples/sandbox/echo_model.py on "
        f"{model_url}"
    )
    server = [
        str(kserve_python),
        str(PROJECT / "examples/sandbox/echo_model.py"),
        "--model_name",
        "example-model",
        "--http_port",
        str(port),
    ]
    with _running(server, PROJECT) as model:
        _wait_ready(f"{model_url}/v1/models/example-model", model)
        with _proxy(walk, f"example-model={model_url}") as proxy_url:
            walk.llmops(
                "chat",
                "example-model",
                "--env",
                "dev",
                "Hello! Can you help me?",
                "--url",
                proxy_url,
            )


@contextlib.contextmanager
def _proxy(walk: Walkthrough, backend: str) -> Iterator[str]:
    """`llmops proxy` for the dev environment in front of one model server; yields its URL."""
    proxy_args = ["proxy", "--env", "dev", "--port", "0", "--backend", backend]
    print(f"$ llmops {shlex.join(proxy_args)} &", flush=True)
    with _running([sys.executable, "-m", "llmops.cli.main", *proxy_args], walk.root) as proxy:
        assert proxy.stdout is not None
        first_line = proxy.stdout.readline().decode().strip()
        print(first_line, flush=True)
        proxy_url = first_line.rsplit(" ", 1)[-1]
        if not proxy_url.startswith("http://"):
            raise SystemExit(f"walkthrough: the proxy did not start: {first_line!r}")
        yield proxy_url


def _virtualenv(folder: str, target: str) -> Path:
    """The python of one of the project's other virtualenvs, built once with make."""
    python = PROJECT / folder / "bin" / "python"
    if not python.exists():
        print(f"building {folder} (make {target}, once)", flush=True)
        subprocess.run(["make", "-s", target], cwd=PROJECT, check=True)
    return python


@contextlib.contextmanager
def _s3_store(walk: Walkthrough, python: Path) -> Iterator[dict[str, str]]:
    """moto's S3 server on 127.0.0.1 stands in for the object store the estate's s3:// URIs name;
    yields the variables that point boto (the trainer's s3fs) at it."""
    port = _free_port()
    command = [str(python), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    print(f"$ {_shown(command)} &", flush=True)
    with _running(command, walk.root, walk.root / SCRATCH / "s3.log") as server:
        _wait_ready(f"http://127.0.0.1:{port}/moto-api/", server, "the S3 server")
        credentials = {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        print(f"$ export {' '.join(f'{k}={v}' for k, v in credentials.items())}", flush=True)
        yield credentials


def train_and_serve_on_cpu(walk: Walkthrough) -> None:
    """Steps 2-6 for real, in the original platform's CPU-only mode: every arrow of dataset ->
    base model -> SFT job -> trained model -> endpoint runs here, from what llmops rendered."""
    train_python = _virtualenv(".venv-train", "train-venv")
    _virtualenv(".venv-serve", "serve-venv")  # run_rendered.py serve runs its python
    s3_tool = str(SANDBOX / "s3_tool.py")
    run_rendered = [sys.executable, str(SANDBOX / "run_rendered.py")]
    with contextlib.ExitStack() as running:
        walk.step("CPU-only mode: an S3-compatible store holding the sample data and a tiny model")
        s3 = running.enter_context(_s3_store(walk, train_python))
        for bucket in ("datasets", "models"):
            walk.run([str(train_python), s3_tool, "mkbucket", bucket], s3)
        # the file the dataset's sample is, where its storage_uri says
        walk.run(
            [str(train_python), s3_tool, "put", "examples/datasets",
             "s3://datasets/customer-support-dataset/v1.0/"],
            s3,
        )  # fmt: skip
        tiny = f"{SCRATCH}/tiny-llama"
        walk.run(
            [str(train_python), str(SANDBOX / "make_tiny_model.py"), tiny,
             "examples/datasets/customer-support-sample.csv"],
            {"HF_HUB_DISABLE_PROGRESS_BARS": "1"},
        )  # fmt: skip
        walk.run([str(train_python), s3_tool, "put", tiny, "s3://models/tiny-llama/1/"], s3)
        walk.copy("environments/dev/catalog/tiny-llama.yaml", source=CPU_ESTATE)
        walk.llmops("validate", "--env", "dev")
        walk.commit("dev: tiny-llama 1, a base model small enough for CPU")

        walk.step("Step 4 for real: the SFT job, run by llmops-train from the rendered Job")
        walk.copy("environments/dev/training/support-sft.yaml", source=CPU_ESTATE)
        walk.llmops("validate", "--env", "dev")
        walk.commit("dev: full fine-tuning of tiny-llama on customer-support-dataset")
        walk.llmops("render", "--env", "dev", "-o", "rendered")
        # the Job's container, its variables and its ConfigMap's files (kubectl logs shows this)
        walk.run(
            [*run_rendered, "train", "rendered/dev", "--job", "support-sft",
             "--mount", f"{SCRATCH}/training"],
            s3,
        )  # fmt: skip

        walk.step("The trained model: its lineage, then its approval (four eyes)")
        walk.copy("environments/dev/catalog/support-sft.yaml", source=CPU_ESTATE)
        walk.llmops("validate", "--env", "dev")
        walk.commit("dev: support-sft 1, trained by support-sft")
        walk.llmops("lineage", "support-sft@1", "--env", "dev")
        walk.llmops(
            "approve", "support-sft@1", "--env", "dev", "--by", "admin", "--role", "admin",
            "--notes", "read the training metrics and a few answers",
        )  # fmt: skip
        walk.commit("approve support-sft 1 for dev", author=ADMIN)

        walk.step("Steps 5-6 for real: a CPU endpoint serves the trained model")
        walk.copy("environments/dev/serving/support-chat.yaml", source=CPU_ESTATE)
        walk.llmops("validate", "--env", "dev")
        walk.commit("dev: serve support-sft on CPU")
        walk.llmops("render", "--env", "dev", "-o", "rendered")
        model_dir = f"{SCRATCH}/mnt/models"  # KServe's storage initializer copies storageUri here
        walk.run([str(train_python), s3_tool, "get", "s3://models/support-sft/1/", model_dir], s3)
        port = _free_port()
        serve = [*run_rendered, "serve", "rendered/dev", "--endpoint", "support-chat",
                 "--model-dir", model_dir, "--port", str(port)]  # fmt: skip
        print(f"$ {_shown(serve)} &", flush=True)
        log = walk.root / SCRATCH / "model-server.log"
        server = running.enter_context(_running(serve, walk.root, log))
        model_url = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(f"{model_url}/v1/models/support-chat", server)
        except SystemExit:
            print(log.read_text(encoding="utf-8", errors="replace")[-4000:], flush=True)
            raise
        first_line = log.read_text(encoding="utf-8", errors="replace").splitlines()[0]
        print(first_line.replace(str(PROJECT), "$LLMOPS"), flush=True)  # the server's command
        proxy_url = running.enter_context(_proxy(walk, f"support-chat={model_url}"))
        chat_with_openai(proxy_url)


def chat_with_openai(proxy_url: str) -> None:
    """The official client, through the proxy's route for the endpoint; greedy, so the answer is
    the trained weights' own."""
    try:
        import openai
    except ImportError:
        raise SystemExit(
            "walkthrough: the openai client is not installed: make .venv/bin/.installed-test"
        ) from None

    base_url = f"{proxy_url}/llm-ops/v1/serve/support-chat/v1"
    messages = [{"role": "user", "content": QUESTION}]
    print(
        f">>> client = openai.OpenAI(base_url={base_url!r}, api_key='unused', "
        f"default_headers={USER!r})\n"
        f">>> answer = client.chat.completions.create(model='support-chat', messages={messages!r}, "
        "max_tokens=32, temperature=0)\n"
        ">>> answer.choices[0].message.content",
        flush=True,
    )
    client = openai.OpenAI(base_url=base_url, api_key="unused", default_headers=USER)
    answer = client.chat.completions.create(
        model="support-chat", messages=[messages[0]], max_tokens=32, temperature=0
    )
    print(json.dumps(answer.choices[0].message.content), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--keep", metavar="DIR", help="build the repository in DIR (must not exist) and keep it"
    )
    args = parser.parse_args()
    if args.keep:
        root = Path(args.keep)
        root.mkdir(parents=True)
        run(root)
    else:
        with tempfile.TemporaryDirectory(prefix="llmops-walkthrough-") as directory:
            run(Path(directory))
    print("\nwalkthrough complete", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
