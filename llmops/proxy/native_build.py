"""Build the proxy's compiled hot path (llmops/proxy/native.py): `make native`, which runs
`python -m llmops.proxy.native_build`.

Needs mypy (its mypyc compiler, in the test extra), a C compiler and Python's headers. The build
is made in a temporary folder and replaces ``_compiled/`` whole, stamp last, so an interrupted build
leaves the proxy on its sources, never on a mix.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
import tempfile
from pathlib import Path

from llmops.proxy.native import (
    COMPILED,
    COMPILED_DIR,
    GROUP,
    PACKAGE_DIR,
    STAMP,
    built_files,
    built_stamp,
    compiled_dir,
    source_stamp,
)

REPO = PACKAGE_DIR.parent.parent
LOCK = PACKAGE_DIR / ".compiled.lock"  # two builds at once (two terminals, an editor's test run)


def build(target: Path = COMPILED_DIR) -> list[Path]:
    """Compile ``COMPILED`` into ``target``; return the files written."""
    from mypyc.build import mypycify
    from setuptools import Distribution  # type: ignore[import-untyped]

    stamp = source_stamp()
    sources = [f"llmops/proxy/{name}.py" for name in COMPILED]
    with tempfile.TemporaryDirectory(prefix="llmops-native-") as scratch:
        work = Path(scratch)
        previous = Path.cwd()
        os.chdir(REPO)  # mypyc names each module by its path from here
        try:
            extensions = mypycify(
                sources, opt_level="3", group_name=GROUP, target_dir=str(work / "c")
            )
            distribution = Distribution({"name": "llmops-proxy-native", "ext_modules": extensions})
            command = distribution.get_command_obj("build_ext")
            command.build_lib = str(work / "lib")
            command.build_temp = str(work / "temp")
            distribution.run_command("build_ext")
        finally:
            os.chdir(previous)
        built = work / "lib" / "llmops" / "proxy"
        expected = built_files()
        found = sorted(path.name for path in built.iterdir() if path.is_file())
        if found != expected:
            raise SystemExit(f"mypyc built {found}, not {expected}")
        staging = Path(tempfile.mkdtemp(prefix="_compiled.new-", dir=target.parent))
        try:
            for name in expected:
                shutil.copy2(built / name, staging / name)
            if source_stamp() != stamp:  # a source edited while the build ran
                raise SystemExit("a proxy source changed during the build; build again")
            (staging / STAMP).write_text(stamp + built_stamp(staging), encoding="utf-8")
            with LOCK.open("w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return sorted(target.iterdir())


def main() -> None:
    folder, _ = compiled_dir()
    if folder is not None:
        print(f"the proxy's compiled modules in {folder} are up to date")
        return
    written = build()
    print(f"compiled {len(COMPILED)} proxy modules into {COMPILED_DIR} ({len(written)} files)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
