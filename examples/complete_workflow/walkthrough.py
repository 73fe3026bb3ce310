"""The original platform's six-step workflow, the GitOps way, in a temporary git repository.

    python examples/complete_workflow/walkthrough.py [--keep DIR]

Each step commits manifests instead of POSTing them, as a different person where it matters (the
model's owner is not its approver), then shows what llmops says: validate, diff, render, the proxy
and a chat, the endpoint's history, a rollback, and the approval audit. Every command is printed
before it runs, so the output reads as a tutorial; any unexpected exit code stops the walkthrough
with exit 1.
"""

from __future__ import annotations

import argparse
import contextlib
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
        command = [sys.executable, "-m", "llmops.cli.main", *args]
        print(f"$ llmops {shlex.join(args)}", flush=True)
        result = subprocess.run(
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "NO_COLOR": "1"},
        )
        output = result.stdout + result.stderr
        print(output.rstrip("\n"), flush=True)
        if result.returncode not in expect:
            raise SystemExit(
                f"walkthrough: `llmops {shlex.join(args)}` exited {result.returncode}, "
                f"expected {' or '.join(map(str, expect))}"
            )
        return output

    def copy(self, *relative: str) -> None:
        """Bring files from the bundled estate, as a team member would write them."""
        for path in relative:
            source = PROJECT / path
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)

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
    (root / ".gitignore").write_text("rendered/\n", encoding="utf-8")
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


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"walkthrough: the model server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("walkthrough: the model server did not become ready")


@contextlib.contextmanager
def _running(command: list[str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
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
        proxy_args = [
            "proxy",
            "--env",
            "dev",
            "--port",
            "0",
            "--backend",
            f"example-model={model_url}",
        ]
        print(f"$ llmops {shlex.join(proxy_args)} &", flush=True)
        with _running([sys.executable, "-m", "llmops.cli.main", *proxy_args], walk.root) as proxy:
            assert proxy.stdout is not None
            first_line = proxy.stdout.readline().decode().strip()
            print(first_line, flush=True)
            proxy_url = first_line.rsplit(" ", 1)[-1]
            if not proxy_url.startswith("http://"):
                raise SystemExit(f"walkthrough: the proxy did not start: {first_line!r}")
            walk.llmops(
                "chat",
                "example-model",
                "--env",
                "dev",
                "Hello! Can you help me?",
                "--url",
                proxy_url,
            )


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
