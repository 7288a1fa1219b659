"""Spread a class over machines: ``grade --shard K/N`` grades one fixed share of the students.

The share: the students that ``discover`` finds, sorted by their exact names (Python's string
order, by code point: ``Zoe`` before ``alice``), and from them every N-th, starting at the K-th
(round-robin). The N shards of a class therefore partition it: every student is in exactly one,
and all of a student's notebooks are graded by the same shard. The assignments are not split.

Every output folder of ``grade`` records what it holds in ``shard.json``::

    {"shard": "2/3"}            # one share of the class
    {"shard": "1/1"}            # a whole class (an unsharded run, or a complete merge)
    {"shard": "1/1", "missing_shards": ["3/3"]}   # a merge made with --allow-missing

``merge`` reads it to check that the folders it combines cover 1..N exactly once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SHARD_FILE = "shard.json"


class ShardError(ValueError):
    """A shard spec that is not ``K/N`` with 1 <= K <= N, or an unreadable ``shard.json``."""


@dataclass(frozen=True)
class Shard:
    """Shard ``k`` of ``n`` (1 <= k <= n); raises ShardError otherwise."""

    k: int
    n: int

    def __post_init__(self):
        if not (isinstance(self.k, int) and isinstance(self.n, int) and 1 <= self.k <= self.n):
            raise ShardError(f"a shard is K/N with 1 <= K <= N, got {self.k}/{self.n}")

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` as ``Shard(2, 3)``. Raises ShardError with what is wrong."""
        k, slash, n = str(text).strip().partition("/")
        k, n = k.strip(), n.strip()
        if not slash or not all(x.isascii() and x.isdigit() for x in (k, n)):
            raise ShardError(f"a shard is written K/N, such as 2/3, got {text!r}")
        k, n = int(k), int(n)
        if n < 1 or not 1 <= k <= n:
            raise ShardError(f"a shard K/N needs 1 <= K <= N, got {text!r}")
        return cls(k, n)

    def select(self, students: Iterable[str]) -> set[str]:
        """This shard's share of ``students`` (see the module's docstring)."""
        return set(sorted(set(students))[self.k - 1 :: self.n])


WHOLE = Shard(1, 1)


def select_submissions(found: list, shard: Shard | None) -> list:
    """The submissions of ``found`` (from ``discover``) whose students are in ``shard``,
    in their order; all of them when ``shard`` is None."""
    if shard is None:
        return found
    mine = shard.select(s.student for s in found)
    return [s for s in found if s.student in mine]


def write_shard_file(out_dir: Path, shard: Shard, missing: Iterable[Shard] = ()) -> Path:
    """Record ``shard`` (and any shards a merge went without) in ``out_dir/shard.json``."""
    record: dict = {"shard": str(shard)}
    missing = [str(m) for m in missing]
    if missing:
        record["missing_shards"] = missing
    path = Path(out_dir) / SHARD_FILE
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    return path


def read_shard_file(out_dir: Path) -> tuple[Shard, list[str]]:
    """The shard an output folder holds and the shards its merge went without.

    Raises:
        FileNotFoundError: the folder has no ``shard.json``.
        ShardError: the file is not a shard record.
    """
    path = Path(out_dir) / SHARD_FILE
    text = path.read_text(encoding="utf-8")
    try:
        record = json.loads(text)
        shard = Shard.parse(record["shard"])
        missing = [str(Shard.parse(m)) for m in record.get("missing_shards", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ShardError(f"{path} is not a shard record: {exc}") from None
    return shard, missing
