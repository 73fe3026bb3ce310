"""The parts of the render cache a changed estate still uses, the values of unchanged manifest files
(``.parsed``), what the checks reported, nothing or diagnostics (``.checked``), environments
rendered before (``.group``) and the texts of objects emitted, templates rendered and proxy
configurations written before (``.emitted``), give what a cold render prints and writes, byte for
byte, diagnostics and exit codes included: estates with several environments (one whose `_shared`
model names a job of dev) are changed at random (seeded; manifests and dataset samples), each
changed estate rendered with the cache and cold. Damaged parts are misses, never trusted.
``LLMOPS_TEST_ROUNDS`` sets how many changes each estate sees (default 16)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from benchmarks.generate_estate import generate_estate
from compiler.emit import memo
from compiler.load.estate import ENVIRONMENTS_DIR
from compiler.render import remembered
from llmops import render_cache
from tests.helpers.estate import CliResult, copy_bundled_estate, run_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("LLMOPS_TEST_ROUNDS", "16"))


def everything_in(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Hits:
    """Counts the environments handed out by the cache, the files not parsed again, the checks
    not run again (``reported``: those whose diagnostics were handed out) and the objects not
    emitted again."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.groups = self.files = self.checks = self.reported = self.texts = 0
        self.made = 0  # of the texts: templates and proxy configurations not made again
        self.objects = 0  # of the texts: training jobs' objects not made again
        self.parsed = 0  # values the warm server parsed before, handed out again (no text parsed)
        lookup, get = render_cache.GroupStore.lookup, render_cache.ParsedStore.get
        known, text = render_cache.CheckStore.lookup, render_cache.EmittedStore.get
        parsed = render_cache.EmittedStore.parsed
        text_key, made_keys, object_keys = remembered.text_key, set(), set()

        def recorded_key(kind: str, value: object) -> bytes | None:
            key = text_key(kind, value)
            made_keys.add(key)
            if kind == "training job":
                object_keys.add(key)
            return key

        def counted_text(store: render_cache.EmittedStore, key: bytes) -> str | None:
            found = text(store, key)
            self.texts += found is not None
            self.made += found is not None and key in made_keys
            self.objects += found is not None and key in object_keys
            return found

        def counted_parsed(store: render_cache.EmittedStore, key: bytes) -> object:
            found = parsed(store, key)
            self.parsed += found is not None
            self.made += found is not None and key in made_keys
            self.objects += found is not None and key in object_keys
            return found

        def counted_known(store: render_cache.CheckStore, *args: object) -> dict[str, list[object]]:
            found = known(store, *args)  # type: ignore[arg-type]
            self.checks += len(found)
            self.reported += sum(1 for diagnostics in found.values() if diagnostics)
            return found  # type: ignore[return-value]

        def counted_lookup(store: render_cache.GroupStore, *args: object) -> object:
            found = lookup(store, *args)  # type: ignore[arg-type]
            self.groups += found is not None
            return found

        def counted_get(store: render_cache.ParsedStore, *args: object) -> object:
            found = get(store, *args)  # type: ignore[arg-type]
            self.files += found is not None
            return found

        monkeypatch.setattr(render_cache.GroupStore, "lookup", counted_lookup)
        monkeypatch.setattr(render_cache.ParsedStore, "get", counted_get)
        monkeypatch.setattr(render_cache.CheckStore, "lookup", counted_known)
        monkeypatch.setattr(render_cache.EmittedStore, "get", counted_text)
        monkeypatch.setattr(render_cache.EmittedStore, "parsed", counted_parsed)
        monkeypatch.setattr(remembered, "text_key", recorded_key)


