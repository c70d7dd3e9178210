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

TRAIN, EVAL, TEST = "train", "eval", "test"
SPLITS = (TRAIN, EVAL, TEST)

DEFAULT_HISTORY_LENGTH = 50
