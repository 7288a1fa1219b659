"""Combine the output folders of ``grade --shard K/N`` runs into the outputs of one run.

``python -m coursepkg.grading merge grades-1 grades-2 grades-3 --out grades`` reads each folder's
``outcomes.jsonl`` and ``shard.json`` and writes into ``grades/`` what one ``grade`` run over the
whole class writes (the same writer, ``grade.write_outputs``): ``gradebook.csv``,
``summary.csv``, ``summary.txt``, ``feedback/``, ``lms/``, ``outcomes.jsonl``, and a
``shard.json`` that says ``1/1``. Each folder's ``runs/`` is copied (or, with ``move``, moved)
into ``grades/runs/``.

It refuses (MergeError, before writing anything) a folder that is missing or lacks
``outcomes.jsonl`` or ``shard.json`` (an unfinished run), shards of different N, a shard given
twice, a student found in two folders, an output folder that is one of the inputs, and a set of
shards that does not cover 1..N, unless ``allow_missing`` (the missing shards are then recorded
in the merged ``shard.json``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .grade import HIDDEN_SEEDS_FILE, Outcome, write_outputs
from .outcomes_file import OUTCOMES_FILE, OutcomesError, read_outcomes
from .shards import SHARD_FILE, WHOLE, Shard, ShardError, read_shard_file, write_shard_file


class MergeError(Exception):
    """Shard folders that cannot be merged; the message says which and why."""


def _read_folder(folder: Path) -> tuple[Shard, list[Outcome]]:
    """The shard a folder holds and its outcomes; raises MergeError if it cannot be merged."""
    if not folder.is_dir():
        raise MergeError(f"{folder} is not a folder")
    for name in (OUTCOMES_FILE, SHARD_FILE):
        if not (folder / name).is_file():
            raise MergeError(
                f"{folder} has no {name}: not an output folder of grade, or its run did not "
                "finish (run grade again for that shard)"
            )
    try:
        shard, missing = read_shard_file(folder)
        outcomes = read_outcomes(folder / OUTCOMES_FILE)
    except (ShardError, OutcomesError) as exc:
        raise MergeError(str(exc)) from None
    if missing:
        raise MergeError(f"{folder} is itself a merge that lacks the shards {missing}")
    return shard, outcomes


def _check_cover(shards: dict[Path, Shard], allow_missing: bool) -> list[Shard]:
    """The shards missing from 1..N; raises MergeError on mixed N or a shard given twice."""
    sizes = {s.n for s in shards.values()}
    if len(sizes) > 1:
        listed = ", ".join(f"{f} is {s}" for f, s in shards.items())
        raise MergeError(f"the folders are shards of different splits of the class: {listed}")
    (n,) = sizes
    seen: dict[int, Path] = {}
    for folder, shard in shards.items():
        if shard.k in seen:
            raise MergeError(f"shard {shard} is given twice: {seen[shard.k]} and {folder}")
        seen[shard.k] = folder
    missing = [Shard(k, n) for k in range(1, n + 1) if k not in seen]
    if missing and not allow_missing:
        names = ", ".join(str(m) for m in missing)
        raise MergeError(f"shards {names} are missing (pass --allow-missing to merge without)")
    return missing


def _transfer_runs(folder: Path, runs: Path, move: bool) -> None:
    """Copy (or move) every student's folder of ``folder/runs`` into ``runs``."""
    source = folder / "runs"
    if not source.is_dir():
        return
    runs.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir()):
        target = runs / entry.name
        if move and not target.exists():
            shutil.move(str(entry), str(target))
        else:
            shutil.copytree(entry, target, symlinks=True, dirs_exist_ok=True)
            if move:
                shutil.rmtree(entry)


def merge(
    folders: list[Path], out_dir: Path, *, allow_missing: bool = False, move: bool = False
) -> list[Outcome]:
    """Merge the shard output ``folders`` into ``out_dir`` (see the module's docstring).

    Returns the merged outcomes, sorted as ``grade`` sorts them. Raises MergeError.
    """
    folders = [Path(f) for f in folders]
    out_dir = Path(out_dir)
    if not folders:
        raise MergeError("no shard folders to merge")
    if len({f.resolve() for f in folders}) < len(folders):
        raise MergeError("a folder is given twice")
    if out_dir.resolve() in {f.resolve() for f in folders}:
        raise MergeError(f"the output folder {out_dir} is one of the shards; choose another")
    shards: dict[Path, Shard] = {}
    owner: dict[str, Path] = {}
    outcomes: list[Outcome] = []
    for folder in folders:
        shard, found = _read_folder(folder)
        shards[folder] = shard
        for student in {o.student for o in found}:
            if student in owner:
                raise MergeError(
                    f"the student {student!r} is in two shards: {owner[student]} and {folder}"
                )
            owner[student] = folder
        outcomes += found
    missing = _check_cover(shards, allow_missing)
    outcomes.sort(key=lambda o: (o.student, o.chapter))  # stable: a shard's own order is kept
    (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    seeds = []
    for folder in folders:
        _transfer_runs(folder, out_dir / "runs", move)
        seeds_file = folder / HIDDEN_SEEDS_FILE
        if seeds_file.is_file():
            seeds.append(f"# {folder.name}\n{seeds_file.read_text(encoding='utf-8')}")
    (out_dir / HIDDEN_SEEDS_FILE).write_text("".join(seeds), encoding="utf-8")
    write_shard_file(out_dir, WHOLE, missing)  # before outcomes.jsonl, which marks the end
    write_outputs(outcomes, out_dir)
    return outcomes
