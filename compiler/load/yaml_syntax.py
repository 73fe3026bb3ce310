"""Plain-words explanations of YAML syntax errors, placed on the line the user has to change.

libyaml says where it gave up, in its own terms ("mapping values are not allowed in this context"),
and that is often the line after the mistake. The mistakes people make when writing manifests by
hand (a key indented more or less than its siblings, no space after `:`, a list item at the wrong
level, an unclosed quote or bracket, text after a closing quote) are recognised here from the
tokens libyaml read before the error and from the indentation of the lines around it.
"""

from __future__ import annotations

import re

import yaml

from compiler.records import record

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# `key:value` at the start of a line's content: a key written without the space YAML needs after `:`
# The value greedy up to a comment (its trailing spaces stripped after): a lazy value followed by
# `\s*` backtracked over every space of a long run, a 40 KB line taking 29 s.
_NO_SPACE_AFTER_COLON = re.compile(r"([^\s:#'\"\[\]{},][^\s:]*):(?!//)([^\s:][^#]*)(?:#.*)?$")
_LIST_ITEM_PREFIX = re.compile(r"(?:-\s+)*")
# a line that is a `key:` (with or without a value), as people write mapping keys
_KEY_LINE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*:(?:\s|$)")
_CLOSERS = {"[": "]", "{": "}"}
_QUOTE_HINTS = {
    '"': 'write `\\"` for a double quote inside it',
    "'": "write `''` for a single quote inside it",
}
_LONGEST_QUOTED = 40


@record
class SyntaxProblem:
    """What is wrong, in the user's terms, and where (1-based)."""

    message: str
    line: int
    column: int
    hint: str | None = None
    related: tuple[tuple[int, int, str], ...] = ()  # (line, column, what is there)
    tab: bool = False  # the mistake is a tab (its own rule code)


