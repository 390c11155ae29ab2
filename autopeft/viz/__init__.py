"""Figures and tables of the dashboard, built from the study store's public read API.

Everything here is plain pandas and plotly (no streamlit), so it is tested without a browser:

* :mod:`.readonly` opens a study store read-only (the dashboard must never write to it);
* :mod:`.fastread` fills the store's ``StudySummary``/``TrialRecord`` dataclasses with plain SQL
  (what ``list_studies``/``load_trials`` return, minus Optuna parameters, ~40x faster);
* :mod:`.frames` turns :class:`~autopeft.store.TrialRecord` lists into the tables the pages show
  (the 2-D front, the configuration heatmap, the trial table);
* :mod:`.hypervolume` computes the hypervolume after each trial;
* :mod:`.figures` builds the plotly figures;
* :mod:`.exports` lists the downloads offered for one configuration;
* :mod:`.synthetic` writes synthetic studies in the search loop's record format (tests,
  benchmark, screenshots).

Importing this package imports none of pandas, plotly, optuna or streamlit.
"""

from __future__ import annotations
