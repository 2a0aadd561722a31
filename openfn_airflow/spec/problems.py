"""What is wrong with a project spec, where, and what to do about it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: A location inside the spec as the keys leading to it; ints are list positions.
SpecPath = tuple[str | int, ...]

_LISTED = 20  # names listed in a hint at most


@dataclass(frozen=True)
class Problem:
    """One mistake in a spec: its dotted location, what is wrong and what to do."""

    location: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} (hint: {self.hint})" if self.hint else text


class SpecError(Exception):
    """A spec that cannot be used; carries every problem found, each once."""

    def __init__(self, problems: Iterable[Problem], path: Path | None = None) -> None:
        self.problems: list[Problem] = list(dict.fromkeys(problems))
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        head = f"{count} {noun} in project spec:"
        if self.path is not None:
            head = f"{self.path}: {head}"
        return "\n  - ".join([head, *(str(problem) for problem in self.problems)])

    def __reduce__(self):  # keep it picklable despite the custom __init__
        return (type(self), (self.problems, self.path))


def format_location(path: SpecPath) -> str:
    """Render ("jobs", "x", "tags", 1) as "jobs.x.tags[1]"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def did_you_mean(word: object, choices: Iterable[str], *, listing: str = "") -> str:
    """Return a hint naming the closest choice and, when `listing` is given, all choices after it.

    "did you mean "patient-form"? triggers in this project: every-5-min, patient-form"
    """
    options = sorted(set(choices))
    parts = []
    if isinstance(word, str):
        close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        if not close:
            lowered = {option.lower(): option for option in options}
            close = [
                lowered[m] for m in difflib.get_close_matches(word.lower(), list(lowered), n=1)
            ]
        if close:
            parts.append(f'did you mean "{close[0]}"?')
    if listing:
        shown = ", ".join(options[:_LISTED]) + (", ..." if len(options) > _LISTED else "")
        parts.append(f"{listing}: {shown or 'none'}")
    return " ".join(parts)


class Problems:
    """Collects problems with their spec paths, so callers can ask what a problem touches."""

    def __init__(self, initial: Iterable[tuple[SpecPath, Problem]] = ()) -> None:
        self._items: list[tuple[SpecPath, Problem]] = list(initial)

    def add(self, path: SpecPath, message: str, hint: str = "") -> None:
        self._items.append((path, Problem(format_location(path), message, hint)))

    def __len__(self) -> int:
        return len(self._items)

    def under(self, prefix: SpecPath) -> bool:
        """Tell whether any problem sits at `prefix` or inside it."""
        size = len(prefix)
        return any(path[:size] == prefix for path, _ in self._items)

    def in_order(self, order: dict[SpecPath, int]) -> tuple[Problem, ...]:
        """Return the problems once each, in the order their locations appear in the file."""

        def position(path: SpecPath) -> int:
            for size in range(len(path), -1, -1):
                if path[:size] in order:
                    return order[path[:size]]
            return -1

        ranked = sorted(self._items, key=lambda item: position(item[0]))  # stable
        return tuple(dict.fromkeys(problem for _, problem in ranked))


def document_order(data: object) -> dict[SpecPath, int]:
    """Number every key and list item of `data` in the order it was written."""
    order: dict[SpecPath, int] = {(): -1}
    seen: set[int] = set()  # YAML aliases share objects; visit each once

    def visit(value: object, path: SpecPath) -> None:
        if not isinstance(value, dict | list) or id(value) in seen:
            return
        seen.add(id(value))
        items: Sequence[tuple[str | int, object]]
        if isinstance(value, dict):
            items = [(str(k), v) for k, v in value.items()]
        else:
            items = list(enumerate(value))
        for key, item in items:
            order.setdefault((*path, key), len(order))
            visit(item, (*path, key))

    visit(data, ())
    return order
