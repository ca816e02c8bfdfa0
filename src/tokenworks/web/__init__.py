"""tokenworks.web: the web dashboard and its JSON API (FastAPI), beside the CLI at the top.

``app.create_app`` builds the app over a run store (``tokenworks.store``, DuckDB) and a
background worker (``jobs``); ``service`` checks, runs and stores runs (``runs_model``,
``runs_money``); ``routes_api`` is the JSON API, ``routes_pages`` and ``pages`` the HTML;
``forms`` places input errors next to their fields; ``uploads`` keeps each client's files.
Charts are the HTML reports' (``tokenworks.report``), drawn by the same script. Start it with
``tokenworks serve``.
"""
