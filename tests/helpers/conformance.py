"""The shared conformance checker (`../shared/conformance/check.py`) with built-in kinds REQUIRED.

CRD kinds (KServe, Argo CD, Kubeflow Trainer) are checked against the upstream CRD schemas; built-in
kinds with kubernetes-validate in strict mode. A missing kubernetes-validate is a failure, never a skip.
"""

from __future__ import annotations

import functools
import sys
from types import ModuleType

from tests.helpers.estate import SHARED_DIR

CONFORMANCE_DIR = SHARED_DIR / "conformance"


@functools.cache
def checker() -> ModuleType:
    if str(CONFORMANCE_DIR) not in sys.path:
        sys.path.insert(0, str(CONFORMANCE_DIR))
    import check  # type: ignore[import-not-found]

    kubernetes_validate = check._kubernetes_validate()
    assert kubernetes_validate is not None, "kubernetes-validate is required: pip install kubernetes-validate"
    # kubernetes-validate re-reads its JSON schemas (megabytes) on every call; the files do not change
    # during a test run, so read each once. Only speed changes: the same schemas validate the same way.
    from kubernetes_validate import utils  # type: ignore[import-untyped]

    if not hasattr(utils.schema_contents, "cache_info"):
        utils.schema_contents = functools.cache(utils.schema_contents)
    module: ModuleType = check
    return module


def conformance_failures(text: str) -> list[str]:
    """One line per problem (FAIL or SKIP) of any document in ``text``; [] when every document is OK."""
    results = checker().check_text(text, require_builtin=True)
    assert results, "no documents to check"
    return [line for result in results if result.status != "OK" for line in result.lines(show_all=True)]


def assert_conformant(text: str) -> None:
    assert conformance_failures(text) == []
