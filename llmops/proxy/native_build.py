"""Build the proxy's compiled hot path (llmops/proxy/native.py): `make native`, which runs
`python -m llmops.proxy.native_build`.

Needs mypy (its mypyc compiler, in the test extra), a C compiler and Python's headers. The build
is made in a temporary folder and replaces ``_compiled/`` whole, stamp last, so an interrupted build
leaves the proxy on its sources, never on a mix.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

from llmops.proxy.native import COMPILED, COMPILED_DIR, GROUP, PACKAGE_DIR, STAMP, source_stamp

REPO = PACKAGE_DIR.parent.parent


def build(target: Path = COMPILED_DIR) -> list[Path]:
    """Compile ``COMPILED`` into ``target``; return the files written."""
    from mypyc.build import mypycify
    from setuptools import Distribution  # type: ignore[import-untyped]

    stamp = source_stamp()
    sources = [f"llmops/proxy/{name}.py" for name in COMPILED]
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
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
        built = sorted((work / "lib" / "llmops" / "proxy").glob(f"*{suffix}"))
        expected = {f"{name}{suffix}" for name in COMPILED} | {f"native__mypyc{suffix}"}
        if {path.name for path in built} != expected:
            raise SystemExit(f"mypyc built {[path.name for path in built]}, not {sorted(expected)}")
        staging = target.with_name(target.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for path in built:
            shutil.copy2(path, staging / path.name)
        if source_stamp() != stamp:  # a source edited while the build ran
            shutil.rmtree(staging)
            raise SystemExit("a proxy source changed during the build; build again")
        (staging / STAMP).write_text(stamp, encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return sorted(target.iterdir())


def main() -> None:
    written = build()
    print(f"compiled {len(COMPILED)} proxy modules into {COMPILED_DIR} ({len(written)} files)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
