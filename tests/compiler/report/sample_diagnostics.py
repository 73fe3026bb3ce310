"""One hand-made set of diagnostics that every output format is tested against.

It covers what formats get wrong: all three severities, a hint, a related location, a
multi-line span, a span without an end, a file that is not in the sources, a file name with
a space and a comma, and a message with newlines, commas, colons, `%`, quotes and `<&>`.
"""

from __future__ import annotations

from compiler.check.registry import RULES_BY_CODE
from compiler.diagnostics import Diagnostic, Related, Severity
from compiler.positions import Span
from compiler.report.base import ReportContext

MODEL = "environments/_shared/catalog/model.yaml"
OTHER_MODEL = "environments/_shared/catalog/other.yaml"
CHAT = "environments/dev/serving/chat.yaml"
CLEAN = "environments/stg/environment.yaml"
NOTES = "environments/stg/notes, v2.txt"  # not a manifest: no source text is kept for it

MODEL_TEXT = """\
apiVersion: llmops.io/v1
kind: Model
metadata:
  name: llama
spec:
  version: 2
"""

CHAT_TEXT = """\
apiVersion: llmops.io/v1
kind: ServingEndpoint
metadata:
  name: chat
spec:
  model: llama@3
  route: "/a, b: 100% <&>"
  mode: 0755
"""

CLEAN_TEXT = """\
apiVersion: llmops.io/v1
kind: Environment
metadata:
  name: stg
"""

TRICKY_MESSAGE = (
    'spec.route: not in the expected format (got the string "/a, b: 100% <&>")\n'
    "routes look like: /llm-ops/v1/serve/<name>"
)

DUPLICATE = Diagnostic(
    code="R005",
    name="duplicate-identity",
    severity=Severity.ERROR,
    message="Model `llama` version 2 is defined twice",
    span=Span(MODEL, 4, 9, 4, 14),
    path=("metadata", "name"),
    hint="rename one of them or give it another version",
    related=(Related(Span(OTHER_MODEL, 4, 9, 4, 14), "first defined here"),),
    subject="Model/llama (dev)",
)
NOT_APPROVED = Diagnostic(
    code="P001",
    name="model-not-approved",
    severity=Severity.ERROR,
    message="endpoint serves `llama@3`, which is not approved for dev",
    span=Span(CHAT, 5, 1, 8, 13),
    path=("spec",),
    hint="llmops approve llama@3 --env dev --by ID --role ROLE",
    subject="ServingEndpoint/chat (dev)",
)
TRICKY = Diagnostic(
    code="S005",
    name="invalid-value",
    severity=Severity.ERROR,
    message=TRICKY_MESSAGE,
    span=Span(CHAT, 7, 10, 7, 27),
    path=("spec", "route"),
    hint='write it as: "/llm-ops/v1/serve/chat" (100% <literal>, no commas)',
    subject="ServingEndpoint/chat",
)
OCTAL = Diagnostic(
    code="Y010",
    name="yaml11-number",
    severity=Severity.WARNING,
    message="`0755` is 755 in YAML 1.2 but 493 in YAML 1.1",
    span=Span(CHAT, 8, 9),
    path=("spec", "mode"),
    hint='quote it: "0755"',
)
NOTE = Diagnostic(
    code="I001",
    name="not-a-manifest",
    severity=Severity.INFO,
    message="skipped: the file is not YAML",
    span=Span.file_start(NOTES),
)

# Already in the order the pipeline hands them to formatters (file, line, column, code, message).
DIAGNOSTICS: list[Diagnostic] = [DUPLICATE, NOT_APPROVED, TRICKY, OCTAL, NOTE]

CONTEXT = ReportContext(
    sources={MODEL: MODEL_TEXT, OTHER_MODEL: MODEL_TEXT, CHAT: CHAT_TEXT, CLEAN: CLEAN_TEXT},
    files_checked=4,
    environments=("dev", "stg"),
    tool_version="1.2.3",
    rules={
        "R005": RULES_BY_CODE["R005"],
        "P001": RULES_BY_CODE["P001"],
        "S005": RULES_BY_CODE["S005"],
        "Y010": RULES_BY_CODE["Y010"],
    },  # I001 is left out on purpose: a rule without a summary
)
