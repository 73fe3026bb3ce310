"""What the warm server keeps of the values its renders parsed from the render cache's texts
(llmops/warm/memo.py, `ParsedObjects`): a group's next render takes them instead of parsing the
same texts again, within a bound, and only while the cache holds the text they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops import render_cache
from llmops.warm import memo


def _parsed_in_command(parsed: memo.ParsedObjects, group: str, sizes: dict[bytes, int]) -> None:
    for key, size in sizes.items():
        if parsed.get(group, key) is None:
            parsed.put(group, key, {"parsed from": key.decode()}, size)
    parsed.command_done()


def test_a_group_s_next_render_takes_what_its_last_render_used_and_nothing_older() -> None:
    parsed = memo.ParsedObjects()
    _parsed_in_command(parsed, "prod", {b"a": 10, b"b": 10})
    first = parsed.get("prod", b"a")
    assert first == {"parsed from": "a"}
    assert parsed.get("prod", b"a") is first  # the same value, not parsed again
    parsed.command_done()  # this render used only `a`
    assert parsed.get("prod", b"a") is first
    assert parsed.get("prod", b"b") is None
    assert parsed.get("stg", b"a") is None  # each group its own


def test_a_group_no_command_rendered_keeps_its_values() -> None:
    """Argo CD's Applications take turns: dev's and stg's renders (or none, each served whole
    from the cache) leave prod's values for prod's next change."""
    parsed = memo.ParsedObjects()
    _parsed_in_command(parsed, "prod", {b"a": 10})
    _parsed_in_command(parsed, "dev", {b"d": 10})
    for _ in range(5):
        parsed.command_done()
    assert parsed.get("prod", b"a") is not None and parsed.get("dev", b"d") is not None


def test_the_values_kept_stay_within_their_bound_the_latest_groups_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(memo, "KEEP_PARSED_CHARACTERS", 100)
    parsed = memo.ParsedObjects()
    _parsed_in_command(parsed, "dev", {b"d1": 40, b"d2": 40})
    _parsed_in_command(parsed, "stg", {b"s1": 30, b"s2": 30})
    assert parsed.characters() <= 100
    assert parsed.get("stg", b"s1") is not None and parsed.get("stg", b"s2") is not None
    assert (parsed.get("dev", b"d1") is None) + (parsed.get("dev", b"d2") is None) == 1
    parsed.command_done()
    _parsed_in_command(parsed, "prod", {b"p": 500})  # larger than the bound: not kept at all
    assert parsed.get("prod", b"p") is None and parsed.characters() <= 100
    for round_number in range(50):  # groups come and go: what is kept stays bounded
        _parsed_in_command(parsed, f"env-{round_number}", {b"x": 30, b"y": 30})
        assert parsed.characters() <= 100


def _store_with_text(tmp_path: Path, parsed: memo.ParsedObjects) -> render_cache.EmittedStore:
    """A group's texts in the cache holding one text, read by a render of the warm server."""
    cache = render_cache.RenderCache(tmp_path / "cache")
    cache.directory.mkdir(mode=0o700)
    store = render_cache.EmittedStore(cache, "prod", parsed)
    store.put(b"k" * 32, '{"kind": "Thing"}')
    assert store.save() is None
    return render_cache.EmittedStore(cache, "prod", parsed)


def test_a_value_is_handed_out_only_while_the_cache_holds_its_text(tmp_path: Path) -> None:
    parsed = memo.ParsedObjects()
    key = b"k" * 32
    store = _store_with_text(tmp_path, parsed)
    value = {"kind": "Thing"}
    store.keep_parsed(key, value, 17)
    parsed.command_done()
    again = render_cache.EmittedStore(store.cache, "prod", parsed)
    assert again.parsed(key) is value
    assert again.parsed(b"o" * 32) is None  # a key whose text the cache does not hold
    for path in store.cache.directory.iterdir():
        path.unlink()  # the cache emptied (or another cache directory): its text is gone
    emptied = render_cache.EmittedStore(store.cache, "prod", parsed)
    assert emptied.parsed(key) is None


def test_a_value_handed_out_keeps_its_text_in_the_cache(tmp_path: Path) -> None:
    """The text stays in use, as a render that parsed it again would have used it: the group's file
    keeps it when it is written again whole."""
    parsed = memo.ParsedObjects()
    key = b"k" * 32
    store = _store_with_text(tmp_path, parsed)
    store.keep_parsed(key, {"kind": "Thing"}, 17)
    parsed.command_done()
    again = render_cache.EmittedStore(store.cache, "prod", parsed)
    assert again.parsed(key) is not None
    assert again._used == {key: b'{"kind": "Thing"}'}


def test_outside_the_server_nothing_parsed_is_kept(tmp_path: Path) -> None:
    store = _store_with_text(tmp_path, memo.ParsedObjects())
    own = render_cache.EmittedStore(store.cache, "prod")
    own.keep_parsed(b"k" * 32, {"kind": "Thing"}, 17)
    assert own.parsed(b"k" * 32) is None


def test_an_environment_no_recent_render_rendered_is_let_go() -> None:
    """An environment removed (or of a repository no longer asked about) holds no memory for
    long: after `KEEP_COMMANDS` commands that rendered others, its values are gone, names and
    all, while environments come and go."""
    parsed = memo.ParsedObjects()
    _parsed_in_command(parsed, "removed", {b"r": 10})
    for command in range(memo.KEEP_COMMANDS - 1):
        _parsed_in_command(parsed, f"other-{command}", {b"o": 10})
    assert parsed.get("removed", b"r") is not None
    parsed.command_done()  # that `get` counts as a render of it
    for command in range(memo.KEEP_COMMANDS):
        _parsed_in_command(parsed, f"next-{command}", {b"n": 10})
    assert parsed.get("removed", b"r") is None
    for command in range(200):
        _parsed_in_command(parsed, f"env-{command}", {b"e": 10})
    assert len(parsed._kept) <= memo.KEEP_COMMANDS and len(parsed._rendered) <= memo.KEEP_COMMANDS
