"""Group related pairs into clusters (connected components, union-find).

>>> clusters_from_pairs([("a", "b"), ("b", "c"), ("x", "y")])
[('a', 'b', 'c'), ('x', 'y')]
"""

from __future__ import annotations

from collections.abc import Iterable


class UnionFind:
    """Disjoint sets over hashable items, with path halving and union by size."""

    def __init__(self) -> None:
        self._parent: dict[str, str] = {}
        self._size: dict[str, int] = {}

    def find(self, item: str) -> str:
        parent = self._parent
        if item not in parent:
            parent[item] = item
            self._size[item] = 1
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self._size[ra] < self._size[rb]:
            ra, rb = rb, ra
        self._parent[rb] = ra
        self._size[ra] += self._size[rb]

    def groups(self) -> list[tuple[str, ...]]:
        out: dict[str, list[str]] = {}
        for item in self._parent:
            out.setdefault(self.find(item), []).append(item)
        return [tuple(sorted(g)) for g in out.values()]


def clusters_from_pairs(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Connected components of the pair graph, largest first, then by first member."""
    uf = UnionFind()
    for a, b in pairs:
        uf.union(a, b)
    return sorted((g for g in uf.groups() if len(g) > 1), key=lambda g: (-len(g), g))
