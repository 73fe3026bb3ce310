"""ConfigMaps under deploy/argocd/ that carry another file's text verbatim as a block scalar.

`python3 -m tests.deploy.embedded` rewrites them from their source files; the tests compare.
Each ConfigMap file ends with the line `  <key>: |`, followed by the source indented by four spaces.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.estate import PROJECT_ROOT

ARGOCD_DIR = PROJECT_ROOT / "deploy" / "argocd"


@dataclass(frozen=True)
class Embedded:
    configmap: Path
    key: str
    source: Path

    def expected(self) -> str:
        """The ConfigMap's text with the source embedded as it is now (the part above the key
        kept)."""
        text = self.configmap.read_text(encoding="utf-8")
        marker = f"\n  {self.key}: |\n"
        head = text[: text.index(marker) + len(marker)]
        body = "".join(
            f"    {line}" if line.strip() else "\n"
            for line in self.source.read_text(encoding="utf-8").splitlines(keepends=True)
        )
        return head + body


EMBEDDED = (
    Embedded(
        ARGOCD_DIR / "argocd-cm-health.yaml",
        "resource.customizations.health.serving.kserve.io_InferenceService",
        ARGOCD_DIR / "health" / "inferenceservice.lua",
    ),
    Embedded(
        ARGOCD_DIR / "argocd-cm-health-llminferenceservice.yaml",
        "resource.customizations.health.serving.kserve.io_LLMInferenceService",
        ARGOCD_DIR / "health" / "llminferenceservice.lua",
    ),
    Embedded(ARGOCD_DIR / "cmp-plugin-configmap.yaml", "plugin.yaml", ARGOCD_DIR / "plugin.yaml"),
)


def main() -> int:
    for item in EMBEDDED:
        expected = item.expected()
        if item.configmap.read_text(encoding="utf-8") != expected:
            item.configmap.write_text(expected, encoding="utf-8")
            print(f"updated {item.configmap.relative_to(PROJECT_ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
