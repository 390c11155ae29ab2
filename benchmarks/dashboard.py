"""Server time of the dashboard's front page on a large study (target from issue 6: a 2,000-trial
study renders in at most 2 s).

    python benchmarks/dashboard.py [--trials 2000] [--db PATH] [--repeats 3]

The study is synthetic but stored exactly as the search loop stores one (per-layer ``mixed`` space
parameters, config, result, timings, worker; 3 baselines; 1 % failed); it is written once to
``--db`` (default ``.autopeft_cache/bench/dashboard-N.db``) and reused. The page is rendered
headless by ``streamlit.testing.v1.AppTest`` (the script run is the server-side work of one page
view). Figures printed:

* ``first view``: a fresh session with every cache empty (modules already imported): reading the
  store read-only, the study list, all trials, the trial table, the front, the hypervolume curve
  and every figure and table of the page. This is the figure the target is about.
* ``rerun``: the same session again (a widget change): data from the cache, figures rebuilt.
* the parts of a first view: the study list read by :mod:`autopeft.store.fastread`, the study read
  as the page reads it (:func:`autopeft.store.pageread.read_study_rows`: the shown fields pulled out
  by SQLite's ``json_extract``, no record decoded), the table, front, figure and hypervolume built
  from those columns, one trial read in full (the detail view); and, for comparison, the full
  ``read_trials`` with the table and hypervolume from its decoded records, and the reads through the store's ORM-based
  ``list_studies``/``load_trials`` (about 4-7 s each here, which is why the page does not use them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
APP = ROOT / "dashboard" / "app.py"


def ensure_study(db: Path, trials: int) -> str:
    url = f"sqlite:///{db}"
    if db.exists():
        return url
    import optuna

    from autopeft.viz.synthetic import write_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_study(url, f"bench-{trials}", n_trials=trials, n_failed=max(1, trials // 100), seed=0)
    print(f"wrote {trials} trials to {db} in {time.perf_counter() - started:.1f} s (once; reused later)")
    return url


def render(url: str) -> tuple[float, float, object]:
    """(first view s, rerun s, AppTest) for one fresh session with empty caches."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_resource.clear()
    st.cache_data.clear()
    os.environ["AUTOPEFT_DASHBOARD_STORAGE"] = url
    at = AppTest.from_file(str(APP), default_timeout=120)
    started = time.perf_counter()
    at.run()
    first = time.perf_counter() - started
    if at.exception:
        raise SystemExit(f"the page raised: {[e.value for e in at.exception]}")
    started = time.perf_counter()
    at.run()
    return first, time.perf_counter() - started, at


def parts(url: str, study: str) -> dict[str, float]:
    from autopeft.store import list_studies, load_trials
    from autopeft.store import read_studies, read_trials
    from autopeft.viz.figures import pareto_figure
    from autopeft.viz.frames import front_points, study_table, trials_table
    from autopeft.viz.hypervolume import hypervolume_curve, study_hypervolume
    from autopeft.store.pageread import read_study_rows as read_study
    from autopeft.store import open_readonly

    out = {}
    t = time.perf_counter()
    storage = open_readonly(url)
    out["open read-only"] = time.perf_counter() - t
    t = time.perf_counter()
    summary = next(s for s in read_studies(storage) if s.name == study)
    out["read_studies (store.fastread)"] = time.perf_counter() - t
    t = time.perf_counter()
    records = read_trials(storage, study)
    out["read_trials (store.fastread)"] = time.perf_counter() - t
    t = time.perf_counter()
    list_studies(storage)
    out["store.list_studies (ORM, not used by the page)"] = time.perf_counter() - t
    t = time.perf_counter()
    load_trials(storage, study)
    out["store.load_trials (ORM, not used by the page)"] = time.perf_counter() - t
    t = time.perf_counter()
    rows = read_study(storage, study, summary.objectives)
    out["read_study (store.pageread: fields by json_extract, no record decoded; what the page reads)"] = time.perf_counter() - t
    t = time.perf_counter()
    table = study_table(rows, summary.metadata)
    out["trial table (from read_study's columns)"] = time.perf_counter() - t
    t = time.perf_counter()
    points = front_points(table, "params")
    out["front points"] = time.perf_counter() - t
    t = time.perf_counter()
    pareto_figure(points, axis="params", log=True)
    out["front figure"] = time.perf_counter() - t
    t = time.perf_counter()
    study_hypervolume(rows, summary.objectives, summary.directions, summary.metadata)
    out["hypervolume curve (from read_study's columns)"] = time.perf_counter() - t
    t = time.perf_counter()
    rows.record(rows.numbers()[-1])
    out["one trial in full (the detail view)"] = time.perf_counter() - t
    t = time.perf_counter()
    front_points(trials_table(records, summary.metadata), "params")
    out["trial table + front (from read_trials, every record decoded)"] = time.perf_counter() - t
    t = time.perf_counter()
    hypervolume_curve(records, summary.objectives, summary.directions, summary.metadata)
    out["hypervolume curve (from read_trials' records)"] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    db = args.db or ROOT / ".autopeft_cache" / "bench" / f"dashboard-{args.trials}.db"
    url = ensure_study(db, args.trials)

    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    started = time.perf_counter()
    render(url)  # imports streamlit, plotly, pandas, optuna, the app's modules once
    print(f"first page view in a fresh process (imports included): {time.perf_counter() - started:.2f} s")
    firsts, reruns = [], []
    for _ in range(args.repeats):
        first, rerun, at = render(url)
        firsts.append(first)
        reruns.append(rerun)
    metrics = {m.label: m.value for m in at.metric}
    print(f"study: {metrics.get('trials')} trials, {metrics.get('complete')} complete, {metrics.get('on front')} on the front")
    print(f"first view, empty caches: median {statistics.median(firsts):.2f} s over {args.repeats} (target <= 2 s)  {[round(x, 2) for x in firsts]}")
    print(f"rerun, cached data:       median {statistics.median(reruns):.2f} s  {[round(x, 2) for x in reruns]}")
    study = at.sidebar.selectbox[0].value
    for name, seconds in parts(url, study).items():
        print(f"  {name:<72} {seconds:.3f} s")


if __name__ == "__main__":
    main()