def mutate(estate: Path, rng: random.Random) -> str:
    """One random change: a value edited, a manifest added or removed, a reference broken, bytes
    changed that change nothing. Returns what was done."""
    samples = sorted(estate.rglob("*.csv"))
    if samples and rng.random() < 0.15:  # a dataset's sample file, read by checks, not render
        sample = rng.choice(samples)
        lines = sample.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = lines[:1] if rng.random() < 0.5 else [*lines, *lines[1:2]]
        sample.write_text("".join(kept), encoding="utf-8")
        return f"sample {sample.relative_to(estate).as_posix()} ({len(kept)} lines)"
    files = sorted((estate / ENVIRONMENTS_DIR).rglob("*.yaml"))
    settings = [path for path in files if path.name == "environment.yaml"]
    if settings and rng.random() < 0.1:  # what an environment renders training jobs as
        return _change_training_settings(rng.choice(settings), rng)
    target = rng.choice(files)
    text = target.read_text(encoding="utf-8")
    choice = rng.randrange(8)
    what = ["comment", "digit", "label", "new manifest", "remove", "reference", "word", "float"][
        choice
    ]
    if choice == 0:
        text += f"# note {rng.random()}\n"
    elif choice == 1:
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if not digits:
            return mutate(estate, rng)
        i = rng.choice(digits)
        text = text[:i] + str(rng.randrange(1, 10)) + text[i + 1 :]
    elif choice == 2:
        text = text.replace(
            "metadata:\n", f"metadata:\n  labels:\n    round: r{rng.randrange(99)}\n"
        )
    elif choice == 3:  # the same manifests under other names: more of them
        suffix = f"x{rng.randrange(99)}"
        copy = re.sub(r"(?m)^(  name: \S+)$", rf"\1-{suffix}", text)
        target.with_name(f"added-{suffix}.yaml").write_text(copy, encoding="utf-8")
        return f"{what} {target.name}"
    elif choice == 4:
        target.unlink()
        return f"{what} {target.name}"
    elif choice == 5:
        references = list(re.finditer(r"(modelId|datasetId|baseModel|trainedBy): (\S+)", text))
        if not references:
            return mutate(estate, rng)
        found = rng.choice(references)
        text = text[: found.start(2)] + "missing-thing" + text[found.end(2) :]
    elif choice == 7:  # an integer written as a float: the same number, another type
        numbers = list(re.finditer(r"(?m)^\s+\w+: (\d+)$", text))
        if not numbers:
            return mutate(estate, rng)
        found = rng.choice(numbers)
        text = text[: found.end(1)] + ".0" + text[found.end(1) :]
    else:  # a word of a value changed (paths, URIs, names)
        words = list(re.finditer(r"(?m)^\s+\w+: ([a-z][a-z-]+)$", text))
        if not words:
            return mutate(estate, rng)
        found = rng.choice(words)
        text = text[: found.start(1)] + found.group(1) + "z" + text[found.end(1) :]
    target.write_text(text, encoding="utf-8")
    return f"{what} {target.relative_to(estate).as_posix()}"


def _change_training_settings(settings: Path, rng: random.Random) -> str:
    """Training jobs as Jobs or TrainJobs, with another image or runtime, or GPU tolerations: what a
    training job's remembered objects are made of besides its manifests."""
    text = settings.read_text(encoding="utf-8")
    if "\n  training:\n" in text:
        text = text.replace("backend: trainjob", "backend: job", 1)
    else:
        backend = rng.choice(["job", "trainjob"])
        text = text.rstrip("\n") + (
            f"\n  training:\n    backend: {backend}\n"
            f"    image: registry.example.com/trainer:{rng.randrange(3)}\n"
            f"    runtime: runtime-{rng.randrange(3)}\n"
        )
    settings.write_text(text, encoding="utf-8")
    return f"training settings {settings.parent.name}"


def _estates(root: Path) -> list[Path]:
    generated = root / "generated"
    generate_estate(generated, 6)
    crossing = root / "crossing"  # its _shared model is trained by a job of dev
    shutil.copytree(PROJECT_ROOT / "examples" / "llm_inference_service", crossing)
    return [generated, crossing, copy_bundled_estate(root / "bundled")]


def _compare(
    cached: CliResult, expected: CliResult, out: Path, cold_out: Path, context: str
) -> None:
    assert cached.exit_code == expected.exit_code, context
    assert cached.stderr == expected.stderr, context
    assert cached.stdout == expected.stdout.replace(str(cold_out), str(out)), context
    if cold_out.exists() or out.exists():
        assert everything_in(out) == everything_in(cold_out), context


