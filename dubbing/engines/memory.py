"""Giving a freed model's memory back to the system.

glibc keeps the pages of freed allocations for reuse, so a process that dropped a model of
several hundred MB still shows it in its resident set; `return_freed_memory` collects Python's
garbage and asks glibc to hand the free pages back (a no-op elsewhere).
"""

from __future__ import annotations


def return_freed_memory() -> None:
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass
