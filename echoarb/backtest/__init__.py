"""Backtest: would the reported edges have made money? (``echoarb backtest``, docs/backtest.md).

A recording runs in-process through the very parsers, books, merge and edge engine of the
Kafka path (``scan``); every executable opportunity is then taken after a per-venue latency
against the books as they were at that later event time (``trade``, ``fills``, ``books``,
``latency``), and the results are summed up (``stats``) and written out (``report``).
Everything but ``report`` is pure: no file, socket or clock is touched.
"""
