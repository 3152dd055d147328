"""What a run's user tag may be: Metaflow's rules, checked wherever tags are set.

A tag is a non-empty string of at most :data:`MAX_TAG_LENGTH` characters that can be written
as UTF-8; a run has at most :data:`MAX_USER_TAGS` user tags (a run that already has more may
keep them, but not gain any). Blank and multi-line tags are accepted, as Metaflow accepts
them. Used by ``run --tag`` / ``resume --tag``, ``tag add|remove|replace`` and the Client's
tag methods.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from .exceptions import UserError

MAX_TAG_LENGTH = 500
MAX_USER_TAGS = 50
_SHOWN = 40  # characters of a bad tag quoted in a message


class _TagError(UserError):
    headline = "Invalid tag"


def check_tag(tag: object) -> str:
    """Return ``tag`` if it is a valid tag, else raise a :class:`~ketch.exceptions.UserError`
    that says which rule it breaks."""
    if not isinstance(tag, str):
        raise _TagError(
            f"A tag must be a string, not {type(tag).__name__}.", hint="Pass tags as strings."
        )
    if not tag:
        raise _TagError("A tag must not be an empty string.", hint="Leave the empty tag out.")
    if len(tag) > MAX_TAG_LENGTH:
        raise _TagError(
            f"Tag {_quote(tag)} is {len(tag):,} characters long; a tag may have at most "
            f"{MAX_TAG_LENGTH}.",
            hint="Use a shorter tag; keep long text in an artifact.",
        )
    try:
        tag.encode("utf-8")
    except UnicodeError:
        raise _TagError(
            f"Tag {_quote(tag)} cannot be written as UTF-8.",
            hint="Use only characters that UTF-8 can encode (no lone surrogates).",
        ) from None
    return tag


def check_tags(tags: Iterable[object], *, existing: Collection[str] | None = None) -> list[str]:
    """Check every tag of ``tags`` and the size of the tag set they make; ``existing`` is the
    run's user tags before the change (a set may shrink toward the limit, never grow past it).
    """
    if isinstance(tags, (str, bytes)):
        raise _TagError(
            f"Tags must be given as a list of strings, not as one string ({_quote(str(tags))}).",
            hint="Wrap a single tag in a list: add_tags(['tag']), or use add_tag('tag').",
        )
    checked = [check_tag(tag) for tag in tags]
    count = len(set(checked))
    if count > MAX_USER_TAGS and (existing is None or count > len(set(existing))):
        raise _TagError(
            f"A run may have at most {MAX_USER_TAGS} user tags; this would give it {count}.",
            hint="Remove tags that are no longer needed first.",
        )
    return checked


def _quote(text: str) -> str:
    shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
    return repr(shown)
