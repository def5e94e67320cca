"""How much memory a forked Lambda child grew to on its own: its peak RSS minus its RSS at fork.

A child forked from the embedded AWS starts with the parent's pages mapped:
its resident set at fork is the parent's (moto, its stored objects, the
imported handlers), and its high-water mark (`VmHWM`, what `ru_maxrss`
reports) starts there. Pages it only reads stay shared and pages it writes
are copied in place of the shared ones, so neither moves its RSS; what does
is memory it allocates (memory the parent's allocator held free at fork is
reused without growing: an undercount of at most what the engine had
freed). So `peak - at_fork` is what the invocation itself grew to,
whatever the parent holds, and it is what the scale benchmark
compares across catalog sizes. A Lambda's whole footprint is that plus a
fresh interpreter with the handler imported, which the benchmark measures
apart.

Linux reads /proc/<pid>/status (kB); elsewhere `resource.getrusage` gives the
calling process's peak only, and the RSS at fork is taken as its peak then.
(A fresh interpreter's own footprint is `own_peak` in that interpreter.)
"""

from __future__ import annotations

import resource
import sys
from dataclasses import dataclass
from pathlib import Path

_KIB = 1024
# ru_maxrss is in kilobytes on Linux, in bytes on macOS
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else _KIB


@dataclass(frozen=True)
class ChildMemory:
    """A child's resident set at fork and at its peak, in bytes."""

    at_fork: int
    peak: int

    @property
    def grown(self) -> int:
        """What the child allocated beyond the pages it was forked with."""
        return max(0, self.peak - self.at_fork)


def _status(pid: int | str) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes (empty where /proc is not there)."""
    found: dict[str, int] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0]) * _KIB
    return found


def own_rss() -> int:
    """This process's resident set now (its peak so far where /proc is missing)."""
    return _status("self").get("VmRSS") or own_peak()


def own_peak() -> int:
    """This process's peak resident set: VmHWM, which starts afresh at exec (ru_maxrss, the
    fallback, also keeps the peak of the image a process exec'd from)."""
    return (
        _status("self").get("VmHWM")
        or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _MAXRSS_UNIT
    )


def peak_of(pid: int) -> int | None:
    """Another live process's peak resident set (None if it is gone or /proc is missing)."""
    return _status(pid).get("VmHWM")
