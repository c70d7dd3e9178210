"""One module per source family; each exposes ``read_events(path, report)`` and ``read_items(path, report)``.

- ``movielens``: MovieLens CSV (latest-small, 20M/25M/32M), 100K (``u.data``) and 1M/10M (``::`` files).
- ``amazon``: Amazon reviews 2014 and 2018 JSON lines, plain or .gz, with optional item metadata.
- ``generic_csv``: ``events.csv`` (user_id,item_id,timestamp[,rating][,text][,summary]) and optional ``items.csv``.
"""
