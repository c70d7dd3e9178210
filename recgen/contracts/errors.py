"""The error every layer raises for input it cannot use, so that entry points report it in one way.

Example:
    >>> raise DataError("ratings.csv line 7: timestamp 'abc' is not a number")
    Traceback (most recent call last):
    ...
    recgen.contracts.errors.DataError: ratings.csv line 7: timestamp 'abc' is not a number
"""


class DataError(ValueError):
    """A source that cannot be read at all: missing path, unknown format, no events; or a bad option."""
