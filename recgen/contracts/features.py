"""Names of the features RecGen's ExampleGen writes, and of its splits.

One tf.Example per target event:

=====================  =======  ==============================================================
feature                type     meaning
=====================  =======  ==============================================================
user_id                bytes    the user, exactly as in the source
item_id                bytes    the target item
timestamp              int64    the target event's Unix time
history_item_ids       bytes[]  the last N items the user had before the target, oldest first
history_timestamps     int64[]  their times
history_length         int64    how many events the user had before the target (untruncated)
rating                 float    the target's rating, when the source has one
text, summary          bytes    the target's review text and summary, when the source has them
item_title             bytes    the target item's title ("" when the catalog has none)
item_categories        bytes[]  its categories or genres (may be empty)
item_description       bytes    its description ("" when the catalog has none)
seen_item_ids          bytes[]  eval and test only: every item the user had before the target
                                (the full history, which ranking excludes;
                                docs/evaluation.md#protocol)
impression_item_ids    bytes[]  impression logs (MIND) only: the items shown beside the target
                                in its impression and not clicked (training negatives;
                                docs/evaluation.md#impression-metrics)
=====================  =======  ==============================================================
"""
USER_ID = "user_id"
ITEM_ID = "item_id"
TIMESTAMP = "timestamp"
HISTORY_ITEM_IDS = "history_item_ids"
HISTORY_TIMESTAMPS = "history_timestamps"
HISTORY_LENGTH = "history_length"
RATING = "rating"
TEXT = "text"
SUMMARY = "summary"
ITEM_TITLE = "item_title"
ITEM_CATEGORIES = "item_categories"
ITEM_DESCRIPTION = "item_description"
SEEN_ITEM_IDS = "seen_item_ids"
IMPRESSION_ITEM_IDS = "impression_item_ids"

TRAIN, EVAL, TEST = "train", "eval", "test"
SPLITS = (TRAIN, EVAL, TEST)

DEFAULT_HISTORY_LENGTH = 50

CATALOG_FILE = "items.tfrecord.gz"  # the ItemCatalog artifact: one tf.Example per item (executor.py)
INGESTION_REPORT = "ingestion_report.json"  # beside the examples: counts, malformed rows (executor.py)
