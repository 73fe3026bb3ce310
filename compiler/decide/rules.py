"""The rules about rule settings and suppressions (code family L)."""

from __future__ import annotations

import inspect

from compiler.diagnostics import Category, Rule, Severity


def _rule(
    code: str, name: str, severity: Severity, summary: str, category: Category, doc: str
) -> Rule:
    """A rule with its documentation in the fixed sections (see compiler/check/rule_docs.py)."""
    return Rule(code, name, severity, summary, inspect.cleandoc(doc), category=category)


SUPPRESSION_MALFORMED = _rule(
    "L001",
    "suppression-malformed",
    Severity.ERROR,
    "A `# llmops:` comment is not `# llmops: ignore[CODE] reason`.",
    Category.SUPPRESSION,
    """
    What it checks:
        Every comment in a manifest that starts with `llmops:` is a suppression llmops
        understands: `ignore`, the codes in square brackets (separated by commas), then the
        reason. `# llmops: ignore C004 ...` (no brackets) and `# llmops: ignore[] ...` (no code)
        are refused.
    Why it matters:
        A directive llmops cannot read suppresses nothing, yet its author believes it does: the
        diagnostic they meant to silence keeps failing the build, or worse, they stop reading
        the output. Saying so at the comment is the quickest way to the right form.
    Wrong: the codes without brackets
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore C004 the proxy queue absorbs...
    Right: the codes in brackets, then the reason
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore[C004] the proxy queue absorbs...
    """,
)
SUPPRESSION_WITHOUT_REASON = _rule(
    "L002",
    "suppression-without-reason",
    Severity.ERROR,
    "A suppression gives no reason.",
    Category.SUPPRESSION,
    """
    What it checks:
        Every `# llmops: ignore[...]` comment says why after the codes (`ignore[C004]: reason`
        and `ignore[C004] -- reason` work too). A suppression without a reason suppresses
        nothing.
    Why it matters:
        A suppression is a decision someone made about a finding; without the reason the next
        reader cannot tell whether it still holds (a queue accepted for load tests is not
        accepted for users). The reason is also what JSON and SARIF report as the
        justification.
    Wrong: no reason
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore[C004]
    Right: the reason says why the queue is acceptable here
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore[C004] load tests measure the...
    """,
)
SUPPRESSION_UNKNOWN_CODE = _rule(
    "L003",
    "suppression-unknown-code",
    Severity.ERROR,
    "A suppression names a code that is not a rule.",
    Category.SUPPRESSION,
    """
    What it checks:
        Every code in a suppression is the code of a rule (`llmops rules` lists them). The hint
        suggests the code most likely meant, swapped digits first. The comment's other codes
        still apply.
    Why it matters:
        A misspelt code suppresses nothing, so the diagnostic meant stays; and a comment naming a
        rule that does not exist misleads every later reader about what is being waived.
    Wrong: C040 is no rule (C004 was meant)
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore[C040] load tests measure the...
    Right: the code of the warning to suppress
        # file: environments/stg/serving/support-chat.yaml
              max_concurrent_requests: 64  # llmops: ignore[C004] load tests measure the...
    """,
)
SUPPRESSION_UNUSED = _rule(
    "L004",
    "suppression-unused",
    Severity.WARNING,
    "A suppression suppresses nothing.",
    Category.SUPPRESSION,
    """
    What it checks:
        Every code of every suppression suppressed a diagnostic, where that can be told: audit
        rules (G) only with `--audit`, a `_shared` file's suppressions only when every
        environment is validated, not in a file with a syntax or schema error (the rule may not
        have run), and not in an environment whose checks stood aside for a file that could not
        be read. A code disabled in the environment is named as such.
    Why it matters:
        A suppression outlives the problem it was written for: once the manifest is fixed it
        silently waives the rule for whatever goes wrong on that line next. Like ruff's unused
        `noqa`, it is reported so it can be removed. A warning, since nothing is wrong yet.
    Wrong: two replicas now hold the 12 requests; the suppression is left over
        # file: environments/stg/serving/support-chat.yaml
          minReplicas: 2
        ...
              max_concurrent_requests: 12  # llmops: ignore[C004] one replica queues during...
    Right: the comment removed with the problem
        # file: environments/stg/serving/support-chat.yaml
          minReplicas: 2
        ...
              max_concurrent_requests: 12
    """,
)
SUPPRESSION_LOCKED = _rule(
    "L005",
    "suppression-of-locked-rule",
    Severity.ERROR,
    "A suppression names a rule its environment locks.",
    Category.SUPPRESSION,
    """
    What it checks:
        No suppression names a rule whose category is locked in an environment of its file: the
        environment's `rules.locked` (by default approval, promotion and audit) and, everywhere,
        syntax, schema, reference, placement, suppression and configuration. The suppression is
        refused there and the diagnostic stays.
    Why it matters:
        Whoever can edit a manifest can write a comment; a locked category is policy that only
        the environment's settings may relax, reviewed as a policy change. Otherwise a comment
        could waive an approval, the promotion order, or a file llmops could not read.
    Wrong: a comment waiving an approval
        # file: environments/dev/serving/support-chat.yaml
          modelId: support-model@1.0  # llmops: ignore[P001] the lead approved it in chat
    Right: the approval is recorded where the audit can see who gave it
        # file: environments/dev/serving/support-chat.yaml
          # Right: the approval is recorded (approvals/), where the audit can see who gave it.
          modelId: support-model@1.0
        $ ls environments/dev/approvals
        support-model-1-0-admin.yaml
    """,
)
SETTING_UNKNOWN = _rule(
    "L006",
    "unknown-rule-in-settings",
    Severity.ERROR,
    "The rule settings name a code or category that does not exist.",
    Category.CONFIGURATION,
    """
    What it checks:
        Every key of `spec.rules.severity` and every entry of `spec.rules.disabled` in
        environment.yaml is a rule code or a category, and every entry of `spec.rules.locked` is
        a category. The hint suggests the one most likely meant.
    Why it matters:
        A setting naming nothing does nothing, silently: the rule meant keeps its severity, or a
        category meant to be locked is not. Settings are policy, and policy that quietly does
        not apply is worse than none.
    Wrong: C040 is no rule (C004 was meant)
        # file: environments/stg/environment.yaml
          rules:
            severity:
              # Wrong: C040 is no rule (C004 was meant): the setting would silently do nothing.
              C040: info
    Right: the code names the rule
        # file: environments/stg/environment.yaml
          rules:
            disabled:
              # Right: staging runs load tests that queue on purpose; the code names the rule.
              - C004
    """,
)
SETTING_LOCKED = _rule(
    "L007",
    "locked-rule-weakened",
    Severity.ERROR,
    "The rule settings lower or disable a locked rule.",
    Category.CONFIGURATION,
    """
    What it checks:
        No entry of `spec.rules.severity` lowers, and no entry of `spec.rules.disabled` disables,
        a rule of a locked category: those in the environment's `rules.locked` (by default
        approval, promotion and audit) and, in every environment, syntax, schema, reference,
        placement, suppression and configuration. Raising is allowed. A refused setting is
        ignored: the rule keeps its severity.
    Why it matters:
        The lock keeps policy (who must approve, the order models move through environments)
        from being turned off in passing. Unlocking a category is possible, but it must be said
        in `rules.locked`, where it reads as the policy change it is. The always-locked
        categories decide whether llmops could read and resolve what it deploys.
    Wrong: approvals disabled while the category is locked
        # file: environments/dev/environment.yaml
          rules:
            # Wrong: approvals are locked unless the environment's policy unlocks them.
            disabled: [P001]
    Right: the environment's policy unlocks approvals first
        # file: environments/dev/environment.yaml
          rules:
            # Right: dev's policy takes approvals out of the locked categories, then...
            locked: [promotion, audit]
            disabled: [P001]
    """,
)

DECISION_RULES: tuple[Rule, ...] = (
    SUPPRESSION_MALFORMED,
    SUPPRESSION_WITHOUT_REASON,
    SUPPRESSION_UNKNOWN_CODE,
    SUPPRESSION_UNUSED,
    SUPPRESSION_LOCKED,
    SETTING_UNKNOWN,
    SETTING_LOCKED,
)
