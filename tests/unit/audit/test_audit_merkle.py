"""The Merkle tree against published vectors and against the RFC 6962 definitions themselves.

The vectors are those of transparency-dev/merkle (`testonly/constants.go`,
`testonly/reference_test.go`, `proof/verify_test.go`), whose roots come from
google/certificate-transparency's C++ tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.audit.domain.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Span,
    Subtree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    needed,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    bytes.fromhex(text)
    for text in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    EMPTY_ROOT.hex(),
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
NODES = {
    Subtree(0, 0): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    Subtree(0, 1): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    Subtree(0, 2): "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    Subtree(0, 3): "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    Subtree(0, 4): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    Subtree(0, 5): "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    Subtree(0, 6): "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    Subtree(0, 7): "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    Subtree(1, 0): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    Subtree(1, 1): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    Subtree(1, 2): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    Subtree(1, 3): "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    Subtree(2, 0): "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    Subtree(2, 1): "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    Subtree(3, 0): "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
# (leaf index, tree size, audit path)
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 2, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"]),
    (1, 2, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
# (first size, second size, consistency path)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def nodes_of(leaves: Sequence[bytes]) -> dict[Subtree, bytes]:
    """Every complete subtree of the tree of these leaf hashes, as the log stores them."""
    tree = CompactRange()
    nodes: dict[Subtree, bytes] = {}
    for leaf in leaves:
        nodes.update(tree.append(leaf))
    return nodes


VECTOR_NODES = nodes_of([leaf_hash(entry) for entry in LEAF_INPUTS])


def flip(hash_: bytes, bit: int) -> bytes:
    changed = bytearray(hash_)
    changed[bit // 8] ^= 1 << bit % 8
    return bytes(changed)


def hashes(texts: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(text) for text in texts]


# The RFC 6962 definitions, written out as recursion over the leaves: the reference the
# stored-subtree algorithms are checked against.
def reference_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_root(leaves: Sequence[bytes]) -> bytes:
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = reference_split(len(leaves))
    left, right = reference_root(leaves[:k]), reference_root(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def reference_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = reference_split(len(leaves))
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


def reference_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_root(leaves)]
    k = reference_split(n)
    if m <= k:
        return [*reference_subproof(m, leaves[:k], whole), reference_root(leaves[k:])]
    return [*reference_subproof(m - k, leaves[k:], False), reference_root(leaves[:k])]


def test_the_empty_tree_has_the_hash_of_nothing() -> None:
    assert root_hash({}, 0) == EMPTY_ROOT == CompactRange().root()
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_the_root_of_every_size_is_the_published_one(size: int) -> None:
    tree = CompactRange()
    for entry in LEAF_INPUTS[:size]:
        tree.append(leaf_hash(entry))

    assert tree.root().hex() == ROOTS[size]
    assert root_hash(VECTOR_NODES, size).hex() == ROOTS[size]


def test_every_complete_subtree_is_the_published_node() -> None:
    assert {subtree: hash_.hex() for subtree, hash_ in VECTOR_NODES.items()} == NODES


@pytest.mark.parametrize("size", range(len(ROOTS)))
def test_a_compact_range_resumes_from_its_stored_frontier(size: int) -> None:
    frontier = CompactRange.frontier(size)
    tree = CompactRange(size, [VECTOR_NODES[subtree] for subtree in frontier])
    for entry in LEAF_INPUTS[size:]:
        tree.append(leaf_hash(entry))

    assert tree.root().hex() == ROOTS[-1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_are_the_published_ones_and_verify(
    index: int, size: int, path: list[str]
) -> None:
    proof = inclusion_proof(VECTOR_NODES, index, size)

    assert proof == hashes(path)
    assert verify_inclusion(
        index=index,
        size=size,
        leaf=leaf_hash(LEAF_INPUTS[index]),
        proof=proof,
        root=bytes.fromhex(ROOTS[size]),
    )


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_VECTORS)
def test_consistency_proofs_are_the_published_ones_and_verify(
    first: int, second: int, path: list[str]
) -> None:
    proof = consistency_proof(VECTOR_NODES, first, second)

    assert proof == hashes(path)
    assert verify_consistency(
        first=first,
        second=second,
        first_root=bytes.fromhex(ROOTS[first]),
        second_root=bytes.fromhex(ROOTS[second]),
        proof=proof,
    )


def corrupted_inclusions(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> dict[str, tuple[int, int, bytes, list[bytes], bytes]]:
    """The probes of transparency-dev/merkle's verifier tests: each must be refused."""
    probes = {
        "index - 1": (index - 1, size, leaf, proof, root),
        "index + 1": (index + 1, size, leaf, proof, root),
        "index ^ 2": (index ^ 2, size, leaf, proof, root),
        "size * 2": (index, size * 2, leaf, proof, root),
        "size / 2": (index, size // 2, leaf, proof, root),
        "wrong leaf": (index, size, b"WrongLeaf", proof, root),
        "empty root": (index, size, leaf, proof, EMPTY_ROOT),
        "random root": (index, size, leaf, proof, SOME_HASH),
        "trailing garbage": (index, size, leaf, [*proof, b""], root),
        "trailing root": (index, size, leaf, [*proof, root], root),
        "preceding garbage": (index, size, leaf, [b"", *proof], root),
        "preceding root": (index, size, leaf, [root, *proof], root),
    }
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = flip(flipped[position], 3)
        probes[f"proof[{position}] flipped"] = (index, size, leaf, flipped, root)
    if proof:
        probes["removed component"] = (index, size, leaf, proof[:-1], root)
    if len(proof) > 1:
        probes["inserted component"] = (index, size, leaf, [proof[0], SOME_HASH, *proof[1:]], root)
    return probes


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_corrupted_inclusion_proofs_are_refused(index: int, size: int, path: list[str]) -> None:
    probes = corrupted_inclusions(
        index, size, leaf_hash(LEAF_INPUTS[index]), hashes(path), bytes.fromhex(ROOTS[size])
    )

    accepted = [
        name
        for name, (i, n, leaf, proof, root) in probes.items()
        if verify_inclusion(index=i, size=n, leaf=leaf, proof=proof, root=root)
    ]

    assert accepted == []


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY_VECTORS[1:])
def test_corrupted_consistency_proofs_are_refused(first: int, second: int, path: list[str]) -> None:
    first_root, second_root = bytes.fromhex(ROOTS[first]), bytes.fromhex(ROOTS[second])
    proof = hashes(path)
    probes = {
        "first - 1": (first - 1, second, first_root, second_root, proof),
        "first + 1": (first + 1, second, first_root, second_root, proof),
        "first ^ 2": (first ^ 2, second, first_root, second_root, proof),
        "second * 2": (first, second * 2, first_root, second_root, proof),
        "second / 2": (first, second // 2, first_root, second_root, proof),
        "wrong first root": (first, second, b"WrongRoot", second_root, proof),
        "wrong second root": (first, second, first_root, b"WrongRoot", proof),
        "swapped roots": (first, second, second_root, first_root, proof),
        "empty proof": (first, second, first_root, second_root, []),
        "trailing garbage": (first, second, first_root, second_root, [*proof, b""]),
        "trailing first root": (first, second, first_root, second_root, [*proof, first_root]),
        "trailing second root": (first, second, first_root, second_root, [*proof, second_root]),
        "preceding garbage": (first, second, first_root, second_root, [b"", *proof]),
        "preceding first root": (first, second, first_root, second_root, [first_root, *proof]),
        "preceding second root": (first, second, first_root, second_root, [second_root, *proof]),
        "preceding proof[0]": (first, second, first_root, second_root, [proof[0], *proof]),
        "truncated": (first, second, first_root, second_root, proof[:-1]),
    }
    for position in range(len(proof)):
        flipped = list(proof)
        flipped[position] = flip(flipped[position], 4)
        probes[f"proof[{position}] flipped"] = (first, second, first_root, second_root, flipped)

    accepted = [
        name
        for name, (m, n, root_m, root_n, path_) in probes.items()
        if verify_consistency(first=m, second=n, first_root=root_m, second_root=root_n, proof=path_)
    ]

    assert accepted == []


ROOT_A, ROOT_B = b"a" * 32, b"b" * 32


@pytest.mark.parametrize(
    ("first", "second", "first_root", "second_root", "proof", "valid"),
    [
        (0, 0, ROOT_A, ROOT_B, [], False),
        (1, 1, ROOT_A, ROOT_B, [], False),
        (0, 0, ROOT_A, ROOT_A, [], True),
        (0, 1, ROOT_A, ROOT_B, [], True),
        (1, 1, ROOT_B, ROOT_B, [], True),
        (1, 0, ROOT_A, ROOT_B, [], False),
        (2, 1, ROOT_A, ROOT_B, [], False),
        (1, 2, ROOT_A, ROOT_B, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
)
def test_consistency_between_trivial_sizes(
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: list[bytes],
    valid: bool,
) -> None:
    """A tree extends itself and the empty tree with no proof, and never a larger one."""
    assert (
        verify_consistency(
            first=first, second=second, first_root=first_root, second_root=second_root, proof=proof
        )
        is valid
    )


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_in_a_tree_too_small_or_with_hashes_of_the_wrong_size_is_refused(
    index: int, size: int
) -> None:
    for leaf, root in [(SOME_HASH, b""), (b"", EMPTY_ROOT), (SOME_HASH, EMPTY_ROOT)]:
        assert not verify_inclusion(index=index, size=size, leaf=leaf, proof=[], root=root)


def test_a_single_leaf_is_its_own_root() -> None:
    leaf = leaf_hash(b"data")

    assert verify_inclusion(index=0, size=1, leaf=leaf, proof=[], root=leaf)
    assert not verify_inclusion(index=0, size=1, leaf=leaf, proof=[], root=b"")
    assert not verify_inclusion(index=0, size=1, leaf=b"", proof=[], root=leaf)


def test_a_span_that_is_no_node_of_any_tree_is_refused() -> None:
    assert needed([Span(4, 7)]) == {Subtree(1, 2), Subtree(0, 6)}
    with pytest.raises(ValueError, match="not a node"):
        needed([Span(5, 7)])


def test_leaves_and_nodes_are_hashed_apart() -> None:
    """A leaf whose content is two hashes does not pass for the node of those hashes."""
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    two = nodes_of([left, right])

    assert leaf_hash(left + right) != two[Subtree(1, 0)]


leaves = st.lists(st.binary(max_size=16), min_size=1, max_size=300).map(
    lambda entries: [leaf_hash(entry) for entry in entries]
)


@given(leaves=leaves, data=st.data())
def test_any_inclusion_proof_is_the_rfc_path_and_verifies_and_a_changed_one_does_not(
    leaves: list[bytes], data: st.DataObject
) -> None:
    size = data.draw(st.integers(1, len(leaves)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    nodes = nodes_of(leaves)
    root = reference_root(leaves[:size])

    proof = inclusion_proof(nodes, index, size)

    assert root_hash(nodes, size) == root
    assert proof == reference_path(index, leaves[:size])
    assert verify_inclusion(index=index, size=size, leaf=leaves[index], proof=proof, root=root)
    others = [i for i in range(size) if leaves[i] != leaves[index]]
    if others:
        other = data.draw(st.sampled_from(others), label="other index")
        assert not verify_inclusion(
            index=other, size=size, leaf=leaves[index], proof=proof, root=root
        )
    assert not verify_inclusion(
        index=index, size=size, leaf=leaf_hash(b"other"), proof=proof, root=root
    )
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        changed = list(proof)
        changed[position] = flip(changed[position], data.draw(st.integers(0, 255), label="bit"))
        assert not verify_inclusion(
            index=index, size=size, leaf=leaves[index], proof=changed, root=root
        )


@given(leaves=leaves, data=st.data())
def test_any_consistency_proof_is_the_rfc_proof_and_verifies_and_a_changed_one_does_not(
    leaves: list[bytes], data: st.DataObject
) -> None:
    second = data.draw(st.integers(1, len(leaves)), label="second")
    first = data.draw(st.integers(1, second), label="first")
    nodes = nodes_of(leaves)
    first_root, second_root = reference_root(leaves[:first]), reference_root(leaves[:second])

    proof = consistency_proof(nodes, first, second)

    assert proof == (reference_subproof(first, leaves[:second], True) if first < second else [])
    assert verify_consistency(
        first=first, second=second, first_root=first_root, second_root=second_root, proof=proof
    )
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        changed = list(proof)
        changed[position] = hashlib.sha256(changed[position]).digest()
        assert not verify_consistency(
            first=first,
            second=second,
            first_root=first_root,
            second_root=second_root,
            proof=changed,
        )
    forked = data.draw(st.integers(0, first - 1), label="forked leaf")
    fork = [*leaves[:forked], leaf_hash(b"forked"), *leaves[forked + 1 : second]]
    if fork[forked] != leaves[forked]:
        assert not verify_consistency(
            first=first,
            second=second,
            first_root=first_root,
            second_root=reference_root(fork),
            proof=consistency_proof(nodes_of(fork), first, second),
        )


def test_every_proof_of_every_tree_up_to_40_leaves_is_the_rfc_one() -> None:
    leaves = [leaf_hash(bytes([n])) for n in range(40)]
    nodes = nodes_of(leaves)

    for size in range(1, len(leaves) + 1):
        root = reference_root(leaves[:size])
        assert root_hash(nodes, size) == root
        for index in range(size):
            proof = inclusion_proof(nodes, index, size)
            assert proof == reference_path(index, leaves[:size]), (index, size)
            assert verify_inclusion(
                index=index, size=size, leaf=leaves[index], proof=proof, root=root
            )
        for first in range(1, size):
            proof = consistency_proof(nodes, first, size)
            assert proof == reference_subproof(first, leaves[:size], True), (first, size)
            assert verify_consistency(
                first=first,
                second=size,
                first_root=reference_root(leaves[:first]),
                second_root=root,
                proof=proof,
            )
