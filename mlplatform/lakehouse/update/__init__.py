"""Updates of tables, every one through the batch protocol of ``batch.py``.

``runner.TableRunner`` updates a declared table: a streaming table in micro-batches
(``streaming.py``), a live table by recomputing it (``live.py``); ``changes.py`` and
``snapshot.py`` apply change feeds and snapshots (CDC) to SCD type 1 or 2 tables.
"""
