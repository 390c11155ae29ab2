"""Reads of the study store at scale (issue #18, item 9): ``autopeft pareto`` and ``autopeft studies``
as the user runs them, and the dashboard's front page, on studies of 1,000 and 10,000 trials.

    python benchmarks/store_reads.py [--sizes 1000,10000] [--repeats 3] [--no-dashboard] [--out benchmarks/results/store_reads.md]

Each study is synthetic but stored as the search loop stores one (per-layer ``mixed`` space
parameters, config, result, timings, worker; 3 baselines; 1 % failed; 2 RUNNING), written by the
batched builder :func:`autopeft.viz.synthetic.write_study` (through :func:`autopeft.store.bulk.add_trials`) into a temporary folder. Figures:

* ``build``: writing the study (target <= 60 s for 10,000 trials);
* ``autopeft pareto`` / ``autopeft pareto --json`` / ``autopeft studies``: wall seconds of the
  command as a subprocess, Python start-up included (target <= 2 s);
* ``dashboard first view``: the server time of the front page in a fresh session with empty
  caches, rendered headless by ``streamlit.testing.v1.AppTest`` as ``benchmarks/dashboard.py``
  does (target <= 1 s); its store reads alone as the page makes them (``open_readonly`` +
  ``read_studies`` + :func:`autopeft.store.pageread.read_study_rows`, which pulls the shown fields out
  with ``json_extract`` and decodes no record) and, for comparison, with the full ``read_trials``; and a rerun of the same session;
* ``ORM front (before)``: the front read through Optuna's ORM as ``autopeft pareto`` did before
  (1,000 trials only: it is the slow path).

The machine is shared and noisy, so every figure is also given as a ratio to a reference measured
in the same run: the wall time of ``python -c "import autopeft"`` (a bare interpreter start with
the package imported). Medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def wall(cmd: list[str], repeats: int) -> float:
    """Median wall seconds of ``cmd`` as a subprocess (start-up included); raises if it fails."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run = subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=ROOT)
        times.append(time.perf_counter() - started)
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {run.stderr.strip()[-500:]}")
    return statistics.median(times)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autopeft.cli", *args]


def dashboard_first_view(url: str, repeats: int) -> tuple[float, float, float, float] | None:
    """(median first-view server seconds, median store-read seconds (read_trials), median read
    seconds as the page reads (read_study), median rerun seconds), or None without streamlit."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        return None
    import logging

    from benchmarks.dashboard import render

    from autopeft.store import open_readonly, read_studies, read_trials
    from autopeft.store.pageread import read_study_rows as read_study

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    render(url)  # imports once (not counted, as in benchmarks/dashboard.py)
    views = [render(url)[:2] for _ in range(repeats)]
    reads, page_reads = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        storage = open_readonly(url)
        study = read_studies(storage)[0].name
        read_trials(storage, study)
        reads.append(time.perf_counter() - started)
        started = time.perf_counter()
        storage = open_readonly(url)
        summary = read_studies(storage)[0]
        read_study(storage, summary.name, summary.objectives)
        page_reads.append(time.perf_counter() - started)
    return (statistics.median(v[0] for v in views), statistics.median(reads), statistics.median(page_reads),
            statistics.median(v[1] for v in views))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "store_reads.md")
    args = parser.parse_args()

    from autopeft.viz.synthetic import write_study

    reference = wall([sys.executable, "-c", "import autopeft"], max(3, args.repeats))
    rows: list[tuple[str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="autopeft-store-reads-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            db = Path(tmp) / f"s{size}.db"
            url = f"sqlite:///{db}"
            name = f"bench-{size}"
            started = time.perf_counter()
            write_study(url, name, n_trials=size, n_failed=max(1, size // 100), n_running=2, with_params=True, seed=0, distinct_configs=256)
            rows.append(("build (batched inserts)", size, time.perf_counter() - started, "<= 60 s at 10,000"))
            rows.append(("autopeft pareto", size, wall(cli("pareto", "--study", name, "--storage", url), args.repeats), "<= 2 s"))
            rows.append(("autopeft pareto --json", size, wall(cli("pareto", "--study", name, "--storage", url, "--json"), args.repeats), "<= 2 s"))
            rows.append(("autopeft studies", size, wall(cli("studies", "--storage", url), args.repeats), "<= 2 s"))
            if size <= 1000:
                from autopeft.store.fastread import _front_by_orm

                started = time.perf_counter()
                _front_by_orm(url, name)
                rows.append(("ORM front (the read pareto used before)", size, time.perf_counter() - started, "-"))
            if not args.no_dashboard:
                got = dashboard_first_view(url, args.repeats)
                if got is not None:
                    rows.append(("dashboard first view (server)", size, got[0], "<= 1 s"))
                    rows.append(("  its store reads (open_readonly+read_studies+store.pageread.read_study_rows)", size, got[2], "-"))
                    rows.append(("  the full read it replaced (open_readonly+read_studies+read_trials)", size, got[1], "-"))
                    rows.append(("dashboard rerun (same session, cached data)", size, got[3], "-"))

    lines = [
        f"# Store reads at scale ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, shared machine)",
        "",
        f"Reference: `python -c \"import autopeft\"` = {reference:.2f} s wall (median); ratio = time / reference.",
        "",
        "| what | trials | seconds | ratio to reference | target |",
        "|---|---:|---:|---:|---|",
    ]
    lines += [f"| {what} | {size:,} | {seconds:.2f} | {seconds / reference:.1f}x | {target} |" for what, size, seconds, target in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