def _kept_between_commands(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """This process as the warm server is (it keeps files read and objects parsed between
    commands); returns what the server does after each command."""
    from compiler.resolve.environment import release_environments
    from llmops.warm import memo

    kept = memo.KeptSources()
    monkeypatch.setattr(memo, "_kept", kept)
    monkeypatch.setattr(render_cache, "_BODY_DIGESTS", {})

    def command_done() -> None:
        release_environments()
        kept.command_done()

    return command_done


@contextlib.contextmanager
def _own_process() -> Iterator[None]:
    """A command as its own process runs it (nothing kept from earlier commands)."""
    from llmops.warm import memo

    kept = memo._kept
    memo._kept = None
    try:
        yield
    finally:
        memo._kept = kept


@pytest.mark.parametrize("served", [False, True], ids=["own process", "warm server"])
def test_warm_renders_equal_cold_renders_while_files_change_at_random(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: bool
) -> None:
    """``served``: the cached renders run as the warm server runs them, one after another in one
    process that keeps what it read and parsed (the cold renders as their own process)."""
    command_done = _kept_between_commands(monkeypatch) if served else lambda: None
    hits = Hits(monkeypatch)
    rng = random.Random(4242)
    runs = 0
    for estate in _estates(tmp_path / "estates"):
        pristine = everything_in(estate)
        cache = tmp_path / f"cache-{estate.name}"
        for round_number in range(ROUNDS):
            if rng.random() < 0.7:  # back to the estate as made (it renders), then one change
                for name in everything_in(estate).keys() - pristine.keys():
                    (estate / name).unlink()
                for name, data in pristine.items():
                    (estate / name).write_bytes(data)
            done = mutate(estate, rng) if round_number else "nothing"
            combinations = [(env, files) for env in ([], ["--env", "prod"]) for files in (0, 1)]
            for env, as_files in rng.sample(combinations, 2):
                runs += 1
                out, cold_out = tmp_path / f"out-{runs}", tmp_path / f"cold-{runs}"
                where = ["-o", str(out)] if as_files else []
                cached = run_cli("render", str(estate), *env, *where, "--cache-dir", str(cache))
                command_done()
                cold_where = ["-o", str(cold_out)] if as_files else []
                with _own_process():
                    expected = run_cli(
                        "render", str(estate), *env, *cold_where, "--cache-dir", "off"
                    )
                context = f"{estate.name}, round {round_number} ({done}), {env or 'all'}, {where}"
                _compare(cached, expected, out, cold_out, context)
    assert hits.groups >= ROUNDS // 2, (
        "environments were hardly ever reused: the test proves nothing"
    )
    print(
        f"reused: {hits.groups} environments, {hits.files} files, {hits.checks} checks "
        f"({hits.reported} with diagnostics), {hits.texts} texts ({hits.made} made, "
        f"{hits.objects} training jobs' objects), {hits.parsed} objects parsed before"
    )
    if not served:  # the server keeps the files it read in its memory, not the cache's values
        assert hits.files >= 10 * ROUNDS, "files were hardly ever reused: the test proves nothing"
    assert hits.checks >= 10 * ROUNDS, "checks were hardly ever skipped: the test proves nothing"
    assert hits.reported > 0, "no check's diagnostics were handed out: the test proves nothing"
    assert hits.texts >= 10 * ROUNDS, "texts were hardly ever reused: the test proves nothing"
    assert hits.made >= 10 * ROUNDS, "templates were hardly ever reused: the test proves nothing"
    assert hits.objects >= ROUNDS, "training jobs were hardly ever reused: the test proves nothing"
    if served:
        assert hits.parsed >= 10 * ROUNDS, "parsed objects were hardly ever reused: proves nothing"


