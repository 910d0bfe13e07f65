"""The order and the pool in which ``devrl paper`` runs its sections.

Sections run side by side (one process each; threads here only wait), each after the
sections it reads, longest chain first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Protocol

from devrl._pool import check_workers
from devrl._progress import progress


class Section(Protocol):
    """What scheduling needs of a :class:`devrl.paper.build.Section`."""

    name: str
    reads: tuple[str, ...]
    minutes: float


__all__ = ["run_sections", "start_order"]


def start_order(sections: list[Section]) -> list[Section]:
    """``sections`` in the order a pool should start them: longest chain first.

    A section's chain is its own ``minutes`` plus the longest chain among the sections
    that read it. Why: the paper's wall time is at least its longest chain
    (llc_over_training, then the sections that reuse its calibration); starting a chain's
    head late, or its last link after short sections, leaves cores idle at the end. A
    section's chain is longer than any of its readers', so every section still comes after
    the sections it reads.
    """
    by_name = {s.name: s for s in sections}
    chain: dict[str, float] = {}

    def length(name: str) -> float:
        if name not in chain:
            readers = [s.name for s in sections if name in s.reads]
            chain[name] = by_name[name].minutes + max(map(length, readers), default=0.0)
        return chain[name]

    return sorted(sections, key=lambda s: -length(s.name))


def run_sections(
    selected: list[Section], workers: int | None, run: Callable[[Section, bool], bool]
) -> list[str]:
    """Run the sections with ``run(section, capture)``, ``workers`` at a time, each after
    the sections it reads; return the names of those that failed (in the given order)."""
    workers = check_workers(workers)
    # one line per finished section (with the time left), on a terminal too: the sections'
    # own bars would overwrite a bar of the builder's
    if workers == 1:
        sections = progress(selected, "devrl paper", unit="section", bar=False, interval=0)
        return [s.name for s in sections if not run(s, False)]
    bar = progress(None, "devrl paper", total=len(selected), unit="section", bar=False, interval=0)
    names = {s.name for s in selected}
    pending, running, done, failed = start_order(selected), {}, set(), set()
    with ThreadPoolExecutor(workers) as pool:  # threads only wait: each section is a process
        while pending or running:
            for section in list(pending):
                ready = all(r in done or r not in names for r in section.reads)
                if len(running) < workers and ready:
                    pending.remove(section)
                    future = pool.submit(run, section, True)
                    running[future] = section
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                section = running.pop(future)
                done.add(section.name)
                if not future.result():
                    failed.add(section.name)
                bar.update(1)
    bar.close()
    return [s.name for s in selected if s.name in failed]
