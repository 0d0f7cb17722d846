"""Routing: every order line to the supplier that sources it, and why.

- ``core/``: the pure engine, strategies, rules and types (no Django; checked
  by an import-linter contract).
- ``loading``: reads what the engine needs (orders, catalog, stock, rule set).
- ``writer``: routes batches and writes decisions, dispatches and reservations.
- ``rulesets``, ``simulation``, ``explain``: versions of the rules, what-if
  runs, and reasons in plain words.
- ``views``, ``api``, ``api_urls``, ``forms``, ``tasks``: the pages, the API
  and the Celery tasks of the feature.
"""
