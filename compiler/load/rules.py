"""The loader's rules (code family Y): problems found while reading files and YAML."""

from __future__ import annotations

import inspect

from compiler.diagnostics import Category, Rule, Severity

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _loader_rule(
    code: str, name: str, severity: Severity, summary: str, doc: str, *, note: bool = False
) -> Rule:
    """A rule with its documentation in the fixed sections (see compiler/check/rule_docs.py);
    ``note``: about its file's other problems, listed after them."""
    return Rule(
        code,
        name,
        severity,
        summary,
        inspect.cleandoc(doc),
        category=Category.SYNTAX,
        after_the_file_s_problems=note,
    )


YAML_SYNTAX = _loader_rule(
    "Y001",
    "yaml-syntax-error",
    E,
    "The file is not valid YAML.",
    """
    What it checks:
        Whether the file parses as YAML at all. The message names the mistake in plain words (a
        key indented more or less than its siblings, no space after `:`, a list item at the wrong
        level, an unclosed quote or bracket, a comma missing in a pasted JSON body) and points at
        the line to change, not where the parser gave up.
    Why it matters:
        Nothing after the mistake is read, so every manifest further down the file is missing
        from the environment: llmops would otherwise deploy an estate without them. Checks that
        conclude from absence stand aside where the lost part may hold what they look for (Y017).
    Wrong: `type base` lacks its colon
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type base
          storageUri: s3://models/support-model/1.0/
    Right:
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type: base
          storageUri: s3://models/support-model/1.0/
    """,
)
DUPLICATE_KEY = _loader_rule(
    "Y002",
    "duplicate-key",
    E,
    "A mapping has the same key twice.",
    """
    What it checks:
        Every key of a mapping is written once. The diagnostic points at the second occurrence,
        with a note at the first.
    Why it matters:
        YAML forbids duplicate keys, but most tools (PyYAML, kubectl, many editors) silently keep
        the last value, others the first, so the same file deploys different things depending on
        who reads it, and a reviewer sees a value that is not the one used.
    Wrong: `version` a second time, below the first
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type: base
          storageUri: s3://models/support-model/1.0/
          # Wrong: `version` appears a second time; most tools would silently keep "1.1".
          version: "1.1"
    Right: one `version`, the one meant
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.1"
          type: base
    """,
)
TAB_INDENTATION = _loader_rule(
    "Y003",
    "tab-indentation",
    E,
    "Tabs are used for indentation.",
    """
    What it checks:
        No line is indented with a tab character. (In the wrong example below each key under
        `spec:` starts with a tab, which looks like the right one in most editors.)
    Why it matters:
        YAML forbids tabs for indentation; parsers either refuse the file or guess the nesting
        differently, and editors render a tab at different widths, so the structure a reviewer
        sees may not be the one parsed.
    Wrong: the keys under spec are indented with a tab
        # file: environments/dev/catalog/support-model.yaml
        spec:
        ...version: "1.0"
        ...type: base
    Right: indented with two spaces
        # file: environments/dev/catalog/support-model.yaml
        spec:
          version: "1.0"
          type: base
    """,
)
UNKNOWN_TAG = _loader_rule(
    "Y004",
    "unknown-tag",
    E,
    "A node carries a YAML tag llmops does not accept.",
    """
    What it checks:
        No value carries a tag other than the core types: `!!python/object`, `!!binary`, `!!set`,
        `!!timestamp` and custom tags such as `!include` or `!Ref` are refused (`!!str`, `!!int`,
        `!!float`, `!!bool`, `!!null`, `!!map` and `!!seq` are accepted; Y019 checks they fit).
        The non-specific tag `!` on a scalar is refused too: YAML 1.2 reads `! 3` as the string
        "3", PyYAML and others as the number 3.
    Why it matters:
        A tag makes a value mean whatever the reading tool decides: some loaders include a file,
        construct an object or run code, others keep the text. Manifests must read the same in
        llmops, Argo CD's plugin, an editor and a reviewer's head, so only plain JSON-compatible
        values are accepted.
    Wrong: a custom `!include` tag
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            # Wrong: `!include` is a custom tag some YAML loaders expand...
            description: !include docs/support-model.md
    Right: the text written out
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            # The description is written out, so every tool reads the same text.
            description: Base model of the customer-support assistant.
    """,
)
ALIAS_BOMB = _loader_rule(
    "Y005",
    "alias-expansion-limit",
    E,
    "Aliases expand to too many values.",
    """
    What it checks:
        How many values a file expands to once every alias is replaced by its anchor's value; the
        limit is 200,000 per file. The diagnostic points at the alias where the limit was crossed.
    Why it matters:
        Anchors and aliases let a few lines expand into billions of values (the "billion laughs"
        YAML bomb): whatever loads the file (llmops, Argo CD's plugin, an editor) runs out of
        memory. No manifest needs that many values.
    Wrong: each anchor repeats the previous one nine times, 9^6 values
        # file: environments/dev/catalog/support-model.yaml
            a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
            e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
            f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    Right: the values written out
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            # Annotations are short strings, written out.
            a: lol
    """,
)
RECURSIVE_ALIAS = _loader_rule(
    "Y006",
    "recursive-alias",
    E,
    "An alias refers to a node that contains it.",
    """
    What it checks:
        No alias points at an anchor on a mapping or list that contains the alias itself.
    Why it matters:
        Such a structure is infinite: it has no JSON form, cannot be a manifest, and loaders that
        follow it recurse until they crash.
    Wrong: `*meta` sits inside the mapping anchored `&meta`
        # file: environments/dev/catalog/support-model.yaml
          metadata: &meta
            model_family: llama
            description: *meta
    Right: a plain value
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            model_family: llama
            description: Base model of the customer-support assistant.
    """,
)
FILE_TOO_LARGE = _loader_rule(
    "Y007",
    "file-too-large",
    E,
    "The file is larger than the size limit.",
    """
    What it checks:
        The size of every manifest file under environments/; the limit is 1 MiB. The file is not
        read.
    Why it matters:
        Manifests are small. A file over the limit is almost always something in the wrong place
        (an evaluation dump, a data export, a generated file), and reading arbitrarily large files
        would make validation slow and memory-hungry in CI and in Argo CD's plugin. Data belongs
        in a Dataset's storage, referenced by URI.
    Wrong: an evaluation dump of 2 MiB saved as a prompt template
        # file: environments/dev/prompts/support-eval-dump.yaml
        # Wrong: a 2 MiB generated dump; manifests must stay under 1 MiB.
        apiVersion: llmops.io/v1
        kind: PromptTemplate
        metadata:
          name: support-eval-dump
        spec:
          template: |
            Q: How do I reset my password? A: Open Settings, then Security, then Reset.
            Q: How do I reset my password? A: Open Settings, then Security, then Reset.
        ...
    Right: a few examples in the template; the dump belongs in a dataset
        # file: environments/dev/prompts/support-eval-dump.yaml
          template: |
            Q: How do I reset my password? A: Open Settings, then Security, then Reset.
            Q: Where is my invoice? A: Open Billing, then History.
            Q: How do I cancel? A: Open Settings, then Plan, then Cancel.
    """,
)
NOT_UTF8 = _loader_rule(
    "Y008",
    "not-utf8",
    E,
    "The file is not valid UTF-8.",
    """
    What it checks:
        Every manifest is valid UTF-8 (a byte-order mark is allowed). The diagnostic names the
        first offending byte with its line and column.
    Why it matters:
        A file saved in another encoding (Latin-1, Windows-1252) reads as different characters in
        different tools, or not at all: names and descriptions would change on their way to the
        cluster. YAML itself requires Unicode.
    Wrong: saved as Latin-1, so `è` is the single byte 0xe8
        # file: environments/dev/catalog/support-model.yaml
          metadata:
            description: Modèle de base de l'assistant, équipe Zürich
    Right: the same text saved as UTF-8
        # file: environments/dev/catalog/support-model.yaml
        # Saved as UTF-8: the accented letters are multi-byte sequences every tool reads alike.
        ...
          metadata:
            description: Modèle de base de l'assistant, équipe Zürich
    """,
)
YAML11_BOOLEAN = _loader_rule(
    "Y009",
    "yaml11-boolean",
    E,
    "A plain yes/no/on/off is a boolean in YAML 1.1 but a string in YAML 1.2.",
    """
    What it checks:
        No value or key is a plain (unquoted) `yes`, `no`, `on`, `off`, `y` or `n` in any
        capitalisation.
    Why it matters:
        llmops reads YAML 1.2, where `no` is the string "no"; PyYAML, kubectl's older parsers and
        many editors read YAML 1.1, where it is the boolean false. The same label would be a
        string in one tool and a boolean in another (the Norway problem), and Kubernetes refuses
        a boolean label value.
    Wrong: a plain `no`
        # file: environments/dev/catalog/support-model.yaml
          labels:
            team: ml-platform
            # Wrong: plain `no` is the string "no" here but false for YAML 1.1 tools such as...
            public: no
    Right: quoted, the string "no" everywhere (or `false` for a boolean)
        # file: environments/dev/catalog/support-model.yaml
          labels:
            team: ml-platform
            # Quoted, so every YAML version reads the string "no".
            public: "no"
    """,
)
YAML11_NUMBER = _loader_rule(
    "Y010",
    "yaml11-number",
    W,
    "A plain scalar is a number in YAML 1.1 but something else in YAML 1.2.",
    """
    What it checks:
        Plain scalars YAML 1.1 reads as numbers but YAML 1.2 does not, or reads as another
        number: leading-zero integers (`0755` is octal 493 in 1.1, decimal 755 in 1.2),
        underscores (`1_000`), sexagesimal (`1:30` is 90) and `0b` binary.
    Why it matters:
        The value llmops reads is not the one older tools (kubectl, Helm, PyYAML) read, so a
        reviewer or another tool sees a different number. A warning, because llmops's own reading
        is well defined; quote the value or write it unambiguously.
    Wrong: a number with underscores
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            # Wrong: with underscores this is a number for YAML 1.1 tools but a string in YAML 1.2.
            example.com/cost-center: 4_200_100
    Right: quoted when a string is meant, plain digits when a number is
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            # Quoted: the same string for every YAML reader.
            example.com/cost-center: "4200100"
        ...
            parameters: 7000000000
    """,
)
MERGE_KEY = _loader_rule(
    "Y011",
    "merge-key",
    E,
    "The YAML 1.1 merge key `<<` is used.",
    """
    What it checks:
        No mapping uses the merge key `<<` (written `<<: *anchor`) to copy the keys of another
        mapping into it.
    Why it matters:
        Merge keys were a YAML 1.1 type that YAML 1.2 dropped: some tools merge the keys, others
        keep a key literally named `<<`, and they disagree on which value wins. What a manifest
        says must not depend on the tool; write the keys out.
    Wrong: the labels merged into the annotations with `<<`
        # file: environments/dev/catalog/support-model.yaml
          labels: &owner
            team: ml-platform
          annotations:
            # Wrong: the YAML 1.1 merge key `<<` copies the labels here in some tools and not...
            <<: *owner
            contact: ml-platform@example.com
    Right: the keys written out
        # file: environments/dev/catalog/support-model.yaml
          labels:
            team: ml-platform
          annotations:
            # The keys are written out.
            team: ml-platform
            contact: ml-platform@example.com
    """,
)
PATH_ESCAPES_REPO = _loader_rule(
    "Y012",
    "path-escapes-repo",
    E,
    "A file or link points outside the repository.",
    """
    What it checks:
        Every file llmops reads (manifests, environment folders, dataset sample files) lies inside
        the repository, also after following links; a link leading out of it is not followed.
    Why it matters:
        What is deployed must be what is committed: a link to another checkout or to a path on
        one machine compiles differently (or not at all) in CI, in Argo CD and on a colleague's
        laptop, and a review of the repository would not show it.
    Wrong: the manifest links to a file in another checkout
        $ readlink environments/dev/catalog/support-model.yaml
        .../platform-checkout/support-model.yaml
    Right: a relative link to a file inside the repository (or the file itself)
        $ readlink environments/dev/catalog/support-model.yaml
        ../../../models/support-model.yaml
        # file: models/support-model.yaml
        apiVersion: llmops.io/v1
        kind: Model
    """,
)
NON_STRING_KEY = _loader_rule(
    "Y013",
    "non-string-key",
    E,
    "A mapping key is not a string.",
    """
    What it checks:
        Every mapping key is a string: not a number (`1.0:`), a boolean (`true:`), null, or a
        complex key (`? [a, b]`).
    Why it matters:
        Manifest keys are field names, annotation keys and label keys, which are strings in JSON
        and in Kubernetes. A key read as a number loses how it was written (`1.0` and `1.00` are
        the same number) and cannot be rendered; quote it if a string is meant.
    Wrong: the key 1.0 is the number 1.0
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            # Wrong: the key 1.0 is read as the number 1.0, and a field name must be a string.
            1.0: first release for the support assistant
    Right: quoted, the key is the string "1.0"
        # file: environments/dev/catalog/support-model.yaml
          annotations:
            # Quoted, the key is the string "1.0".
            "1.0": first release for the support assistant
    """,
)
NOT_A_MAPPING = _loader_rule(
    "Y014",
    "document-not-mapping",
    E,
    "A YAML document is not a mapping.",
    """
    What it checks:
        Every YAML document in a manifest file is a mapping (a manifest with apiVersion, kind,
        metadata and spec), not a list, a string or a number.
    Why it matters:
        A document that is not a manifest cannot be deployed, and a list of manifests in one
        document (as `kubectl get -o yaml` prints them) would otherwise be silently ignored.
        Several manifests go in one file as several documents separated by `---`.
    Wrong: one document that is a list of two manifests
        # file: environments/dev/catalog/models.yaml
        - apiVersion: llmops.io/v1
          kind: Model
          metadata:
            name: support-model
        ...
        - apiVersion: llmops.io/v1
          kind: Model
    Right: two documents
        # file: environments/dev/catalog/models.yaml
        apiVersion: llmops.io/v1
        kind: Model
        ...
          storageUri: s3://models/support-model/1.0/
        ---
        apiVersion: llmops.io/v1
        kind: Model
    """,
)
UNREADABLE_FILE = _loader_rule(
    "Y015",
    "unreadable-file",
    E,
    "The file could not be read.",
    """
    What it checks:
        Every manifest file can be opened and read: a broken link, a file without read
        permission, or a directory named like a manifest (`models.yaml/`) is reported with the
        operating system's reason.
    Why it matters:
        A manifest that cannot be read is missing from its environment, and whatever it defines
        (a model, an endpoint) is missing with it. llmops says so instead of validating and
        rendering an estate without it; checks that conclude from absence stand aside (Y017).
    Wrong: the link's target was renamed, so it leads nowhere
        $ readlink environments/dev/catalog/support-model.yaml
        ../../../models/support-model.yaml
        $ ls models
        ls: cannot access 'models': No such file or directory
    Right: the target exists in the repository
        $ readlink environments/dev/catalog/support-model.yaml
        ../../../models/support-model.yaml
        $ ls models
        support-model.yaml
    """,
)
TOO_DEEP = _loader_rule(
    "Y016",
    "nesting-too-deep",
    E,
    "Values are nested deeper than the limit.",
    """
    What it checks:
        How deeply mappings and lists nest; the limit is 64 levels. The document is not read
        further.
    Why it matters:
        No manifest field nests anywhere near that deep; very deep input is generated by mistake
        or crafted to exhaust a parser's stack (recursive descent in llmops, Argo CD's plugin or
        an editor's language server).
    Wrong: a generated value nested 70 lists deep
        # file: environments/dev/catalog/support-model.yaml
            # Wrong: a generated value nested 70 lists deep; the limit is 64 levels.
            schedule: [[[[[[[[[[[[[[[[[[[[...]]]]]]]]]]]]]]]]]]]]
    Right: a flat value
        # file: environments/dev/catalog/support-model.yaml
            # A flat value.
            schedule: "0.1"
    """,
)
CHECKS_SKIPPED = _loader_rule(
    "Y017",
    "checks-skipped",
    INFO,
    "Checks were skipped because a file they depend on could not be read.",
    """
    What it checks:
        Nothing of its own: it is the note llmops leaves on a file that stops at a syntax error,
        cannot be read, or holds a document whose kind or name is not valid. Checks that conclude
        from absence (a reference to nothing, a model without approvals, the promotion order, an
        environment's settings) report nothing in the environments that file belongs to, and
        this note names them.
    Why it matters:
        The unreadable part may define what other files refer to; reporting "unknown endpoint"
        for an endpoint that is merely unreadable would send you after a problem that does not
        exist. The note says which checks to expect back once the file is fixed.
    Wrong: the endpoint's file stops at a syntax error, so the experiment's `endpoint` is unchecked
        # file: environments/dev/serving/support-chat.yaml
        apiVersion: llmops.io/v1
        kind: ServingEndpoint
        ...
          route:/llm-ops/v1/serve/support-chat
        # file: environments/dev/prompts/support-tone.yaml
          endpoint: support-chat
    Right: the endpoint's file reads, and every check runs
        # file: environments/dev/serving/support-chat.yaml
        apiVersion: llmops.io/v1
        kind: ServingEndpoint
        ...
          route: /llm-ops/v1/serve/support-chat
    """,
    note=True,
)
NUMBER_TOO_LONG = _loader_rule(
    "Y018",
    "number-too-long",
    E,
    "An integer is written with more digits than the limit.",
    """
    What it checks:
        Integers written with more than 100 characters are refused before they are converted.
        The document is not read further.
    Why it matters:
        No manifest field accepts a number anywhere near 100 digits, so such a literal is a
        pasting mistake or an attack: converting it takes time that grows with the square of its
        length (Python limits int conversion for the same reason).
    Wrong: a pasted run of digits
        # file: environments/dev/catalog/support-model.yaml
            context_length: 8192819281928192...
    Right: the value meant
        # file: environments/dev/catalog/support-model.yaml
            context_length: 8192
    """,
)
TAG_MISMATCH = _loader_rule(
    "Y019",
    "tag-mismatch",
    E,
    "A !!int, !!float, !!bool, !!null, !!map or !!seq tag contradicts its value.",
    """
    What it checks:
        A value tagged `!!int`, `!!float`, `!!bool` or `!!null` is a value of that type: `!!int
        8k` and `!!bool maybe` are refused. A tag that agrees is allowed and gives that type, so
        `!!int "8192"` is the number 8192. `!!map` and `!!seq` tag only mappings and lists: `!!map
        3` is refused (a tag on a mapping or list that is not its own is Y004).
    Why it matters:
        Other YAML tools refuse a contradicting tag or read the value differently, and llmops
        would otherwise keep the text, so the manifest would mean different things in different
        places.
    Wrong: the tag says integer, the value is not one
        # file: environments/dev/catalog/support-model.yaml
            # Wrong: the tag says integer, the value is not one (other YAML tools refuse it).
            context_length: !!int 8k
    Right: a value of the tag's type
        # file: environments/dev/catalog/support-model.yaml
            context_length: !!int "8192"
    """,
)

