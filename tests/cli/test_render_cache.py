"""The render cache hands out only what a cold render would print and write, byte for byte: the
estate's files are changed at random (seeded) and every cached render is compared with a cold one;
damaged entries are misses, never trusted. ``LLMOPS_TEST_ROUNDS`` sets how many changes the estate
sees (default 16)."""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import compiler.build
from benchmarks.generate_estate import generate_estate
from compiler.build import RenderOutput
from compiler.load.estate import ENVIRONMENTS_DIR
from llmops import render_cache
from tests.helpers.estate import CliResult, copy_bundled_estate, run_cli

ROUNDS = int(os.environ.get("LLMOPS_TEST_ROUNDS", "16"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def cold(*argv: str) -> CliResult:
    return run_cli("render", *argv, "--cache-dir", "off")


def everything_in(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Renders:
    """Counts the renders that ran (not served from the cache)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = compiler.build.render_repository

        def counted(*args: object, **kwargs: object) -> object:
            self.count += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(compiler.build, "render_repository", counted)


def next_round(estate: Path, pristine: dict[str, bytes], rng: random.Random) -> str:
    """Half the time back to the manifests ``pristine`` holds first, then one random change
    (`mutate`). Returns what was done."""
    if rng.random() < 0.5:
        folder = estate / ENVIRONMENTS_DIR
        for name in everything_in(folder).keys() - pristine.keys():
            (folder / name).unlink()
        for name, data in pristine.items():
            (folder / name).write_bytes(data)
    return mutate(estate, rng)


def mutate(estate: Path, rng: random.Random) -> str:
    """One random change to a manifest: some keep the estate valid and change what is rendered,
    some change only bytes, some break it. Returns what was done."""
    files = sorted((estate / ENVIRONMENTS_DIR).rglob("*.yaml"))
    target = rng.choice(files)
    text = target.read_text(encoding="utf-8")
    choice = rng.randrange(6)
    if choice == 0:  # a comment: other bytes, same objects
        target.write_text(text + f"# note {rng.random()}\n", encoding="utf-8")
    elif choice == 1:  # a number changed (replicas, sizes, GPUs, ...)
        digits = [i for i, c in enumerate(text) if c.isdigit()]
        if not digits:
            return mutate(estate, rng)
        i = rng.choice(digits)
        target.write_text(text[:i] + str(rng.randrange(1, 10)) + text[i + 1 :], encoding="utf-8")
    elif choice == 2:  # a label added to the first metadata
        target.write_text(
            text.replace(
                "metadata:\n", f"metadata:\n  labels:\n    round: r{rng.randrange(99)}\n", 1
            ),
            encoding="utf-8",
        )
    elif choice == 3:  # broken YAML
        target.write_text(text.replace(":", "", 1), encoding="utf-8")
    elif choice == 4:  # a file copied under a new name (duplicates, or more of the same)
        target.with_name(f"copy-{rng.randrange(999)}.yaml").write_text(text, encoding="utf-8")
    else:  # a file removed
        target.unlink()
    return f"{['comment', 'digit', 'label', 'broken', 'copy', 'remove'][choice]} {target.name}"


def test_cached_renders_equal_cold_renders_while_files_change_at_random(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    pristine = everything_in(estate / ENVIRONMENTS_DIR)
    cache = tmp_path / "cache"
    rng = random.Random(1717)
    renders = Renders(monkeypatch)
    served, runs = 0, 0
    for round_number in range(ROUNDS):
        done = "nothing"
        if round_number:
            done = next_round(estate, pristine, rng)
        for env in ([], ["--env", "prod"]):
            for as_files in (False, True):
                for _ in range(2):  # the first may fill the cache, the second may use it
                    runs += 1
                    out, cold_out = tmp_path / f"out-{runs}", tmp_path / f"cold-{runs}"
                    where = ["-o", str(out)] if as_files else []
                    before = renders.count
                    cached = run_cli("render", str(estate), *env, *where, "--cache-dir", str(cache))
                    served += renders.count == before
                    expected = cold(str(estate), *env, *(["-o", str(cold_out)] if as_files else []))
                    context = f"round {round_number} ({done}), {env or 'all'}, files={as_files}"
                    assert cached.exit_code == expected.exit_code, context
                    assert cached.stderr == expected.stderr, context
                    assert cached.stdout == expected.stdout.replace(str(cold_out), str(out))
                    if as_files:
                        assert everything_in(out) == everything_in(cold_out), context
    assert served >= ROUNDS, "the cache was hardly ever used: the test proves nothing"


def _entries(cache: Path) -> list[Path]:
    """The whole renders kept (not the parts: environments rendered, files parsed)."""
    return sorted(cache.glob("*" + render_cache.SUFFIX))


def _entry(cache: Path) -> Path:
    (entry,) = _entries(cache)
    return entry


def _damaged(data: bytes, how: str) -> bytes:
    _, _, body = data.partition(b"\n")
    if how == "truncated":
        return data[: len(data) // 2]
    if how == "flipped":  # one byte of a rendered file changed, the digest not
        return data.replace(b"kind: InferenceService", b"kind: InferenceServicf", 1)
    if how == "empty":
        return b""
    if how == "other key":  # whole and signed, but another render's entry
        body = body.replace(b'"key": "', b'"key": "0', 1)
        return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body
    if how == "not json":
        body = b"{" + body
        return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body
    if how == "longer":  # whole and signed, but its texts are not where it says they are
        body += b"\n"
        return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body
    if how == "no stream":  # whole and signed, but its layout lacks a field
        assert b'"stream": true}' in body
        body = body.replace(b'"stream": true}', b'"streamed": true}', 1)
        return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body
    if how == "elsewhere":  # whole and signed, but it names a file outside the directory
        assert b'"entry", "' in body
        body = body.replace(b'"entry", "', b'"entry", "../', 1)
        return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    ["truncated", "flipped", "empty", "other key", "not json", "longer", "no stream", "elsewhere"],
)
def test_a_damaged_entry_is_a_miss_and_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    cache = tmp_path / "cache"
    expected = cold(str(estate))
    renders = Renders(monkeypatch)
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    entry = _entry(cache)
    whole = entry.read_bytes()
    entry.write_bytes(_damaged(whole, how))
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert renders.count == 2, "a damaged entry was used"
    assert _entry(cache).read_bytes() == whole
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert renders.count == 2, "the repaired entry was not used"


def _resigned(data: bytes) -> bytes:
    """An environment's entry whole and signed for its key, but not the one written: it says its
    render asked one more question (whose answer is not the same now)."""
    _, _, body = data.partition(b"\n")
    asked = b'"asked": ['
    more = b'["is_dir", "not-there", 0, "value 0"]'
    body = body.replace(asked, asked + more + (b"" if asked + b"]" in body else b", "), 1)
    return render_cache.FORMAT + b" " + render_cache._digest(body).encode() + b"\n" + body


@pytest.mark.parametrize("how", ["removed", "truncated", "re-signed"])
def test_a_whole_render_whose_environment_entries_changed_is_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """A whole render names each environment's entry by key and SHA-256 instead of repeating its
    text: one removed, damaged, or written again with other content is a miss, never used."""
    estate = copy_bundled_estate(tmp_path / "estate")
    cache = tmp_path / "cache"
    expected = cold(str(estate))
    renders = Renders(monkeypatch)
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert len(_entry(cache).read_bytes()) < len(expected.stdout.encode())
    groups = sorted(cache.glob("*" + render_cache.GROUP_SUFFIX))
    assert len(groups) == 3
    for group in groups:
        data = group.read_bytes()
        if how == "removed":
            group.unlink()
        elif how == "truncated":
            group.write_bytes(data[: len(data) // 2])
        else:
            group.write_bytes(_resigned(data))
        assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
        assert renders.count == 2, f"a whole render naming a {how} {group.name} was used"
        renders.count = 1
    assert run_cli("render", str(estate), "--cache-dir", str(cache)) == expected
    assert renders.count == 1, "the entries written again were not used"


def test_the_cache_directory_comes_from_the_flag_the_variable_or_the_xdg_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    monkeypatch.setenv("LLMOPS_CACHE_DIR", str(tmp_path / "from-variable"))
    run_cli("render", str(estate))
    assert len(_entries(tmp_path / "from-variable")) == 1
    run_cli("render", str(estate), "--cache-dir", str(tmp_path / "from-flag"))
    assert len(_entries(tmp_path / "from-flag")) == 1
    monkeypatch.delenv("LLMOPS_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    run_cli("render", str(estate))
    assert len(_entries(tmp_path / "xdg" / "llmops" / "render")) == 1
    renders = Renders(monkeypatch)
    assert run_cli("render", str(estate), "--cache-dir", "off") == cold(str(estate))
    assert renders.count == 2
    # `~` unexpanded (set in quotes, or in a manifest's env): the home folder, not a folder `~`
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LLMOPS_CACHE_DIR", "~/renders")
    monkeypatch.chdir(tmp_path)
    run_cli("render", str(estate))
    assert len(_entries(tmp_path / "home" / "renders")) == 1
    assert not (tmp_path / "~").exists()


def test_an_unwritable_cache_only_costs_time(tmp_path: Path) -> None:
    estate = copy_bundled_estate(tmp_path / "estate")
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory\n", encoding="utf-8")
    result = run_cli("render", str(estate), "--cache-dir", str(blocked / "cache"))
    expected = cold(str(estate))
    assert (result.exit_code, result.stdout) == (expected.exit_code, expected.stdout)
    assert result.stderr.startswith("llmops: render cache not written: ")


def test_a_render_with_warnings_is_not_kept(tmp_path: Path) -> None:
    """Its warnings are printed on every run, so it is validated every time (its parsed files and
    rendered environments may be kept: they do not depend on the warnings)."""
    estate = copy_bundled_estate(tmp_path / "estate")
    endpoint = estate / "environments/stg/serving/example-model.yaml"
    text = endpoint.read_text(encoding="utf-8")
    assert "max_concurrent_requests: 20\n" in text
    endpoint.write_text(text.replace("requests: 20\n", "requests: 6400\n"), encoding="utf-8")
    result = run_cli("render", str(estate), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0 and "warning[C004]" in result.stderr
    assert _entries(tmp_path / "cache") == []


def test_the_cache_names_the_loaders_folder() -> None:
    assert render_cache.ENVIRONMENTS == ENVIRONMENTS_DIR


def _cache_files(cache: Path) -> dict[str, tuple[int, int]]:
    """The cache's files (not others), each with its size and modification time."""
    return {
        path.name: (path.stat().st_size, path.stat().st_mtime_ns)
        for path in cache.iterdir()
        if render_cache.CACHE_FILE.fullmatch(path.name)
    }


def test_the_cache_stays_within_its_budget_least_recently_used_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each kind of file was bounded by count alone: at 1,000 endpoints x 3 the directory could
    pass 2 GB, more than an Argo CD repo-server's ephemeral storage may hold. Past its budget the
    least recently used files go, never one the run wrote or used, nor a file not the cache's."""
    estate = copy_bundled_estate(tmp_path)
    cache = tmp_path / "cache"
    endpoint = estate / ENVIRONMENTS_DIR / "dev" / "serving" / "example-model.yaml"
    original = endpoint.read_text(encoding="utf-8")
    assert "maxReplicas: 3" in original
    for replicas in range(4, 12):  # eight renders of different estates fill the cache
        endpoint.write_text(original.replace("maxReplicas: 3", f"maxReplicas: {replicas}"))
        run_cli("render", str(estate), "--cache-dir", str(cache))
    (cache / "notes.txt").write_bytes(b"x" * 100_000)  # not the cache's: never counted or removed
    (cache / "notes.checked").write_bytes(b"x" * 100_000)  # nor is this, whatever its ending
    # what killed writers left (older than any write takes) goes; what a running one writes stays
    stale, fresh = cache / ".entry-killed", cache / ".entry-writing"
    stale.write_bytes(b"x" * 100_000)
    fresh.write_bytes(b"x" * 100_000)
    long_ago = time.time() - render_cache.STALE_TEMPORARY_SECONDS - 60
    os.utime(stale, (long_ago, long_ago))
    before = _cache_files(cache)
    filled = sum(size for size, _ in before.values())

    monkeypatch.setenv(render_cache.BUDGET_VARIABLE, "0")  # nothing but this run's may stay
    endpoint.write_text(original, encoding="utf-8")
    expected = cold(str(estate))
    first = run_cli("render", str(estate), "--cache-dir", str(cache))
    assert first.stdout == expected.stdout and first.stderr == ""
    after = _cache_files(cache)
    assert 0 < sum(size for size, _ in after.values()) < filled
    assert (cache / "notes.txt").stat().st_size == 100_000
    assert (cache / "notes.checked").stat().st_size == 100_000
    assert not stale.exists() and fresh.exists()
    renders = Renders(monkeypatch)
    again = run_cli("render", str(estate), "--cache-dir", str(cache))
    assert again.stdout == expected.stdout
    assert renders.count == 0  # what the run before wrote and used was kept: a hit

    # within a budget, the least recently used go first
    for replicas in range(4, 12):
        endpoint.write_text(original.replace("maxReplicas: 3", f"maxReplicas: {replicas}"))
        run_cli("render", str(estate), "--cache-dir", str(cache))
    monkeypatch.setenv(render_cache.BUDGET_VARIABLE, "1")
    filler = {f"{n:064x}.group": n for n in range(3)}  # old parts of 400 KB each
    for name, age in filler.items():
        (cache / name).write_bytes(b"x" * 400_000)
        os.utime(cache / name, ns=(age, age))
    endpoint.write_text(original.replace("maxReplicas: 3", "maxReplicas: 12"), encoding="utf-8")
    run_cli("render", str(estate), "--cache-dir", str(cache))
    left = _cache_files(cache)
    assert sum(size for size, _ in left.values()) <= 1 << 20
    removed = [name for name in filler if name not in left]
    assert removed and removed == list(filler)[: len(removed)]  # the oldest first


def test_an_unreadable_budget_is_named_and_the_default_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(render_cache.BUDGET_VARIABLE, "2GB")
    estate = copy_bundled_estate(tmp_path)
    result = run_cli("render", str(estate), "--cache-dir", str(tmp_path / "cache"))
    assert result.exit_code == 0
    assert result.stdout == cold(str(estate)).stdout
    assert "LLMOPS_CACHE_MAX_MB is not a whole number of MiB" in result.stderr
    assert "1024 MiB are used" in result.stderr
    hit = run_cli("render", str(estate), "--cache-dir", str(tmp_path / "cache"))
    assert "LLMOPS_CACHE_MAX_MB is not a whole number of MiB" in hit.stderr  # a hit says it too


def _render_process(estate: Path, cache: str, *, unbuffered: bool) -> bytes:
    """`llmops render ESTATE --cache-dir CACHE` as its own process: its standard output's bytes
    (``unbuffered``: with `PYTHONUNBUFFERED`, as the project's image sets it)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "llmops.cli.main", "render", str(estate), "--cache-dir", cache],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done.stdout


@pytest.mark.slow
@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_process_writes_the_cached_stream_byte_for_byte(tmp_path: Path, unbuffered: bool) -> None:
    """Written to the process's standard output, the texts the cache kept (as their UTF-8 bytes)
    are the bytes a cold render writes: an environment that is not ASCII, the whole render handed
    out, and a change that renders one environment anew between two handed out."""
    estate = tmp_path / "estate"
    generate_estate(estate, 4)  # renders without a warning: kept by the cache
    serving = sorted((estate / ENVIRONMENTS_DIR / "prod").rglob("*.yaml"))[-1]
    serving.write_text(
        serving.read_text(encoding="utf-8") + "# ünïcödé, 日本語, emoji 🚀\n", encoding="utf-8"
    )
    cache = str(tmp_path / "cache")
    for round_number in range(3):
        expected = _render_process(estate, "off", unbuffered=unbuffered)
        # filled (or one environment rendered anew between two handed out), then handed out whole
        assert _render_process(estate, cache, unbuffered=unbuffered) == expected, round_number
        assert _render_process(estate, cache, unbuffered=unbuffered) == expected, round_number
        assert list(Path(cache).glob("*" + render_cache.SUFFIX)), "nothing was kept"
        serving.write_text(
            serving.read_text(encoding="utf-8") + f"# round {round_number} ✓\n", encoding="utf-8"
        )


@pytest.mark.parametrize(
    "make_out",
    [
        lambda raw: io.TextIOWrapper(raw, encoding="utf-8"),
        lambda raw: io.TextIOWrapper(raw, encoding="utf-8", newline="\n"),
        lambda raw: io.TextIOWrapper(raw, encoding="utf-16"),
        lambda raw: io.TextIOWrapper(raw, encoding="latin-1", errors="replace"),
    ],
)
def test_kept_bytes_and_text_interleave_as_the_text_would(
    make_out: Callable[[io.BytesIO], io.TextIOWrapper],
) -> None:
    parts: tuple[str | bytes | memoryview, ...] = (
        "---\nkind: A\n",
        "---\nname: é ✓\n".encode(),
        memoryview("---\nkind: 日本\n".encode()),
        "---\nlast: z\n",
    )
    output = RenderOutput(objects=4, directories=["a", "b", "c", "d"], stream_parts=parts)
    written, reference = io.BytesIO(), io.BytesIO()
    out, text_out = make_out(written), make_out(reference)
    output.write_stream(out)
    out.flush()
    assert output.stream is not None
    text_out.write(output.stream)
    text_out.flush()
    assert written.getvalue() == reference.getvalue()
    assert output.stream == "---\nkind: A\n---\nname: é ✓\n---\nkind: 日本\n---\nlast: z\n"
    plain = io.StringIO()
    output.write_stream(plain)
    assert plain.getvalue() == output.stream


def test_a_file_name_that_is_not_utf8_is_kept_and_handed_out(tmp_path: Path) -> None:
    """The trace names every file read: one whose name is not UTF-8 (a lone surrogate in Python)
    used to end the render as an internal error when its entry was written."""
    estate = copy_bundled_estate(tmp_path / "estate")
    serving = estate / ENVIRONMENTS_DIR / "dev" / "serving"
    os.rename(serving / "example-model.yaml", os.path.join(os.fsencode(serving), b"\xff\xfe.yaml"))
    cache = tmp_path / "cache"
    expected = cold(str(estate))
    assert expected.exit_code == 0, expected.stderr
    for _ in range(2):  # kept, then handed out
        cached = run_cli("render", str(estate), "--cache-dir", str(cache))
        assert (cached.exit_code, cached.stdout, cached.stderr) == (
            expected.exit_code,
            expected.stdout,
            expected.stderr,
        )
    assert list(cache.glob("*.render"))


@pytest.fixture
def warm_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as the warm server is: it keeps what it read between commands."""
    from llmops.warm import memo

    monkeypatch.setattr(memo, "_kept", memo.KeptSources())
    monkeypatch.setattr(render_cache, "_BODY_DIGESTS", {})


def _texts_file_at(path: Path, texts: dict[bytes, bytes]) -> None:
    """Written as the cache writes: another file renamed over the old one."""
    header = render_cache.FORMAT + b" emitted "
    other = path.with_name("written-first")
    other.write_bytes(render_cache._texts_file(header, dict(texts)))
    other.replace(path)


def test_the_warm_server_trusts_a_cache_file_it_verified_only_while_it_is_that_file(
    tmp_path: Path, warm_process: None
) -> None:
    """It reads the same texts on every render and checks their digest once per version of the
    file (its inode, size and times); the cache touching the file keeps what was checked, and any
    file put in its place is checked again, a damaged one of the same size included."""
    path = tmp_path / "group.emitted"
    header = render_cache.FORMAT + b" emitted "
    key = b"k" * 32
    _texts_file_at(path, {key: b"replicas: 2\n"})
    assert render_cache._read_texts(path, header) is not None
    assert len(render_cache._BODY_DIGESTS) == 1
    cache = render_cache.RenderCache(tmp_path)
    time.sleep(0.01)
    cache._touch(path)  # new times, the same file: what was checked still holds, once
    assert len(render_cache._BODY_DIGESTS) == 1
    with pytest.MonkeyPatch.context() as patch:

        def computed(_data: object) -> str:
            raise AssertionError("the digest was computed again")

        patch.setattr(render_cache, "_digest", computed)
        read = render_cache._read_texts(path, header)
    assert read is not None and bytes(read[1][key]) == b"replicas: 2\n"
    good = path.read_bytes()
    damaged = good.replace(b"replicas: 2", b"replicas: 3")
    assert len(damaged) == len(good)
    other = tmp_path / "damaged"
    other.write_bytes(damaged)
    os.utime(other, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))
    other.replace(path)  # same size and times, another file: its digest does not match
    assert render_cache._read_texts(path, header) is None
    _texts_file_at(path, {key: b"replicas: 3\n"})  # a whole file of the same size: read anew
    read = render_cache._read_texts(path, header)
    assert read is not None and bytes(read[1][key]) == b"replicas: 3\n"


def test_the_warm_server_keeps_a_bounded_number_of_digests(
    tmp_path: Path, warm_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every render touches the files it used: each touch moves what was checked to the file's
    new version, and versions beyond the bound go, the least recently found first."""
    monkeypatch.setattr(render_cache, "_BODY_DIGESTS_KEPT", 4)
    header = render_cache.FORMAT + b" emitted "
    cache = render_cache.RenderCache(tmp_path)
    paths = [tmp_path / f"{n}.emitted" for n in range(6)]
    for path in paths:
        _texts_file_at(path, {b"k" * 32: path.name.encode()})
    for _ in range(50):
        for path in paths:
            assert render_cache._read_texts(path, header) is not None
            cache._touch(path)
        assert len(render_cache._BODY_DIGESTS) <= 4
    newest = render_cache._version_of(paths[-1], os.stat(paths[-1]))
    assert newest in render_cache._BODY_DIGESTS


def test_a_process_of_its_own_checks_every_digest_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "group.emitted"
    _texts_file_at(path, {b"k" * 32: b"a: 1\n"})
    assert render_cache._read_texts(path, render_cache.FORMAT + b" emitted ") is not None
    assert render_cache._BODY_DIGESTS == {}


def test_a_file_another_run_removes_meanwhile_is_no_problem_of_this_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs that share a cache prune and trim it at once: a file one of them lists and another
    removes before it is looked at is skipped, not reported as a write that failed (it named
    another run's file), and trimming goes on past it."""
    cache = render_cache.RenderCache(tmp_path)
    gone = f"{'a' * 64}{render_cache.SUFFIX}"
    for name in (gone, f"{'b' * 64}{render_cache.SUFFIX}"):
        (tmp_path / name).write_bytes(b"x" * 100)
    real_scandir = os.scandir

    class Removed:
        def __init__(self, entry: os.DirEntry[str]) -> None:
            self.name, self.path, self._entry = entry.name, entry.path, entry

        def is_file(self) -> bool:
            return True

        def stat(self) -> os.stat_result:
            if self.name == gone:
                raise FileNotFoundError(2, "No such file or directory", self.path)
            return self._entry.stat()

    @contextlib.contextmanager
    def scandir(path: Any) -> Iterator[list[Removed]]:
        with real_scandir(path) as entries:
            yield [Removed(entry) for entry in entries]

    monkeypatch.setattr(os, "scandir", scandir)
    written = tmp_path / f"{'c' * 64}{render_cache.SUFFIX}"
    assert cache._write(written, b"y", render_cache.SUFFIX, 1) is None
    cache.trim(0)  # within a budget of nothing: every file not in use goes, the vanished skipped
    assert sorted(path.name for path in tmp_path.iterdir()) == [gone, written.name]


def test_only_short_question_paths_are_remembered() -> None:
    before = render_cache._remembered_other_manifest.cache_info().currsize
    long_path = "environments/prod/" + "d/" * 200 + "x.yaml"
    question = ("read_bytes", long_path, 1 << 20)
    assert render_cache._other_manifest(question) == render_cache._other_manifest_of(question)
    assert render_cache._remembered_other_manifest.cache_info().currsize == before
