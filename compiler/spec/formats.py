"""String fields that reach a rendered Kubernetes object, checked against the rule Kubernetes
applies to them.

Each format is a type: a validator that refuses, with a sentence naming the rule, what the API
server, the kubelet or Argo CD would refuse (or misread) later; and a JSON Schema pattern and length
for editors. A value llmops accepts here is a value the cluster accepts there, so `validate` points
at the line to fix instead of a failed sync. The patterns are the validators' regular expressions
(full-string matches).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from compiler.records import record

# Kubernetes' own grammars (k8s.io/apimachinery/pkg/util/validation).
DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN = rf"{DNS_LABEL}(\.{DNS_LABEL})*"
QUALIFIED_NAME_PART = r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
LABEL_VALUE = rf"({QUALIFIED_NAME_PART})?"
MAX_DNS_LABEL = 63
MAX_DNS_SUBDOMAIN = 253

# Container image references (github.com/distribution/reference): [host[:port]/]path[:tag][@digest].
_IMAGE_DOMAIN_COMPONENT = r"([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IMAGE_DOMAIN = rf"{_IMAGE_DOMAIN_COMPONENT}(\.{_IMAGE_DOMAIN_COMPONENT})*(:[0-9]+)?"
_IMAGE_PATH_COMPONENT = r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = (
    rf"(({_IMAGE_DOMAIN})/)?{_IMAGE_PATH_COMPONENT}(/{_IMAGE_PATH_COMPONENT})*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(@[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
MAX_IMAGE_NAME = 255  # the repository name, without tag and digest
MAX_IMAGE_REFERENCE = 512

# No whitespace, no C0 or C1 control characters, no DEL: what a URL or a path never contains.
_URL_CHARACTER = r"[^\s\x00-\x1f\x7f-\x9f]"
URI = rf"[a-z][a-z0-9+.-]*://{_URL_CHARACTER}+"
HTTP_URL = (
    r"https?://([A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?"
    rf"(/{_URL_CHARACTER}*)?"
)
# Argo CD reads a repository over https, ssh or git, or in the scp form `git@host:path` (which git
# only takes for one when it is not a URL: no `//` after the colon).
REPOSITORY_URL = (
    rf"((https?|ssh|git|git\+ssh|file)://{_URL_CHARACTER}+"
    rf"|[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//){_URL_CHARACTER}+)"
)
MAX_URL = 2048

# `git check-ref-format`, plus what a revision may be besides a ref: HEAD or a commit id.
GIT_REVISION = r"[^\x00-\x20\x7f~^:?*\[\\]+"
_GIT_REVISION_FORBIDDEN = ("..", "@{", "//", "/.")
MAX_GIT_REVISION = 255

REPOSITORY_PATH = r"[^\x00-\x1f\x7f-\x9f\\]+"
MAX_REPOSITORY_PATH = 1024

# One entry of the X-User-Roles header the proxy reads (a comma-separated list): printable ASCII
# without spaces or commas, short enough to fit a header beside others.
ROLE_NAME = r"[!-+\--~]+"
MAX_ROLE_NAME = 128
# Who approved: any characters a person's id is written with, but not blank, not padded with spaces
# (` alice` would count as a second person), and no control or invisible formatting characters.
USER_ID = r"[^\s\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]" + (
    r"([^\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]*"
    r"[^\s\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff])?"
)
MAX_USER_ID = 256
# A model's, dataset's or prompt template's version: what follows `@` in a reference, so no `@`,
# no whitespace or control characters (a version is written on one line of `history`, `diff` and
# the proxy's listing), and not starting with a character YAML or a reference reads differently.
_INVISIBLE = r"\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
VERSION_LABEL = rf"[A-Za-z0-9_][^\s\x00-\x1f\x7f-\x9f@{_INVISIBLE}]*"
MAX_VERSION_LABEL = 128

_IPV4 = re.compile(r"[0-9]+(\.[0-9]+){3}")


@functools.cache
def _pattern(source: str) -> re.Pattern[str]:
    """A format's pattern, compiled on its first use: each document's names and references are
    checked against them (the re module's own cache costs more per call), while a run that checks
    a few formats does not compile them all (about 1 ms at import)."""
    return re.compile(source)


@record
class FormatName:
    """The name of a format, for the field reference (`string (DNS-1123 subdomain)`)."""

    name: str


def _fails(what: str) -> PydanticCustomError:
    """The error every format raises; the schema stage reports it as S005 with this sentence."""
    return PydanticCustomError("string_format", "must be {what}", {"what": what})


def is_dns_label(text: str) -> bool:
    return len(text) <= MAX_DNS_LABEL and _pattern(DNS_LABEL).fullmatch(text) is not None


def is_dns_subdomain(text: str) -> bool:
    return len(text) <= MAX_DNS_SUBDOMAIN and _pattern(DNS_SUBDOMAIN).fullmatch(text) is not None


def is_qualified_name(text: str) -> bool:
    """A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain, the name at most 63
    characters."""
    prefix, slash, name = text.rpartition("/")
    if slash and not is_dns_subdomain(prefix):
        return False
    return len(name) <= MAX_DNS_LABEL and _pattern(QUALIFIED_NAME_PART).fullmatch(name) is not None


def is_label_value(text: str) -> bool:
    return len(text) <= MAX_DNS_LABEL and _pattern(LABEL_VALUE).fullmatch(text) is not None


def is_role_name(text: str) -> bool:
    return len(text) <= MAX_ROLE_NAME and _pattern(ROLE_NAME).fullmatch(text) is not None


def is_user_id(text: str) -> bool:
    """Visible text: printable characters and spaces, none at either end (the JSON Schema's pattern
    approximates this; unassigned and private-use code points are refused here too)."""
    return (
        0 < len(text) <= MAX_USER_ID
        and text.strip() == text
        and all(char.isprintable() or char == " " for char in text)
    )


def is_version_label(text: str) -> bool:
    return len(text) <= MAX_VERSION_LABEL and _pattern(VERSION_LABEL).fullmatch(text) is not None


def same_person_key(user_id: str) -> str:
    """What two user ids share when they name one person: `Alice` and `alice` (and the same text
    in other Unicode normal forms) are one approver, not two."""
    return unicodedata.normalize("NFKC", user_id).casefold()


def _validator(check: Callable[[str], bool], what: str) -> AfterValidator:
    """Refuse what ``check`` refuses, naming the rule (``what``) in the diagnostic."""

    def validate(value: str) -> str:
        if not check(value):
            raise _fails(what)
        return value

    return AfterValidator(validate)


def _schema(pattern: str, max_length: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": f"^{pattern}$", "maxLength": max_length})


def _ingress_host(text: str) -> bool:
    """Ingress rule hosts: a DNS subdomain, optionally with a leading `*.` wildcard label; never an
    IP address."""
    name = text[2:] if text.startswith("*.") else text
    # the length is the whole host's, `*.` included (Kubernetes' IsWildcardDNS1123Subdomain)
    return len(text) <= MAX_DNS_SUBDOMAIN and is_dns_subdomain(name) and not _IPV4.fullmatch(name)


def _image_reference(text: str) -> bool:
    """What the kubelet can pull; anything else leaves the pod in InvalidImageName."""
    if len(text) > MAX_IMAGE_REFERENCE or _pattern(IMAGE_REFERENCE).fullmatch(text) is None:
        return False
    name = text.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last) + last.index(":")]
    return len(name) <= MAX_IMAGE_NAME


def _url(pattern: str) -> Callable[[str], bool]:
    return lambda text: len(text) <= MAX_URL and _pattern(pattern).fullmatch(text) is not None


def _git_revision(text: str) -> bool:
    """A branch, tag or commit git accepts (`git check-ref-format --allow-onelevel` rules), or
    HEAD."""
    if len(text) > MAX_GIT_REVISION or _pattern(GIT_REVISION).fullmatch(text) is None:
        return False
    if any(part in text for part in _GIT_REVISION_FORBIDDEN) or text == "@":
        return False
    if text.startswith(("-", "/", ".")) or text.endswith(("/", ".", ".lock")):
        return False
    return all(
        not component.startswith(".") and not component.endswith(".lock")
        for component in text.split("/")
    )


def _repository_path(text: str) -> bool:
    """A folder inside the repository: relative, with no `..` step out of it."""
    if len(text) > MAX_REPOSITORY_PATH or _pattern(REPOSITORY_PATH).fullmatch(text) is None:
        return False
    return not text.startswith("/") and ".." not in text.split("/")


def _extended_resource_name(text: str) -> bool:
    """A device plugin's resource (`nvidia.com/gpu`): a qualified name with a domain that is not
    Kubernetes' own (`cpu`, `memory` or `kubernetes.io/...` would overwrite or invent a built-in
    resource)."""
    if "/" not in text or not is_qualified_name(text) or text.startswith("requests."):
        return False
    return "kubernetes.io/" not in text  # Kubernetes' own (native) resources


_QUALIFIED_NAME_LENGTH = MAX_DNS_SUBDOMAIN + 1 + MAX_DNS_LABEL
_RULES = {
    "dns-label": (
        "a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with "
        "a letter or digit"
    ),
    "dns-subdomain": (
        "a DNS-1123 subdomain: at most 253 characters of lowercase letters, digits, '-' and '.', "
        "each part starting and ending with a letter or digit"
    ),
    "host": (
        "a host name (a DNS-1123 subdomain such as `dev.example.com`, optionally `*.` first; not "
        "an IP address)"
    ),
    "image": (
        "a container image reference such as `ghcr.io/org/name:1.0` or `name@sha256:<digest>` "
        "(lowercase repository path, no spaces or control characters)"
    ),
    "uri": (
        "a URI such as `s3://bucket/path/` (a scheme, `://`, and no spaces or control characters)"
    ),
    "http": (
        "an http(s) URL such as `https://kubernetes.default.svc` (no spaces or control characters)"
    ),
    "repository": (
        "a git repository URL: `https://...`, `ssh://...`, `git://...` or `git@host:path` (no "
        "spaces or control characters)"
    ),
    "revision": (
        "a branch, tag or commit git accepts (no spaces, control characters, `~^:?*[\\`, `..` or "
        "`@{`; not starting with '-', '/' or '.', nor ending with '/', '.' or `.lock`)"
    ),
    "path": (
        "a relative path inside the repository (no leading '/', no `..`, no control characters)"
    ),
    "resource": (
        "an extended resource name with a vendor domain, such as `nvidia.com/gpu` (not `cpu`, "
        "`memory` or a kubernetes.io resource)"
    ),
    "label-key": (
        "a label key: `[prefix/]name`, the prefix a DNS subdomain and the name at most 63 "
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
    ),
    "label-value": (
        "a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a "
        "letter or digit"
    ),
    "role": (
        f"a role as callers send it in X-User-Roles: 1 to {MAX_ROLE_NAME} printable ASCII "
        "characters, no spaces or commas"
    ),
    "version": (
        f"a version such as `1.0` or `v1.0.0`: 1 to {MAX_VERSION_LABEL} characters starting with "
        "a letter, digit or '_', with no spaces, control or invisible characters and no '@'"
    ),
    "user-id": (
        f"a user id: 1 to {MAX_USER_ID} characters, not blank, no leading or trailing spaces, no "
        "control or invisible characters"
    ),
}

DnsLabel = Annotated[
    str,
    FormatName("DNS-1123 label"),
    _validator(is_dns_label, _RULES["dns-label"]),
    _schema(DNS_LABEL, MAX_DNS_LABEL),
]
DnsSubdomain = Annotated[
    str,
    FormatName("DNS-1123 subdomain"),
    _validator(is_dns_subdomain, _RULES["dns-subdomain"]),
    _schema(DNS_SUBDOMAIN, MAX_DNS_SUBDOMAIN),
]
IngressHost = Annotated[
    str,
    FormatName("host name"),
    _validator(_ingress_host, _RULES["host"]),
    _schema(rf"(\*\.)?{DNS_SUBDOMAIN}", MAX_DNS_SUBDOMAIN),
]
ImageReference = Annotated[
    str,
    FormatName("image reference"),
    _validator(_image_reference, _RULES["image"]),
    _schema(IMAGE_REFERENCE, MAX_IMAGE_REFERENCE),
]
# What Kubernetes expands in a container's command, args and env values, where the storage URIs go
# (the trainer's environment, KServe's storage initializer's args): `$(NAME)` is replaced by the
# variable's value and `$$` by `$`, so the program would read another URI than the manifest's
_KUBERNETES_EXPANDED = re.compile(r"\$[($]")


def _not_expanded(text: str) -> str:
    if _KUBERNETES_EXPANDED.search(text):
        raise PydanticCustomError(
            "string_format",
            "must not hold `$(` or `$$`: Kubernetes expands them in the container arguments and "
            "environment this URI is passed in (`$(NAME)` becomes a variable's value, `$$` "
            "becomes `$`), so the program would read another URI; rename the folder, or write "
            "the `$` percent-encoded (%24) if the storage accepts that",
            {},
        )
    return text


StorageUri = Annotated[
    str,
    FormatName("URI"),
    _validator(_url(URI), _RULES["uri"]),
    AfterValidator(_not_expanded),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": f"^{URI}$",
            "maxLength": MAX_URL,
            "not": {"pattern": _KUBERNETES_EXPANDED.pattern},
        }
    ),
]
HttpUrl = Annotated[
    str,
    FormatName("http(s) URL"),
    _validator(_url(HTTP_URL), _RULES["http"]),
    _schema(HTTP_URL, MAX_URL),
]
RepositoryUrl = Annotated[
    str,
    FormatName("git repository URL"),
    _validator(_url(REPOSITORY_URL), _RULES["repository"]),
    _schema(REPOSITORY_URL, MAX_URL),
]
GitRevision = Annotated[
    str,
    FormatName("git revision"),
    _validator(_git_revision, _RULES["revision"]),
    _schema(GIT_REVISION, MAX_GIT_REVISION),
]
RepositoryPath = Annotated[
    str,
    FormatName("relative path"),
    _validator(_repository_path, _RULES["path"]),
    _schema(REPOSITORY_PATH, MAX_REPOSITORY_PATH),
]
ExtendedResourceName = Annotated[
    str,
    FormatName("extended resource name"),
    _validator(_extended_resource_name, _RULES["resource"]),
    _schema(rf"{DNS_SUBDOMAIN}/{QUALIFIED_NAME_PART}", _QUALIFIED_NAME_LENGTH),
]
QualifiedName = Annotated[
    str,
    FormatName("label key"),
    _validator(is_qualified_name, _RULES["label-key"]),
    _schema(rf"({DNS_SUBDOMAIN}/)?{QUALIFIED_NAME_PART}", _QUALIFIED_NAME_LENGTH),
]
LabelValue = Annotated[
    str,
    FormatName("label value"),
    _validator(is_label_value, _RULES["label-value"]),
    _schema(LABEL_VALUE, MAX_DNS_LABEL),
]
RoleName = Annotated[
    str,
    FormatName("role"),
    _validator(is_role_name, _RULES["role"]),
    _schema(ROLE_NAME, MAX_ROLE_NAME),
]
UserId = Annotated[
    str,
    FormatName("user id"),
    _validator(is_user_id, _RULES["user-id"]),
    _schema(USER_ID, MAX_USER_ID),
]

VersionLabel = Annotated[
    str,
    FormatName("version"),
    _validator(is_version_label, _RULES["version"]),
    _schema(VERSION_LABEL, MAX_VERSION_LABEL),
]


def role_rule() -> str:
    """The sentence a refused role gets (for commands that check a role before writing it)."""
    return _RULES["role"]


def user_id_rule() -> str:
    """The sentence a refused user id gets."""
    return _RULES["user-id"]
