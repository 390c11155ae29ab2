"""Figures and tables of the dashboard, built from the study store's public read API.

Everything here is plain pandas and plotly (no streamlit), so it is tested without a browser:

* the store's data comes from :mod:`autopeft.store` (``open_readonly``, ``read_studies``,
  ``read_trials``: the dashboard never writes and reads large studies without Optuna's per-trial
  parameter objects);
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