def test_a_change_in_the_environment_a_model_is_trained_in_renders_the_others_again(
    tmp_path: Path,
) -> None:
    """prod serves a `_shared` model whose `trainedBy` names dev's job: its objects follow dev's."""
    estate = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples" / "llm_inference_service", estate)
    cache = tmp_path / "cache"
    run_cli("render", str(estate), "--cache-dir", str(cache))
    jobs = [
        path
        for path in (estate / ENVIRONMENTS_DIR / "dev").rglob("*.yaml")
        if "kind: TrainingJob" in path.read_text(encoding="utf-8")
    ]
    assert jobs
    for job in jobs:
        text = job.read_text(encoding="utf-8")
        job.write_text(re.sub(r"(?m)^(\s+outputPath: \S+?)(/?)$", r"\1-v2\2", text), "utf-8")
    cached = run_cli("render", str(estate), "--cache-dir", str(cache))
    assert cached == run_cli("render", str(estate), "--cache-dir", "off")


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "flipped":  # a byte of the content changed, the digest not
        middle = len(body) // 2
        flipped = body[:middle] + bytes([body[middle] ^ 1]) + body[middle + 1 :]
        path.write_bytes(header + b"\n" + flipped)
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "not json":  # whole and with a matching digest, but not as written
        body = b"{" + body.replace(b" [[", b" {[[")  # a group's JSON, each parsed file's
        head = header.rpartition(b" ")[0]
        path.write_bytes(head + b" " + render_cache._digest(body).encode() + b"\n" + body)
    elif how == "longer":  # whole and signed, but its texts are not where it says they are
        body += b"\n"
        head = header.rpartition(b" ")[0]
        path.write_bytes(head + b" " + render_cache._digest(body).encode() + b"\n" + body)
    elif how == "fifo":  # reading it would wait forever for a writer
        path.unlink()
        os.mkfifo(path)
    elif how == "endless":  # reading it would never end
        path.unlink()
        path.symlink_to("/dev/zero")
    else:
        raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["truncated", "flipped", "empty", "not json", "longer", "fifo", "endless"]
)
def test_damaged_parts_are_misses_and_are_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    estate = tmp_path / "estate"
    generate_estate(estate, 4)
    cache = tmp_path / "cache"
    run_cli("render", str(estate), "--cache-dir", str(cache))
    parts = [
        *cache.glob("*.group"),
        *cache.glob("*.parsed"),
        *cache.glob("*.checked"),
        *cache.glob("*.emitted"),
    ]
    # three environments rendered, three checked, the parsed files, the texts of four groups
    assert len(parts) == 11
    for whole in cache.glob("*" + render_cache.SUFFIX):
        whole.unlink()  # not handed out whole: the parts are asked
    for part in parts:
        _damage(part, how)
    endpoint = estate / ENVIRONMENTS_DIR / "prod" / "serving" / "group-0000.yaml"
    endpoint.write_text(endpoint.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    expected = run_cli("render", str(estate), "--cache-dir", "off")
    hits = Hits(monkeypatch)
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert (hits.groups, hits.files, hits.checks, hits.texts) == (0, 0, 0, 0), (
        "a damaged part was used"
    )
    # written again, and used
    for whole in cache.glob("*" + render_cache.SUFFIX):
        whole.unlink()
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert hits.groups == 3 and hits.files > 0 and hits.checks > 0
    endpoint.write_text(endpoint.read_text(encoding="utf-8") + "# again\n", encoding="utf-8")
    expected = run_cli("render", str(estate), "--cache-dir", "off")
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert hits.texts > 0


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX owners and modes")
def test_a_directory_others_may_write_in_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    cache = tmp_path / "cache"
    expected = run_cli("render", str(estate), "--cache-dir", "off")
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    cache.chmod(0o777)
    hits = Hits(monkeypatch)
    result = run_cli("render", str(estate), "--cache-dir", str(cache))
    assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout)
    assert result.stderr == f"llmops: render cache not used: {cache}: others may write in it\n"
    assert (hits.groups, hits.files, hits.checks) == (0, 0, 0)
    cache.chmod(0o700)
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected


