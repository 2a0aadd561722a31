"""Jobs chained by success/failure triggers: loops, and jobs whose chain is broken upstream.

A job has at most one trigger, so at most one upstream job: following upstream links from any job
either ends or runs into exactly one loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def find_cycles(upstream_of: Mapping[str, str]) -> list[list[str]]:
    """Return each loop once, in run order and starting from its smallest name: [a, b, a]."""
    cycles: list[list[str]] = []
    finished: set[str] = set()
    for start in sorted(upstream_of):
        walk: list[str] = []
        node: str | None = start
        while node is not None and node not in finished and node not in walk:
            walk.append(node)
            node = upstream_of.get(node)
        if node is not None and node in walk:
            # walk follows upstream links; runs go the other way
            loop = list(reversed(walk[walk.index(node) :]))
            first = loop.index(min(loop))
            loop = loop[first:] + loop[:first]
            cycles.append([*loop, loop[0]])
        finished.update(walk)
    return cycles


def keep_chained(candidates: Iterable[str], upstream_of: Mapping[str, str]) -> set[str]:
    """Return the candidates whose upstream job, and its upstream in turn, are all candidates."""
    kept = set(candidates)
    changed = True
    while changed:
        dropped = {name for name in kept if name in upstream_of and upstream_of[name] not in kept}
        kept -= dropped
        changed = bool(dropped)
    return kept
