"""The Streamlit dashboard, installed as ``autopeft.dashboard`` so that ``autopeft dashboard``
finds ``app.py`` in a wheel install as in a source checkout (``importlib.resources``)."""