def test_a_group_keeps_texts_from_its_second_render_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render into an empty cache makes no keys for texts and keeps none (it writes an empty file
    of texts per group); the group's next render keeps the texts it makes; the one after uses
    them. Every render prints what a cold one prints."""
    estate = tmp_path / "estate"
    generate_estate(estate, 4)
    cache = tmp_path / "cache"
    keys = {"texts": 0, "objects": 0}
    text_key, object_key = remembered.text_key, memo.object_key

    def counted_text_key(kind: str, value: object) -> bytes | None:
        keys["texts"] += 1
        return text_key(kind, value)

    def counted_object_key(obj: dict[str, object]) -> bytes | None:
        keys["objects"] += 1
        return object_key(obj)

    monkeypatch.setattr(remembered, "text_key", counted_text_key)
    monkeypatch.setattr(memo, "object_key", counted_object_key)
    endpoint = estate / ENVIRONMENTS_DIR / "prod" / "serving" / "group-0000.yaml"

    def render_and_compare() -> None:
        expected = run_cli("render", str(estate), "--cache-dir", "off")
        assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected

    render_and_compare()
    assert keys == {"texts": 0, "objects": 0}
    texts_files = sorted(cache.glob("*" + render_cache.EMITTED_SUFFIX))
    assert len(texts_files) == 4  # dev, stg, prod and the Argo CD objects
    sizes = {path: path.stat().st_size for path in texts_files}
    assert len(set(sizes.values())) == 1  # the same empty file, named by group

    hits = Hits(monkeypatch)
    endpoint.write_text(endpoint.read_text(encoding="utf-8") + "# changed\n", encoding="utf-8")
    render_and_compare()
    # objects parsed from a template's text are known by that text's key, not keyed again
    assert hits.texts == 0 and keys["texts"] > 0
    # a small group's texts go beside its (empty) file, a large group's into it
    grown = [path for path in texts_files if path.stat().st_size > sizes[path]]
    beside = list(cache.glob("*" + render_cache.EMITTED_NEW_SUFFIX))
    assert len(grown) + len(beside) == 2, "prod's texts and the Argo CD objects' (rendered anew)"

    endpoint.write_text(endpoint.read_text(encoding="utf-8") + "# again\n", encoding="utf-8")
    render_and_compare()
    assert hits.texts > 0 and hits.made > 0 and hits.objects > 0


def _texts_run(cache: render_cache.RenderCache, used: dict[bytes, str], learnt: dict[bytes, str]):
    """A run of one group's texts: ``used`` handed out (each must be), ``learnt`` made anew."""
    store = render_cache.EmittedStore(cache, "prod")
    for key, text in used.items():
        assert store.get(key) == text
    for key, text in learnt.items():
        assert store.get(key) is None
        store.put(key, text)
    assert store.save() is None
    return store


def test_a_run_that_learnt_a_few_texts_writes_those_not_the_whole_group_again(
    tmp_path: Path,
) -> None:
    """After a change to one endpoint a run learns a few texts among thousands: they go into a
    second file beside the first, which is not written again, and both are read by later runs."""
    cache = render_cache.RenderCache(tmp_path / "cache")
    objects = {n.to_bytes(32, "big"): f"object {n}\n" * 20 for n in range(2_000)}
    store = _texts_run(cache, {}, objects)
    whole = store.path.read_bytes()
    assert not store.new_path.exists()
    changed = {(5_000 + n).to_bytes(32, "big"): f"changed {n}\n" for n in range(3)}
    store = _texts_run(cache, objects, changed)
    assert store.path.read_bytes() == whole  # not written again
    assert 0 < store.new_path.stat().st_size < 500
    learnt = store.new_path.read_bytes()
    store = _texts_run(cache, {**objects, **changed}, {})  # everything handed out
    assert (store.path.read_bytes(), store.new_path.read_bytes()) == (whole, learnt)
    # another change: the earlier change's texts stay beside it (within the bound)
    again = {(6_000).to_bytes(32, "big"): "again\n"}
    _texts_run(cache, {**objects, **changed}, again)
    _texts_run(cache, {**objects, **changed, **again}, {})

    # a damaged second file is not read; the first still is
    data = bytearray(store.new_path.read_bytes())
    data[-1] ^= 1
    store.new_path.write_bytes(bytes(data))
    store = _texts_run(cache, objects, {})
    assert all(store.get(key) is None for key in {**changed, **again})


