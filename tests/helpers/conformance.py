"""llmops's own conformance checker (llmops/conformance) over rendered text, for the render tests.

CRD kinds (KServe, Argo CD, Kubeflow Trainer) are checked against the upstream CRDs vendored in
conformance/; built-in kinds against kubernetes-validate's strict schemas. Nothing is skipped: an
unknown kind is a V006 failure, and a missing jsonschema or kubernetes-validate an error.
"""

from __future__ import annotations

import functools

from llmops.conformance.catalog import SchemaCatalog
from llmops.conformance.verify import check_text


@functools.cache
def catalog() -> SchemaCatalog:
    """One catalog for the whole run: each CRD is read and each validator compiled once."""
    return SchemaCatalog()


def conformance_failures(text: str, file: str = "rendered.yaml") -> list[str]:
    """One line per problem (`file:line:col: CODE message`) of any object in ``text``; [] when all
    conform."""
    objects, diagnostics = check_text(file, text, catalog())
    assert objects, "no objects to check"
    return [
        f"{d.span.file}:{d.span.line}:{d.span.column}: {d.code} {d.message}" for d in diagnostics
    ]


def assert_conformant(text: str) -> None:
    assert conformance_failures(text) == []