def _shorten(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _LONGEST_QUOTED else text[: _LONGEST_QUOTED - 1] + "…"


def _scan(text: str) -> list[yaml.Token]:
    """The tokens libyaml reads before it gives up (or all of them, when only the parser
    objects)."""
    tokens: list[yaml.Token] = []
    try:
        for token in yaml.scan(text, Loader=_Loader):
            tokens.append(token)
    except (yaml.YAMLError, RecursionError, MemoryError):
        pass
    return tokens


class _Source:
    """The text's lines and tokens, with the questions the explanations ask of them."""

    def __init__(self, text: str):
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.tokens = _scan(text)

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def indent(self, number: int) -> int:
        """The column (1-based) where the line's content starts, after any `- ` list markers."""
        row = self.line(number)
        stripped = row.lstrip(" ")
        return len(row) - len(stripped) + _LIST_ITEM_PREFIX.match(stripped).end() + 1  # type: ignore[union-attr]

    def significant(self, number: int) -> bool:
        content = self.line(number).strip()
        return bool(content) and not content.startswith("#")

    def next_significant(self, number: int) -> int | None:
        return next(
            (n for n in range(number + 1, len(self.lines) + 1) if self.significant(n)), None
        )

    def column_after(self, number: int) -> int | None:
        """The content column of the next significant line after line ``number``."""
        following = self.next_significant(number)
        return self.indent(following) if following is not None else None

    def indent_step(self) -> int:
        """How far this file usually indents a nested mapping (2 unless the file shows
        otherwise)."""
        steps: dict[int, int] = {}
        previous: int | None = None
        for number in range(1, len(self.lines) + 1):
            if not self.significant(number) or self.line(number).lstrip().startswith("-"):
                previous = None
                continue
            column = self.indent(number)
            if previous is not None and column > previous:
                steps[column - previous] = steps.get(column - previous, 0) + 1
            previous = column
        return max(steps, key=lambda step: (steps[step], step)) if steps else 2

    def opens_block(self, number: int, column: int) -> bool:
        """Whether the significant line before line ``number`` is a `key:` with no value, in
        ``column``."""
        previous = next((n for n in range(number - 1, 0, -1) if self.significant(n)), None)
        if previous is None or self.indent(previous) != column:
            return False
        return self.line(previous).split(" #")[0].rstrip().endswith(":")

    def column_before(self, number: int) -> int | None:
        """The content column of the last significant line before line ``number``."""
        previous = next((n for n in range(number - 1, 0, -1) if self.significant(n)), None)
        return self.indent(previous) if previous is not None else None

    def index_at(self, line: int, column: int) -> int | None:
        """The index of the first token that starts at (line, column), 1-based, ignoring block
        ends."""
        for index, token in enumerate(self.tokens):
            mark = token.start_mark
            if (mark.line + 1, mark.column + 1) == (line, column) and not isinstance(
                token, yaml.BlockEndToken
            ):
                return index
        return None

    def key_of_value(self, index: int) -> tuple[str, int, int, int] | None:
        """(name, line, column, index of its KeyToken) of the key whose value is the token at
        ``index``."""
        if index >= 3 and isinstance(self.tokens[index - 1], yaml.ValueToken):
            key, key_start = self.tokens[index - 2], self.tokens[index - 3]
            if isinstance(key, yaml.ScalarToken) and isinstance(key_start, yaml.KeyToken):
                return key.value, key.start_mark.line + 1, key.start_mark.column + 1, index - 3
        return None

    def key_name(self, index: int) -> str | None:
        """The key that the KeyToken (or BlockMappingStartToken) at ``index`` starts."""
        for token in self.tokens[index : index + 3]:
            if isinstance(token, yaml.ScalarToken):
                return str(token.value)
        return None

    def first_key_of_its_mapping(self, key_index: int) -> bool:
        """Whether the KeyToken at ``key_index`` opens a nested mapping of its own (not a list
        item's)."""
        before = self.tokens[key_index - 1] if key_index > 0 else None
        opener = self.tokens[key_index - 2] if key_index > 1 else None
        return isinstance(before, yaml.BlockMappingStartToken) and not isinstance(
            opener, yaml.BlockEntryToken
        )


def _no_space_after_colon(source: _Source, line: int, column: int) -> SyntaxProblem | None:
    """`key:value` written where a key was meant: YAML reads it as plain text."""
    found = _NO_SPACE_AFTER_COLON.match(source.line(line), column - 1)
    if found is None:
        return None
    key, value = found.group(1), found.group(2).rstrip()
    return SyntaxProblem(
        f"`{_shorten(key + ':' + value)}` has no space after `:`, so YAML reads it as text, "
        f"not as the key `{key}`",
        line,
        column + len(key),
        f"write `{_shorten(key + ': ' + value)}`",
    )


def _value_key_without_space(
    source: _Source, key_index: int, key_line: int, line: int
) -> SyntaxProblem | None:
    """The key at ``key_index`` has, on a line of its own below it and above ``line``, a plain
    value written like a key without the space after `:` (`gpus:0`): YAML read the nested key as
    the value, and the next line as one indented too far."""
    for token in source.tokens[key_index + 1 : key_index + 4]:
        if isinstance(token, yaml.ScalarToken) and token.plain:
            start = token.start_mark
            if key_line < start.line + 1 < line:
                return _no_space_after_colon(source, start.line + 1, start.column + 1)
    return None


def _quoted(value: str) -> str:
    value = value.strip()
    if '"' not in value and "\\" not in value:
        return f'"{value}"'
    return "'" + value.replace("'", "''") + "'"


def _mapping_value_in_text(source: _Source, line: int, column: int) -> SyntaxProblem | None:
    """`: ` inside a plain value, or a key YAML reads as more of the value of the key above it."""
    scalars = [i for i, token in enumerate(source.tokens) if isinstance(token, yaml.ScalarToken)]
    if not scalars:
        return None
    index = scalars[-1]
    scalar = source.tokens[index]
    if not isinstance(scalar, yaml.ScalarToken) or not scalar.plain:
        return None
    start_line, start_column = scalar.start_mark.line + 1, scalar.start_mark.column + 1
    key = source.key_of_value(index)
    if start_line == line:
        text = source.line(line)[start_column - 1 :]
        owner = f"the value of `{key[0]}`" if key else "this value"
        hint = f"quote the value: `{key[0] + ': ' if key else ''}{_shorten(_quoted(text))}`"
        return SyntaxProblem(
            f"{owner} contains `: `, which YAML reads as the start of another key",
            line,
            column,
            hint,
        )
    if start_column == source.indent(start_line):
        missing_space = _no_space_after_colon(source, start_line, start_column)
        if missing_space is not None:
            return missing_space
    if key is None or key[1] != start_line:
        return SyntaxProblem(
            f"YAML reads line {line} as more of the text that starts on line {start_line}, "
            "and a `:` cannot start a key inside it",
            line,
            column,
            "line keys up with the keys they belong beside; quote values that contain `: `",
        )
    key_name, key_line, key_column, key_index = key
    name = source.line(line)[source.indent(line) - 1 : column - 1].strip()
    earlier, later = _Key(key_name, key_line, key_column), _Key(name, line, source.indent(line))
    reads_as = f"so YAML reads line {line} as more of the value of `{key_name}`"
    odd = _odd_one(source, earlier, later, source.first_key_of_its_mapping(key_index))
    if odd is later:
        first_value = _shorten(source.line(start_line)[start_column - 1 :])
        return SyntaxProblem(
            f"`{name}` is indented more than `{key_name}` on line {key_line}, {reads_as}",
            line,
            later.column,
            f"start `{name}` in column {key_column}, like `{key_name}`; to nest it under "
            f"`{key_name}`, remove the value `{first_value}` after `{key_name}:`",
        )
    if odd is earlier:
        hint = f"start `{key_name}` in column {later.column}, like the keys around it"
        if source.opens_block(key_line, later.column):
            # `autoscalePolicy:` just above, empty: the key may be its only field
            opener = next(n for n in range(key_line - 1, 0, -1) if source.significant(n))
            opened = source.line(opener)[source.indent(opener) - 1 :].split(" #")[0]
            opened = opened.rstrip().removesuffix(":")
            hint += (
                f", or in column {later.column + source.indent_step()} to put it under "
                f"`{opened}` on line {opener}, which is empty"
            )
        return SyntaxProblem(
            f"`{key_name}` is indented less than `{name}` on line {line} and the keys around "
            f"it, {reads_as}",
            key_line,
            key_column,
            hint,
        )
    return _not_lined_up(earlier, later, reads_as)


@record
class _Key:
    name: str
    line: int
    column: int


def _odd_one(
    source: _Source, earlier: _Key, later: _Key, earlier_opens_mapping: bool
) -> _Key | None:
    """Which of two keys that do not line up is the one out of step with the lines around them
    (None: either).

    One mistaken line is the usual case: the line before the earlier key and the line after the
    later one show the column their mapping uses. The earlier key can only be the odd one when it
    opens its mapping (nothing before it to line up with) or when the line before it lines up with
    the later key.
    """
    after = source.column_after(later.line)
    if after == earlier.column:
        return later
    if source.opens_block(earlier.line, earlier.column) and after in (later.column, None):
        return earlier  # the earlier key sits beside a `key:` whose block it was meant to start
    before = source.column_before(earlier.line)
    if earlier_opens_mapping:
        if after == later.column:
            return earlier
        # Neither neighbour decides: the key in the column the file's usual indentation gives is
        # right.
        expected = 1 if before is None else before + source.indent_step()
        if earlier.column == expected:
            return later
        return earlier if later.column == expected else None
    if before == later.column:  # the earlier key steps out of the column used before and after it
        return earlier if after == later.column else None
    return later


def _not_lined_up(earlier: _Key, later: _Key, consequence: str) -> SyntaxProblem:
    return SyntaxProblem(
        f"`{earlier.name}` (column {earlier.column}) and `{later.name}` on line {later.line} "
        f"(column {later.column}) are not lined up, {consequence}",
        earlier.line,
        earlier.column,
        "start the keys of one mapping in the same column",
        ((later.line, later.column, f"`{later.name}` starts in column {later.column}"),),
    )


def _after_closing(source: _Source, index: int, line: int, column: int) -> SyntaxProblem | None:
    """Text on the same line after a closing quote or bracket."""
    previous = source.tokens[index - 1] if index > 0 else None
    if previous is None or previous.end_mark.line + 1 != line:
        return None
    rest = _shorten(source.line(line)[column - 1 :])
    if isinstance(previous, yaml.ScalarToken) and previous.style in _QUOTE_HINTS:
        quote = previous.style
        opened = previous.start_mark.line + 1, previous.start_mark.column + 1
        if opened[0] != line:
            return SyntaxProblem(
                f"the value quoted with `{quote}` here does not end on this line: it runs to the "
                f"`{quote}` on line {line}, and `{rest}` after that is left over",
                *opened,
                f"close the quote on line {opened[0]}; {_QUOTE_HINTS[quote]}",
                ((line, column, "the text left over"),),
            )
        return SyntaxProblem(
            f"`{rest}` follows the closing `{quote}` of a quoted value",
            line,
            column,
            f"put the whole value inside the quotes; {_QUOTE_HINTS[quote]}",
        )
    if isinstance(previous, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
        closer = "]" if isinstance(previous, yaml.FlowSequenceEndToken) else "}"
        return SyntaxProblem(
            f"`{rest}` follows the closing `{closer}`",
            line,
            column,
            "put it inside the brackets, or quote the whole value",
        )
    return None


def _after_block_text(source: _Source, index: int, line: int, column: int) -> SyntaxProblem | None:
    """A line of a `|` or `>` block indented less than the block's first line ends the block
    early."""
    at = next(
        (
            position
            for position in range(index - 1, -1, -1)
            if not isinstance(source.tokens[position], yaml.BlockEndToken)
        ),
        None,
    )
    previous = source.tokens[at] if at is not None else None
    if not isinstance(previous, yaml.ScalarToken) or previous.style not in ("|", ">"):
        return None
    first = source.next_significant(previous.start_mark.line + 1)
    if first is None or first >= line or source.indent(first) <= column:
        return None
    owner = source.key_of_value(at) if at is not None else None
    key = _KEY_LINE.match(source.line(line))
    if owner is not None and key is not None and owner[2] != column:
        # a key the user meant as the block's owner's sibling: indenting it to the block's
        # column would make it part of the text
        name, owner_line, owner_column, _ = owner
        than = "less" if column < owner_column else "more"
        return SyntaxProblem(
            f"`{key.group(1)}` is indented {than} than its sibling `{name}` (line {owner_line}, "
            f"column {owner_column}): it is neither a key beside `{name}` nor a line of its "
            f"`{previous.style}` text (column {source.indent(first)})",
            line,
            column,
            f"indent `{key.group(1)}` to column {owner_column}, like `{name}` (or to column "
            f"{source.indent(first)} if the line belongs to the text)",
            ((owner_line, owner_column, f"its sibling `{name}`"),),
        )
    return SyntaxProblem(
        f"this line is indented less than the first line of the `{previous.style}` text block "
        f"(line {first}, column {source.indent(first)}), so the block ends above it and YAML "
        "expects a key here",
        line,
        column,
        f"indent every line of the block to at least column {source.indent(first)}",
    )


def _inline_value(text: str, key_column: int) -> str:
    """What a `key: value` line writes after its key's colon (its comment left out), or "" for a
    key whose value follows on the next lines."""
    _, colon, rest = text[key_column - 1 :].partition(":")
    if not colon:
        return ""
    value = rest.split(" #", 1)[0].strip()
    return "" if value.startswith(("|", ">", "&", "!")) else value


def _previous_key(source: _Source, before: int, line: int) -> tuple[str, int, int, int] | None:
    """(name, line, column, index) of the last key written on a line before ``line``."""
    for index in range(before - 1, -1, -1):
        token = source.tokens[index]
        if isinstance(token, yaml.KeyToken) and token.start_mark.line + 1 < line:
            name = source.key_name(index)
            if name is not None:
                return name, token.start_mark.line + 1, token.start_mark.column + 1, index
    return None


def _owner_key(source: _Source, before: int, column: int) -> tuple[str, int] | None:
    """(name, line) of the last key before token ``before`` that starts in ``column``."""
    for index in range(before - 1, -1, -1):
        token = source.tokens[index]
        if isinstance(token, yaml.KeyToken) and token.start_mark.column + 1 == column:
            name = source.key_name(index)
            if name is not None:
                return name, token.start_mark.line + 1
    return None


def _misplaced_list_item(
    source: _Source, index: int, line: int, column: int, mapping: tuple[int, int]
) -> SyntaxProblem:
    earlier = [
        token
        for token in source.tokens[:index]
        if isinstance(token, yaml.BlockEntryToken)
        and (token.start_mark.line + 1, token.start_mark.column + 1) > mapping
        and token.start_mark.line + 1 < line
    ]
    if not earlier:
        return SyntaxProblem(
            "a list item cannot stand among the keys of a mapping",
            line,
            column,
            "a list is the value of a key: write `key:` on the line above the items and indent "
            "them under it",
        )
    item = earlier[-1]
    item_line, item_column = item.start_mark.line + 1, item.start_mark.column + 1
    more_or_less = "more" if column > item_column else "less"
    return SyntaxProblem(
        f"this list item is indented {more_or_less} than the list item on line {item_line} "
        f"(column {item_column})",
        line,
        column,
        f"items of one list start in the same column: move the `-` to column {item_column}",
    )


def _unexpected_in_mapping(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    """A block mapping met something other than its next key: usually a key between two
    indentations."""
    mark, context = error.problem_mark, error.context_mark
    if mark is None or context is None:
        return None
    line, column = mark.line + 1, mark.column + 1
    index = source.index_at(line, column)
    if index is None:
        return None
    token = source.tokens[index]
    if isinstance(token, yaml.BlockSequenceStartToken) and index + 1 < len(source.tokens):
        # a list that starts where a key was expected
        index, token = index + 1, source.tokens[index + 1]
    if isinstance(token, yaml.BlockEntryToken):
        return _misplaced_list_item(
            source, index, line, column, (context.line + 1, context.column + 1)
        )
    if isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
        closer = "]" if isinstance(token, yaml.FlowSequenceEndToken) else "}"
        opener = "[" if closer == "]" else "{"
        return SyntaxProblem(
            f"`{closer}` closes nothing: no `{opener}` is open here",
            line,
            column,
            f"remove it, or add the `{opener}` it was meant to close",
        )
    after_closing = _after_closing(source, index, line, column)
    if after_closing is not None:
        return after_closing
    if not isinstance(token, (yaml.KeyToken, yaml.BlockMappingStartToken, yaml.ScalarToken)):
        return None
    after_block = _after_block_text(source, index, line, column)
    if after_block is not None:
        return after_block
    name = _shorten(source.key_name(index) or source.line(line)[column - 1 :])
    mapping_column = context.column + 1
    above = _previous_key(source, index, line)
    if above is None:
        return None
    above_name, above_line, above_column, above_index = above
    earlier, later = _Key(above_name, above_line, above_column), _Key(name, line, column)
    if column > above_column:
        # `gpus:0  # a comment` on the line below the key above: its value is that text
        without_space = _value_key_without_space(source, above_index, above_line, line)
        if without_space is not None:
            return without_space
    # the key above has a quoted or bracketed value, which cannot continue here
    if column > above_column:
        odd = _odd_one(source, earlier, later, source.first_key_of_its_mapping(above_index))
        if odd is later:
            written = _inline_value(source.line(above_line), above_column)
            nest = (
                f"; to nest it under `{above_name}`, remove the value `{_shorten(written)}` after "
                f"`{above_name}:`"
                if written
                else ""
            )
            return SyntaxProblem(
                f"`{name}` is indented more than `{above_name}` on line {above_line}",
                line,
                column,
                f"start `{name}` in column {above_column}, like `{above_name}`{nest}",
            )
        if odd is earlier:
            written = _inline_value(source.line(above_line), above_column)
            if written:
                # `spec: {}` above keys meant for it: the value written shuts them out
                return SyntaxProblem(
                    f"`{above_name}` already has the value `{_shorten(written)}` on line "
                    f"{above_line}, so the keys indented below it cannot be its keys",
                    above_line,
                    above_column,
                    f"remove `{_shorten(written)}` after `{above_name}:` to give it the keys below",
                )
            return SyntaxProblem(
                f"`{above_name}` is indented less than `{name}` on line {line} and the keys "
                "around it",
                above_line,
                above_column,
                f"start `{above_name}` in column {column}, like the keys around it",
            )
        return _not_lined_up(earlier, later, f"so YAML cannot read line {line}")
    owner = _owner_key(source, index, mapping_column)
    if owner is None or not mapping_column < column:
        return None
    if source.first_key_of_its_mapping(above_index):  # the key above is alone at its column
        odd = _odd_one(source, earlier, later, True)
        if odd is earlier:
            return SyntaxProblem(
                f"`{above_name}` is indented more than `{name}` on line {line} and the keys "
                "around it",
                above_line,
                above_column,
                f"start `{above_name}` in column {column}, like them",
            )
        if odd is None:
            return _not_lined_up(earlier, later, f"so `{name}` lines up with no key above it")
    owner_name, owner_line = owner
    return SyntaxProblem(
        f"`{name}` is indented less than `{above_name}` on line {above_line} and more than "
        f"`{owner_name}` on line {owner_line}, so it lines up with neither",
        line,
        column,
        f"keys of one mapping start in the same column: column {above_column} to sit beside "
        f"`{above_name}`, column {mapping_column} to sit beside `{owner_name}`",
    )


def _unexpected_in_list(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    """A block list met something that is not its next `- item`."""
    mark, context = error.problem_mark, error.context_mark
    if mark is None or context is None:
        return None
    line, column = mark.line + 1, mark.column + 1
    index = source.index_at(line, column)
    if index is None:
        return None
    after_closing = _after_closing(source, index, line, column)
    if after_closing is not None:
        return after_closing
    content = _shorten(source.line(line)[column - 1 :])
    name = source.key_name(index) or content
    list_column = context.column + 1
    items = [
        i
        for i, token in enumerate(source.tokens[:index])
        if isinstance(token, yaml.BlockEntryToken) and token.start_mark.column + 1 == list_column
    ]
    item_key = None
    if items and isinstance(source.tokens[items[-1] + 1], yaml.BlockMappingStartToken):
        first = source.tokens[items[-1] + 1]
        item_key = (
            source.key_name(items[-1] + 1) or "",
            first.start_mark.line + 1,
            first.start_mark.column + 1,
        )
    if column == list_column:
        hint = f"write `- {content}` for a new item"
        if item_key is not None:
            hint += (
                f", or start it in column {item_key[2]} to add it to the item on line {item_key[1]}"
            )
        return SyntaxProblem(
            f"`{name}` starts in the column of the list's items (column {list_column}) but has "
            "no `-`",
            line,
            column,
            hint,
        )
    if item_key is not None and list_column < column < item_key[2]:
        return SyntaxProblem(
            f"`{name}` is indented less than `{item_key[0]}` on line {item_key[1]} (column "
            f"{item_key[2]}), so it is not part of that list item",
            line,
            column,
            f"start it in column {item_key[2]} to add it to the item on line {item_key[1]}, or "
            f"write `- {content}` in column {list_column} for a new item",
        )
    return None


# YAML 1.2 (7.4.2, and libyaml) reads an implicit key only up to 1,024 characters
MAX_SIMPLE_KEY = 1024


def _overlong_key(source: _Source, line: int) -> SyntaxProblem | None:
    """A `key: value` line whose plain key is longer than YAML reads a key: libyaml then reports
    a `:` in a value, or a key without one."""
    written = source.line(line)
    start = len(written) - len(written.lstrip(" -"))
    colon = written.find(":", start)
    key = written[start:colon] if colon >= 0 else ""
    if len(key) <= MAX_SIMPLE_KEY or key[:1] in ("'", '"', "[", "{", "?", "#"):
        return None
    if colon + 1 < len(written) and written[colon + 1] not in " \t":
        return None  # `a:b` is text, not a key
    return SyntaxProblem(
        f"this key is {len(key):,} characters long; YAML reads a key written without `?` only up "
        f"to {MAX_SIMPLE_KEY:,} characters before its `:`",
        line,
        start + 1,
        "shorten the key (a field's name is a few words)",
    )


def _key_without_colon(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    context = error.context_mark
    if context is None:
        return None
    line, column = context.line + 1, context.column + 1
    missing_space = _no_space_after_colon(source, line, column)
    if missing_space is not None:
        return missing_space
    text = _shorten(source.line(line)[column - 1 :])
    index = source.index_at(line, column)
    block = next(
        (
            i
            for i in range((index or len(source.tokens)) - 1, -1, -1)
            if not isinstance(source.tokens[i], (yaml.BlockEndToken, yaml.KeyToken))
        ),
        None,
    )
    block_token = source.tokens[block] if block is not None else None
    if (
        block is not None
        and isinstance(block_token, yaml.ScalarToken)
        and block_token.style in ("|", ">")
    ):
        owner = source.key_of_value(block)
        if owner is not None:
            return SyntaxProblem(
                f"this line is not indented more than `{owner[0]}` on line {owner[1]}, so it is "
                f"not part of its `{block_token.style}` text block",
                line,
                column,
                f"indent the block's lines more than `{owner[0]}`, e.g. from column "
                f"{owner[2] + source.indent_step()}",
            )
    overlong = _overlong_key(source, line)
    if overlong is not None:
        return overlong
    key, _, value = text.partition(" ")
    fix = f"`{key}: {value.strip()}`" if value.strip() else f"`{key}: <value>`"
    return SyntaxProblem(
        f"`{text}` is not a `key: value` line: it has no `:`",
        line,
        column,
        f"write {fix}; if the line continues the value above, indent it more than that key",
    )


def _unclosed_quote(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    context = error.context_mark
    if context is None:
        return None
    line, column = context.line + 1, context.column + 1
    quote = source.line(line)[column - 1 : column]
    if quote not in _QUOTE_HINTS:
        return None
    return SyntaxProblem(
        f"the `{quote}` that opens this value is never closed",
        line,
        column,
        f"add the closing `{quote}`; {_QUOTE_HINTS[quote]}",
    )


def _unknown_escape(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    mark = error.problem_mark
    if mark is None:
        return None
    line, column = mark.line + 1, mark.column + 1
    escape = source.line(line)[column - 1 : column + 1]
    return SyntaxProblem(
        f"`{escape}` is not an escape sequence YAML knows inside double quotes",
        line,
        column,
        "write `\\\\` for a backslash, or use single quotes, where a backslash is an ordinary "
        "character",
    )


def _matching_end(source: _Source, start: int) -> int | None:
    depth = 0
    for index in range(start, len(source.tokens)):
        token = source.tokens[index]
        if isinstance(token, (yaml.FlowSequenceStartToken, yaml.FlowMappingStartToken)):
            depth += 1
        elif isinstance(token, (yaml.FlowSequenceEndToken, yaml.FlowMappingEndToken)):
            depth -= 1
            if depth == 0:
                return index
    return None


def _flow_collection(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    """`[...]` or `{...}` written on one or more lines: not closed, or a comma missing."""
    mark, context = error.problem_mark, error.context_mark
    if mark is None or context is None:
        return None
    opened = context.line + 1, context.column + 1
    opener = source.line(opened[0])[opened[1] - 1 : opened[1]]
    start = source.index_at(*opened)
    if opener not in _CLOSERS or start is None:
        return None
    closer = _CLOSERS[opener]
    if _matching_end(source, start) is None:
        return SyntaxProblem(
            f"the `{opener}` opened here is never closed", *opened, f"add the closing `{closer}`"
        )
    line, column = mark.line + 1, mark.column + 1
    before = [
        token
        for token in source.tokens
        if isinstance(token, yaml.ScalarToken)
        and (token.end_mark.line + 1, token.end_mark.column + 1) <= (line, column)
    ]
    last = before[-1] if before else None
    if last is not None and last.start_mark.line != last.end_mark.line:
        # JSON strings end on their line: this quote is not closed where meant
        if last.style in _QUOTE_HINTS:
            quote = last.style
            return SyntaxProblem(
                f"the value quoted with `{quote}` here does not end on this line: it runs to the "
                f"`{quote}` on line {last.end_mark.line + 1}",
                last.start_mark.line + 1,
                last.start_mark.column + 1,
                f"close the quote on this line; {_QUOTE_HINTS[quote]}",
            )
        # the entry runs into the next line: the comma belongs at its end
        line = last.start_mark.line + 1
        column = len(source.line(line).rstrip()) + 1
    elif last is not None and last.end_mark.line + 1 < line:
        # the comma belongs after the entry
        line, column = last.end_mark.line + 1, last.end_mark.column + 1
    return SyntaxProblem(
        f"a `,` is missing here, between two entries of the `{opener}…{closer}` that starts on "
        f"line {opened[0]}",
        line,
        column,
        f"separate the entries with commas, and close the `{opener}` with `{closer}`",
    )


def _code(text: str) -> str:
    """``text`` as inline code in a message (a backtick inside it cannot be)."""
    return f"`{text}`" if "`" not in text else text


def _bad_first_character(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    mark = error.problem_mark
    if mark is None:
        return None
    line, column = mark.line + 1, mark.column + 1
    rest = source.line(line)[column - 1 :]
    if not rest or rest[0] not in "@`%":
        return None
    first = "a backtick" if rest[0] == "`" else f"`{rest[0]}`"
    return SyntaxProblem(
        f"a value cannot start with {first} unless it is quoted",
        line,
        column,
        f"quote the value: {_code(_shorten(_quoted(rest)))}",
    )


def _alias(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    scanning = (error.context or "").startswith("while scanning an")
    mark = (error.context_mark if scanning else None) or error.problem_mark
    if mark is None:
        return None
    line, column = mark.line + 1, mark.column + 1
    rest = source.line(line)[column - 1 :].strip()
    sign = rest[:1] if rest[:1] in ("*", "&") else "*"
    what = "an alias of an anchor" if sign == "*" else "the name of an anchor"
    problem = "this one is not defined" if sign == "*" else "no name follows it"
    return SyntaxProblem(
        f"`{sign}` at the start of a value makes it {what}, and {problem}",
        line,
        column,
        f"quote the value if the `{sign}` is part of it: {_code(_shorten(_quoted(rest)))}",
    )


def _list_item_after_key(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    mark = error.problem_mark
    if mark is None:
        return None
    return SyntaxProblem(
        "a list item cannot start on the same line as its key",
        mark.line + 1,
        mark.column + 1,
        "put each `- item` on a line of its own, indented under the key, or write the list as "
        "`[a, b]`",
    )


def _top_level_indented(source: _Source, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    """The first key of a document is indented, so the keys after it seem to end the document."""
    mark = error.problem_mark
    if mark is None:
        return None
    document_start = max(
        (
            i
            for i, token in enumerate(source.tokens)
            if isinstance(token, yaml.DocumentStartToken) and token.start_mark.line < mark.line
        ),
        default=0,
    )
    first_of_document = next(
        (
            i
            for i in range(document_start, len(source.tokens))
            if isinstance(source.tokens[i], yaml.KeyToken)
        ),
        None,
    )
    if first_of_document is None or source.tokens[first_of_document].start_mark.line >= mark.line:
        return None
    token = source.tokens[first_of_document]
    if token.start_mark.column == 0:
        return None
    name = source.key_name(first_of_document) or "this key"
    return SyntaxProblem(
        f"`{name}` is indented, but the top-level keys of a manifest start in column 1",
        token.start_mark.line + 1,
        token.start_mark.column + 1,
        "remove the spaces before it",
    )


def explain(text: str, error: yaml.MarkedYAMLError) -> SyntaxProblem | None:
    """A plain-words account of ``error`` in ``text``, or None when it is not a mistake recognised
    here."""
    problem = error.problem or ""
    context = error.context or ""
    mark = error.problem_mark
    if "tab" in problem or (mark is not None and _char(text, mark) == "\t"):
        return None  # the caller's tab rule says it plainly
    source = _Source(text)
    if problem.startswith("mapping values are not allowed") and mark is not None:
        overlong = _overlong_key(source, mark.line + 1)
        if overlong is not None:
            return overlong
        return _mapping_value_in_text(source, mark.line + 1, mark.column + 1)
    if context == "while parsing a block mapping" and problem.startswith(
        ("did not find expected key", "expected <block end>")
    ):
        return _unexpected_in_mapping(source, error)
    if context == "while parsing a block collection" and problem.startswith(
        ("did not find expected '-'", "expected <block end>")
    ):
        return _unexpected_in_list(source, error)
    if context == "while scanning a simple key":
        return _key_without_colon(source, error)
    if context == "while scanning a quoted scalar" and "end of stream" in problem:
        return _unclosed_quote(source, error)
    if "unknown escape character" in problem:
        return _unknown_escape(source, error)
    if context.startswith("while parsing a flow"):
        return _flow_collection(source, error)
    if problem.startswith("found character that cannot start any token"):
        return _bad_first_character(source, error)
    if "undefined alias" in problem or context.startswith(
        ("while scanning an anchor", "while scanning an alias")
    ):
        return _alias(source, error)
    if problem.startswith("block sequence entries are not allowed"):
        return _list_item_after_key(source, error)
    if "<document start>" in problem:
        return _top_level_indented(source, error)
    return None


def _char(text: str, mark: yaml.Mark) -> str:
    lines = text.split("\n", mark.line + 1)
    row = lines[mark.line] if mark.line < len(lines) else ""
    return row[mark.column] if 0 <= mark.column < len(row) else ""