def test_texts_learnt_beside_an_earlier_whole_file_are_not_handed_out(tmp_path: Path) -> None:
    """The second file names the first by its digest: once the first is written again whole (too
    much was learnt), the second is removed, and one left beside another first file is not read."""
    cache = render_cache.RenderCache(tmp_path / "cache")
    objects = {n.to_bytes(32, "big"): f"object {n}\n" for n in range(2_000)}
    _texts_run(cache, {}, objects)
    changed = {(5_000).to_bytes(32, "big"): "changed\n"}
    store = _texts_run(cache, objects, changed)
    stale = store.new_path.read_bytes()
    many = {(10_000 + n).to_bytes(32, "big"): f"many {n}\n" for n in range(1_500)}
    store = _texts_run(cache, objects, many)  # more than half again: the whole file is written
    assert not store.new_path.exists()
    assert store.get((5_000).to_bytes(32, "big")) == "changed\n"  # kept within the bound

    store.path.unlink()
    others = {key: "other " + text for key, text in objects.items()}
    _texts_run(cache, {}, others)  # another first file, without that text
    store.new_path.write_bytes(stale)  # beside it, what was learnt beside the one before
    store = _texts_run(cache, others, {})
    assert store.get((5_000).to_bytes(32, "big")) is None


def _parsed_run(
    cache: render_cache.RenderCache, used: dict[str, bytes], learnt: dict[str, bytes]
) -> render_cache.ParsedStore:
    """A run of the parsed files: ``used`` handed out (each must be), ``learnt`` parsed anew
    (each file's bytes by its path; its values say which)."""
    store = render_cache.ParsedStore(cache)
    for path, data in used.items():
        assert store.get(path, data) == [(0, {"file": path, "bytes": len(data)})], path
    for path, data in learnt.items():
        assert store.get(path, data) is None
        store.put(path, data, [(0, {"file": path, "bytes": len(data)})])
    assert store.save() is None
    return store


def test_a_run_that_parsed_a_few_files_writes_those_not_every_file_s_values_again(
    tmp_path: Path,
) -> None:
    """After a change to one file among a thousand, a run writes that file's values beside the
    parsed values of all (naming them by digest), not all of them again; a damaged or stale
    second file is not read."""
    cache = render_cache.RenderCache(tmp_path / "cache")
    files = {f"environments/prod/serving/f{n}.yaml": b"x" * (100 + n) for n in range(200)}
    store = _parsed_run(cache, {}, files)
    whole = store.path.read_bytes()
    changed = {"environments/prod/serving/f7.yaml": b"changed"}
    store = _parsed_run(cache, files, changed)
    assert store.path.read_bytes() == whole  # not written again
    assert 0 < store.new_path.stat().st_size < 500
    store = _parsed_run(cache, {**files, **changed}, {})  # both read
    assert store.path.read_bytes() == whole

    learnt = store.new_path.read_bytes()
    store.new_path.write_bytes(learnt[:-2] + bytes([learnt[-2] ^ 1]) + learnt[-1:])
    _parsed_run(cache, files, changed)  # damaged: parsed again (and written again)

    many = {f"environments/dev/serving/g{n}.yaml": b"y" * n for n in range(150)}
    store = _parsed_run(cache, files, many)  # more than half again: the whole file is written
    assert not store.new_path.exists()
    stale = _parsed_run(cache, {**files, **many}, {"environments/stg/a.yaml": b"a"}).new_path
    kept = stale.read_bytes()
    store.path.unlink()
    others = {path: data + b"!" for path, data in files.items()}
    _parsed_run(cache, {}, others)  # another whole file, without that line
    stale.write_bytes(kept)  # beside it, what was learnt beside the one before
    fresh = render_cache.ParsedStore(cache)
    assert fresh.get("environments/stg/a.yaml", b"a") is None