YAML_VERSION = _loader_rule(
    "Y020",
    "yaml-version-directive",
    E,
    "A document declares a YAML version other than 1.2 (`%YAML 1.1`).",
    """
    What it checks:
        No document starts with a `%YAML` directive naming another version than 1.2. llmops reads
        every manifest as YAML 1.2 (the core schema), whatever the document says.
    Why it matters:
        Under `%YAML 1.1`, `010` is the octal number 8, `yes` and `off` are booleans and `1_000` is
        a thousand; llmops, reading YAML 1.2, sees 10, the strings "yes" and "off" and the string
        "1_000". The document would mean one thing to the tools that honour its directive and
        another to llmops.
    Wrong: the document declares YAML 1.1
        # file: environments/dev/catalog/support-model.yaml
        %YAML 1.1
        ---
    Right: no directive (or `%YAML 1.2`)
        # file: environments/dev/catalog/support-model.yaml
        # Right: no directive; the document is YAML 1.2, as llmops reads it.
        apiVersion: llmops.io/v1
    """,
)

LINK_LOOP = _loader_rule(
    "Y021",
    "link-loop",
    E,
    "A link inside an environment leads back to a folder that holds it.",
    """
    What it checks:
        No link inside an environment's folder leads to that folder or to one above it (the
        environment's folder, `environments/`, the repository's root). Such a link is not followed.
    Why it matters:
        Followed, it would make everything the folders above it hold part of this environment: the
        other environments' settings, endpoints and approvals would be read a second time as this
        one's, and reported as defined twice or as misplaced, far from the link that caused it.
    Wrong: a link back to the folder above it
        $ readlink environments/dev/catalog/up
        ..
    Right: a link to the folder it shares, elsewhere in the repository
        $ readlink environments/dev/catalog/shared
        ../../../models
    """,
)

LOADER_RULES: tuple[Rule, ...] = (
    YAML_SYNTAX,
    DUPLICATE_KEY,
    TAB_INDENTATION,
    UNKNOWN_TAG,
    ALIAS_BOMB,
    RECURSIVE_ALIAS,
    FILE_TOO_LARGE,
    NOT_UTF8,
    YAML11_BOOLEAN,
    YAML11_NUMBER,
    MERGE_KEY,
    PATH_ESCAPES_REPO,
    NON_STRING_KEY,
    NOT_A_MAPPING,
    UNREADABLE_FILE,
    TOO_DEEP,
    CHECKS_SKIPPED,
    NUMBER_TOO_LONG,
    TAG_MISMATCH,
    YAML_VERSION,
    LINK_LOOP,
)
