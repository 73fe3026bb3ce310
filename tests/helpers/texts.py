"""A `compiler.render.remembered.RememberedTexts` in memory for tests: what a render keeps and
hands out again, and how often it was handed out."""

from __future__ import annotations


class CountingTexts:
    def __init__(self) -> None:
        self.texts: dict[bytes, str] = {}
        self.hits = 0

    def get(self, key: bytes) -> str | None:
        text = self.texts.get(key)
        self.hits += text is not None
        return text

    def put(self, key: bytes, text: str) -> None:
        self.texts[key] = text
