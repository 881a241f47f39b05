"""RFC 6962/9162 Merkle tree hashing: roots, inclusion and consistency proofs, and their checks.

A leaf is hashed as SHA-256(0x00 || entry) and a node as SHA-256(0x01 || left || right), so a leaf
can never pass for a node. A tree of n > 1 leaves splits at the largest power of two smaller than n.
Every subtree a root or a proof needs is a range of leaves made of *complete* subtrees (2**level
leaves from a multiple of 2**level), and only those are stored: appending a leaf completes at most
log2(n) + 1 of them, and any proof needs O(log n) of them.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root of the tree of no leaves."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


@dataclass(frozen=True, order=True)
class Subtree:
    """A complete subtree: the 2**level leaves from index * 2**level on."""

    level: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


@dataclass(frozen=True)
class Span:
    """The leaves [start, end) under one node of the tree, complete or not."""

    start: int
    end: int

    @property
    def subtrees(self) -> list[Subtree]:
        """The complete subtrees whose hashes make up this span's hash, left to right.

        A node of an RFC 6962 tree starts at a multiple of the power of two at or above its width,
        so its span splits into the complete subtrees of the width's binary digits.
        """
        subtrees = []
        start = self.start
        while start < self.end:
            level = (self.end - start).bit_length() - 1
            if start % (1 << level):
                raise ValueError(f"[{self.start}, {self.end}) is not a node of any tree")
            subtrees.append(Subtree(level, start >> level))
            start += 1 << level
        return subtrees


def split(width: int) -> int:
    """The largest power of two smaller than `width` (at least 2): where a node splits."""
    return 1 << ((width - 1).bit_length() - 1)


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a span from the hashes of its complete subtrees, left to right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def root_spans(size: int) -> list[Span]:
    """The span whose hash is the root of the tree of `size` leaves (none for the empty tree)."""
    return [Span(0, size)] if size else []


def inclusion_spans(index: int, size: int) -> list[Span]:
    """The spans whose hashes form the audit path of leaf `index` in a tree of `size` leaves,
    nearest the leaf first (RFC 9162, 2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    path = []
    start, end = 0, size
    while end - start > 1:
        middle = start + split(end - start)
        if index < middle:
            path.append(Span(middle, end))
            end = middle
        else:
            path.append(Span(start, middle))
            start = middle
    return path[::-1]


def consistency_spans(first: int, second: int) -> list[Span]:
    """The spans whose hashes prove that the tree of `second` leaves extends the tree of `first`
    leaves, deepest first (RFC 9162, 2.1.4.1); none when either tree is the other or empty."""
    if not 0 <= first <= second:
        raise ValueError(f"a tree of {second} leaves cannot extend one of {first}")
    if first in (0, second):
        return []
    path = []
    start, end = 0, second
    first_root_is_a_node = True
    while first != end:
        middle = start + split(end - start)
        if first <= middle:
            path.append(Span(middle, end))
            end = middle
        else:
            path.append(Span(start, middle))
            start = middle
            first_root_is_a_node = False
    if not first_root_is_a_node:
        path.append(Span(start, end))
    return path[::-1]


def needed(spans: Sequence[Span]) -> set[Subtree]:
    """The stored subtrees the hashes of these spans are made of."""
    return {subtree for span in spans for subtree in span.subtrees}


def span_hashes(spans: Sequence[Span], nodes: Mapping[Subtree, bytes]) -> list[bytes]:
    """The hash of each span, from the hashes of the complete subtrees in `nodes`."""
    return [fold([nodes[subtree] for subtree in span.subtrees]) for span in spans]


def root_hash(nodes: Mapping[Subtree, bytes], size: int) -> bytes:
    spans = root_spans(size)
    return span_hashes(spans, nodes)[0] if spans else EMPTY_ROOT


def inclusion_proof(nodes: Mapping[Subtree, bytes], index: int, size: int) -> list[bytes]:
    return span_hashes(inclusion_spans(index, size), nodes)


def consistency_proof(nodes: Mapping[Subtree, bytes], first: int, second: int) -> list[bytes]:
    return span_hashes(consistency_spans(first, second), nodes)


class CompactRange:
    """The complete subtrees covering leaves [0, size), which is all it takes to append a leaf
    and to compute the root: O(log n) hashes."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self._subtrees = Span(0, size).subtrees
        if len(hashes) != len(self._subtrees):
            raise ValueError(f"a tree of {size} leaves has {len(self._subtrees)} frontier nodes")
        self._hashes = list(hashes)
        self.size = size

    @staticmethod
    def frontier(size: int) -> list[Subtree]:
        """The complete subtrees a compact range of `size` leaves is made of."""
        return Span(0, size).subtrees

    def append(self, leaf: bytes) -> list[tuple[Subtree, bytes]]:
        """Adds the next leaf's hash; returns the complete subtrees it completes, the leaf first."""
        node, hash_ = Subtree(0, self.size), leaf
        completed = [(node, hash_)]
        while self._subtrees and self._subtrees[-1].level == node.level:
            self._subtrees.pop()
            hash_ = node_hash(self._hashes.pop(), hash_)
            node = Subtree(node.level + 1, node.index // 2)
            completed.append((node, hash_))
        self._subtrees.append(node)
        self._hashes.append(hash_)
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold(self._hashes) if self._hashes else EMPTY_ROOT

    def nodes(self) -> dict[Subtree, bytes]:
        """The frontier's subtrees with their hashes."""
        return dict(zip(self._subtrees, self._hashes, strict=True))

    def copy(self) -> CompactRange:
        return CompactRange(self.size, self._hashes)


def verify_inclusion(
    *, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size` leaves with
    this root (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < size or not _hashes(leaf, root, *proof):
        return False
    fn, sn = index, size - 1
    result = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(result, root)


def verify_consistency(
    *, first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows that the tree of `second` leaves with `second_root` extends the tree
    of `first` leaves with `first_root` (RFC 9162, 2.1.4.2)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not proof and hmac.compare_digest(first_root, second_root)
    if first == 0:
        return not proof
    if not proof or not _hashes(first_root, second_root, *proof):
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    first_result = second_result = path[0]
    for sibling in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first_result = node_hash(sibling, first_result)
            second_result = node_hash(sibling, second_result)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            second_result = node_hash(second_result, sibling)
        fn, sn = fn >> 1, sn >> 1
    return (
        sn == 0
        and hmac.compare_digest(first_result, first_root)
        and hmac.compare_digest(second_result, second_root)
    )


def _hashes(*values: bytes) -> bool:
    return all(len(value) == HASH_SIZE for value in values)
