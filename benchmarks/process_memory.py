"""Memory of the running benchmark process, for the tables' ``peak RSS`` columns.

Each benchmark stage runs in a process of its own, so this is that stage's peak alone.
"""
import resource


def peak_rss_mib() -> float:
    """This process's peak resident set size, in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
