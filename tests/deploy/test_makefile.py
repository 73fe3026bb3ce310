"""The virtualenv the Makefile builds (README quickstart, CI) runs llmops from compiled modules, as
a regular install does: an editable install leaves them uncompiled, and where Python writes no
bytecode (PYTHONDONTWRITEBYTECODE, a read-only checkout) every cold run compiled them all again."""

from __future__ import annotations

import tomllib

from tests.helpers.estate import PROJECT_ROOT


def test_every_editable_install_compiles_the_packages() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    top_level = sorted({name.split(".")[0] for name in pyproject["tool"]["setuptools"]["packages"]})
    assert f"BYTECODE = -m compileall -q {' '.join(top_level)}" in makefile.splitlines()
    installs = [block for block in makefile.split("\n\n") if "\t$(BIN)/python $(SELF)\n" in block]
    assert len(installs) == 2, installs  # .installed-run and .installed-test
    for recipe in installs:
        assert "\t$(BIN)/python $(SELF)\n\t$(BIN)/python $(BYTECODE)\n" in recipe, recipe


def test_make_run_compiles_modules_edited_since_the_install() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\nrun: $(BIN)/.installed-run\n\t$(BIN)/python $(BYTECODE)\n" in makefile