def test_a_group_s_texts_stay_within_their_bound_while_a_large_one_keeps_changing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each changed proxy configuration is a new text of megabytes: earlier ones are kept only
    within a quarter of the bytes a run used (or `KEEP_TEXT_BYTES`), not one more per run (and
    what is learnt beside the whole file stays within half of it)."""
    monkeypatch.setattr(render_cache, "KEEP_TEXT_BYTES", 4_000)
    cache = render_cache.RenderCache(tmp_path / "cache")
    small = {bytes([n]) * 32: f"object {n}\n" for n in range(20)}
    for run in range(30):
        store = render_cache.EmittedStore(cache, "prod")
        for key, text in small.items():
            if run == 0:
                store.put(key, text)
            else:
                assert store.get(key) == text
        large_key = bytes([100 + run]) * 32
        assert store.get(large_key) is None
        store.put(large_key, f"{run:02} " + "x" * 3_000)
        assert store.save() is None
        used = sum(len(text) for text in small.values()) + 3_003
        written = store.path.stat().st_size
        if store.new_path.exists():
            written += store.new_path.stat().st_size
        # the first file: at most what a run used and the bound; beside it, at most half that
        assert written <= 1.5 * (used + 4_000) + 2_000, f"run {run}"
    kept = render_cache.EmittedStore(cache, "prod")
    assert kept.get(bytes([129]) * 32) == "29 " + "x" * 3_000  # the last run's
    assert kept.get(bytes([128]) * 32) == "28 " + "x" * 3_000  # an earlier one, within the bound
    assert kept.get(bytes([100]) * 32) is None  # the first run's, long gone


@pytest.mark.parametrize("how", ["fifo", "endless"])
def test_a_whole_render_entry_that_is_no_file_is_a_miss(tmp_path: Path, how: str) -> None:
    """In a process of its own, with a time limit: a FIFO entry blocked the read forever, a link
    to /dev/zero read until memory ran out."""
    import subprocess
    import sys

    estate = copy_bundled_estate(tmp_path / "estate")
    cache = tmp_path / "cache"
    expected = run_cli("render", str(estate), "--cache-dir", "off")
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    entries = [*cache.glob("*" + render_cache.SUFFIX), *cache.glob("*.group")]
    assert entries
    for entry in entries:
        _damage(entry, how)
    done = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "render", str(estate), "--cache-dir", str(cache)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, expected.stdout, expected.stderr)


def test_a_check_that_took_a_peer_s_value_from_another_check_follows_that_peer(
    tmp_path: Path,
) -> None:
    """stg serves an adapter trained by dev's job and approves it. The model's digest covers the
    job, read through dev; P001 computes it and P002 takes it from the run's memo. P002's findings
    were kept as if it had read no peer, so after dev's job changed the cached render passed
    while a cold one reported the stale approval (P002) and rendered nothing."""
    estate = tmp_path / "estate"
    shutil.copytree(PROJECT_ROOT / "examples" / "adapters", estate, dirs_exist_ok=True)
    shutil.copytree(PROJECT_ROOT / "examples" / "datasets", estate / "examples" / "datasets")
    environments = estate / ENVIRONMENTS_DIR
    (environments / "stg" / "serving").mkdir(parents=True)
    settings = (environments / "dev" / "environment.yaml").read_text(encoding="utf-8")
    settings = settings.replace("name: dev", "name: stg").replace("llm-ops-dev", "llm-ops-stg")
    (environments / "stg" / "environment.yaml").write_text(
        settings + "  rules:\n    locked: []\n    severity:\n      P001: warning\n", "utf-8"
    )
    shutil.copy(
        environments / "dev" / "serving" / "support-chat.yaml", environments / "stg" / "serving"
    )
    for model in ("support-base@3.1", "support-sft@1.0"):
        approved = run_cli(
            "approve", model, "--env", "stg", "--by", "alice", "--role", "admin", str(estate)
        )
        assert approved.exit_code == 0, approved.stderr
    cache = tmp_path / "cache"
    assert run_cli("render", str(estate), "--cache-dir", str(cache)).exit_code == 0
    job = environments / "dev" / "training" / "support-sft.yaml"
    text = job.read_text(encoding="utf-8")
    assert "learning_rate: 0.0002" in text
    job.write_text(text.replace("learning_rate: 0.0002", "learning_rate: 0.0003"), "utf-8")
    approved = run_cli(
        "approve",
        "support-sft@1.0",
        "--env",
        "dev",
        "--by",
        "alice",
        "--role",
        "admin",
        str(estate),
    )
    assert approved.exit_code == 0, approved.stderr

    cold = run_cli("render", str(estate), "--cache-dir", "off")
    assert cold.exit_code == 1 and "P002" in cold.stderr
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == cold
    assert run_cli("render", str(estate), "--env", "stg", "--cache-dir", str(cache)) == run_cli(
        "render", str(estate), "--env", "stg", "--cache-dir", "off"
    )
