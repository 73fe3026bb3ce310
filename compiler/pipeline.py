"""The compiler's front half: load → spec → resolve → check. Pure: it reads only through a
RepoTree."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from compiler.check.names import is_label_name
from compiler.check.runner import Attributed, check_estate
from compiler.check.runner import KnownChecks as KnownChecks  # for compiler.build
from compiler.check.schema import validate_document
from compiler.collector import collector_paused as collector_paused  # for the commands
from compiler.decide.engine import Decider
from compiler.diagnostics import Diagnostic, DiagnosticSet, Severity, Suppressed
from compiler.errors import LlmopsError
from compiler.load.document import SourceDocument
from compiler.load.estate import SHARED_ENV, LoadedEstate, ParsedFiles, SourceFiles, load_estate
from compiler.load.tree import RepoTree
from compiler.records import record
from compiler.resolve.environment import ResolvedEnvironment
from compiler.resolve.estate import ResolvedEstate, resolve_estate
from compiler.resolve.gaps import Gap, kinds_written, unread_gap
from compiler.resolve.lineage import split_trained_by
from compiler.resolve.manifest import Identity, Manifest, raw_identity, spec_of
from compiler.resolve.peers import PeerMap
from compiler.resolve.peers import peer_reads_run as peer_reads_run  # for compiler.build
from compiler.spec.dataset import DatasetSpec
from compiler.spec.kinds import KINDS
from compiler.spec.model import ModelSpec
from compiler.spelling import suggestion_budget


@dataclass(eq=False, repr=False)
class ValidationResult:
    """A validated estate and what is reported about it."""

    loaded: LoadedEstate
    estate: ResolvedEstate
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # what inline `# llmops: ignore[...]` comments suppressed (not counted; JSON and SARIF list it)
    suppressed: list[Suppressed] = field(default_factory=list)
    # every diagnostic as found, before the rule settings and suppressions, and what applies them
    found: list[Attributed] = field(default_factory=list, repr=False)
    decider: Decider | None = field(default=None, repr=False)

    def add_audit(self, diagnostics: list[Diagnostic]) -> None:
        """Add the approval audit's findings (`validate --audit`) and decide again: now a
        suppression of an audit rule can be judged unused."""
        self.found.extend(Attributed(d, None, d.span) for d in diagnostics)
        if self.decider is None:  # made by hand, not by validate_repository
            collected = DiagnosticSet()
            collected.extend([*self.diagnostics, *diagnostics])
            self.diagnostics = collected.sorted()
            return
        decided = self.decider.decide(self.found, audited=True)
        self.diagnostics, self.suppressed = decided.diagnostics, decided.suppressed

    @property
    def error_count(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity is Severity.ERROR)

    @property
    def sources(self) -> dict[str, str]:
        return {path: source.text for path, source in self.loaded.files.items()}


def validate_manifests(
    loaded: LoadedEstate,
) -> tuple[list[Manifest], dict[str, list[Identity]], list[Gap], list[Diagnostic]]:
    """Validate every document; return the typed manifests, per origin the identities that failed,
    the gaps (manifests that may exist but could not be read), and the diagnostics."""
    manifests: list[Manifest] = []
    broken: dict[str, list[Identity]] = {}
    gaps = [unread_gap(part, loaded.origin[part.file]) for part in loaded.unread]
    diagnostics: list[Diagnostic] = []
    for path, source in loaded.files.items():
        origin = loaded.origin[path]
        kept = source.manifests
        if kept is not None and kept[0] == origin:
            manifests.extend(cast("list[Manifest]", kept[1]))
            continue
        file_manifests, file_gaps = _validate_file(source.documents, origin, broken, diagnostics)
        manifests.extend(file_manifests)
        gaps.extend(file_gaps)
        if not file_gaps and all(d.validated is not None for d in source.documents):
            # every document valid, nothing to report: a process that reads the same file again
            # (the warm server) takes the same manifests
            source.manifests = (origin, file_manifests)
    return manifests, broken, gaps, diagnostics


def _validate_file(
    documents: list[SourceDocument],
    origin: str,
    broken: dict[str, list[Identity]],
    diagnostics: list[Diagnostic],
) -> tuple[list[Manifest], list[Gap]]:
    """One file's typed manifests and gaps; adds its failed identities to ``broken`` and its
    diagnostics to ``diagnostics``."""
    manifests: list[Manifest] = []
    gaps: list[Gap] = []
    for document in documents:
        model, problems = validate_document(document)
        diagnostics.extend(problems)
        if model is None:
            identity = raw_identity(document)
            failed = {d.path for d in problems}
            if (
                identity is not None
                and identity[0] in KINDS
                and KINDS[identity[0]].versioned
                and failed & {("spec",), ("spec", "version")}
            ):
                # a version with a schema error (missing, a list) is not the one meant
                identity = (identity[0], identity[1], None)
            if identity is not None and (
                failed & {("metadata",), ("metadata", "name")} or not is_label_name(identity[1])
            ):
                identity = None  # a name that is not valid names nothing for sure
            if identity is not None:
                broken.setdefault(origin, []).append(identity)
            gap = _identity_gap(document, identity, origin)
            if gap is not None:
                gaps.append(gap)
            continue
        kind = document.data["kind"]
        if kind != "Environment" and not is_label_name(model.metadata.name):
            # K001 reports the name; what refers to this manifest may mean it by another name
            gaps.append(
                Gap(
                    document.file,
                    document.start.line,
                    origin,
                    frozenset({kind}),
                    f"holds a {kind} whose name is not valid (line {document.start.line})",
                )
            )
        spec = spec_of(model)
        manifests.append(
            Manifest(
                kind=kind,
                name=model.metadata.name,
                version=spec.version if isinstance(spec, ModelSpec | DatasetSpec) else None,
                model=model,
                spec=spec,
                document=document,
                origin=origin,
            )
        )
    return manifests, gaps


def _identity_gap(document: SourceDocument, identity: Identity | None, origin: str) -> Gap | None:
    """An invalid document whose identity is not known, or an invalid Environment or Approval
    (whose settings, or whose approval, are lost: rules read them by content, not by name). Other
    invalid documents are known by name and resolve as broken references."""
    line = document.start.line
    if identity is not None and identity[0] in ("Environment", "Approval"):
        return Gap(
            document.file,
            line,
            origin,
            frozenset({identity[0]}),
            f"holds an {identity[0]} that is not valid (line {line})",
        )
    if identity is not None and identity[0] in KINDS:
        return None
    written = document.data.get("kind")
    kinds = kinds_written((frozenset({written}),) if isinstance(written, str) else None)
    return Gap(
        document.file,
        line,
        origin,
        kinds,
        f"holds a document whose kind or name is not valid (line {line})",
    )


def validate_repository(
    tree: RepoTree,
    only_env: str | None = None,
    *,
    parsed: ParsedFiles | None = None,
    known: KnownChecks | None = None,
    sources: SourceFiles | None = None,
) -> ValidationResult:
    """Load, validate, resolve and check an estate.

    **Parameters:** ``tree`` the repository; ``only_env`` restricts the work to one environment
    (plus ``_shared``); ``parsed`` what earlier runs parsed, ``known`` what their checks
    reported, ``sources`` the files an earlier command of this process read (the result is the
    same without them).
    **Returns:** the resolved estate and every diagnostic, sorted and without repeats.
    **Raises:** ``LlmopsError`` when the repository is not an estate or the environment is unknown.
    """
    with collector_paused(), suggestion_budget(), peer_reads_run():
        loaded = load_estate(tree, only_env, parsed=parsed, sources=sources)
        manifests, broken, gaps, schema_diagnostics = validate_manifests(loaded)
        estate = resolve_estate(tree, loaded.environments, manifests, broken, gaps)
        if only_env is not None:
            shared = _SharedPart.of(manifests, broken, gaps)
            _add_required_peers(tree, estate, shared, parsed, sources)
        found = [
            *(Attributed(d, None, d.span) for d in (*loaded.diagnostics, *schema_diagnostics)),
            *check_estate(estate, known),
        ]
        decider = Decider(loaded, estate, only_env)
        decided = decider.decide(found)
        return ValidationResult(
            loaded=loaded,
            estate=estate,
            diagnostics=decided.diagnostics,
            suppressed=decided.suppressed,
            found=found,
            decider=decider,
        )


@record(eq=False, repr=False)
class _SharedPart:
    """What ``_shared`` contributed to a run: a peer environment is resolved against the same
    manifests, so ``_shared`` is read and validated once, not once more per peer."""

    manifests: list[Manifest]
    broken: list[Identity]
    gaps: list[Gap]

    @classmethod
    def of(
        cls, manifests: list[Manifest], broken: dict[str, list[Identity]], gaps: list[Gap]
    ) -> _SharedPart:
        return cls(
            [manifest for manifest in manifests if manifest.origin == SHARED_ENV],
            broken.get(SHARED_ENV, []),
            [gap for gap in gaps if gap.origin == SHARED_ENV],
        )


def _named_environments(env: ResolvedEnvironment, *, policy: bool) -> set[str]:
    """The environments ``env``'s models' `trainedBy: ENV/JOB` name, and with ``policy`` the one
    its promotion policy names."""
    named = {env.settings.promotion.requires if policy else None}
    for model in env.of_kind("Model"):
        if model.spec.trained_by is not None:
            named.add(split_trained_by(model.spec.trained_by)[0])
    return {name for name in named if name is not None and name != env.name}


def _add_required_peers(
    tree: RepoTree,
    estate: ResolvedEstate,
    shared: _SharedPart,
    parsed: ParsedFiles | None = None,
    sources: SourceFiles | None = None,
) -> None:
    """`validate --env prod` still sees the environment prod's promotion policy names, and those a
    model's `trainedBy: ENV/JOB` names, and in turn those its models' `trainedBy` name (read only
    as context: their own problems are reported when they are validated themselves). Each sees
    the others as a run of every environment would: stg's digest of a model trained in dev covers
    dev's job, so P012 compares prod's digest with the same digest stg has in a run of all three.
    A peer's own promotion policy is not followed: nothing checked here reads what it names."""
    known = {env.name: env for env in estate.environments}
    checked = set(known)
    waiting = list(estate.environments)
    while waiting:
        env = waiting.pop(0)
        named = _named_environments(env, policy=env.name in checked)
        for peer_name in sorted(named - known.keys()):
            try:
                loaded = load_estate(
                    tree, peer_name, with_shared=False, parsed=parsed, sources=sources
                )
            except LlmopsError:
                continue  # an unknown environment: the policy or lineage rule reports it
            manifests, broken, gaps, _ = validate_manifests(loaded)
            broken[SHARED_ENV] = shared.broken
            peers = resolve_estate(
                tree,
                loaded.environments,
                [*shared.manifests, *manifests],
                broken,
                [*shared.gaps, *gaps],
                cache=env.cache,
            )
            for peer in peers.environments:
                known[peer.name] = peer
                waiting.append(peer)
    for env in known.values():
        env.peers = PeerMap(
            {name: other for name, other in sorted(known.items()) if other is not env}
        )
