"""One progress utility for every step of repalign that can take more than a second or two.

:func:`progress` wraps an iterable or is used as a context manager with ``.update(n)``:

- on a terminal (stderr is a TTY) it draws a tqdm bar, when tqdm is installed;
- on a pipe or a log file (``nohup``, SLURM, ``2> log``) it prints a plain line to stderr at
  most every ``REPALIGN_PROGRESS_INTERVAL`` seconds (default 5) with done/total, the rate
  and the ETA, and one final line when the step ends, so a log is never silent and never
  flooded;
- ``repalign -q`` silences every bar (:func:`set_quiet`, set once by the command line), and
  ``enabled=False`` silences one call (library functions expose it as ``progress=False``).

Steps that last less than ``delay`` seconds (default 1 s, or the interval when that is
shorter) print nothing at all, so quick calls stay quiet.

``REPALIGN_PROGRESS`` forces a mode: ``bar``, ``plain`` or ``off`` (default ``auto``).

Examples
--------
>>> import io
>>> out = io.StringIO()                     # not a terminal: plain lines
>>> with progress(total=3, desc="fits", stream=out, interval=0) as bar:
...     for _ in range(3):
...         bar.update()
>>> out.getvalue().splitlines()[-1].startswith("fits: 3/3 (100%) done in")
True
>>> sum(progress([1, 2, 3], enabled=False))  # silenced, still iterates
6
"""

from __future__ import annotations

import functools
import io
import math
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any, Generic, TypeVar

__all__ = ["progress", "Progress", "set_quiet", "is_quiet", "format_duration", "display_mode"]

T = TypeVar("T")

#: Environment variable with the plain-line interval in seconds.
INTERVAL_ENV = "REPALIGN_PROGRESS_INTERVAL"
#: Environment variable forcing a mode: ``auto`` (default), ``bar``, ``plain`` or ``off``.
MODE_ENV = "REPALIGN_PROGRESS"
DEFAULT_INTERVAL = 5.0
DEFAULT_DELAY = 1.0

_quiet = False
# Indirection so tests can drive a fake clock without sleeping.
_monotonic = time.monotonic


def set_quiet(quiet: bool) -> None:
    """Silence (``True``) or restore (``False``) every progress display of this process.

    Examples
    --------
    >>> set_quiet(True); is_quiet()
    True
    >>> set_quiet(False); is_quiet()
    False
    """
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    """Whether :func:`set_quiet` silenced progress displays."""
    return _quiet


def format_duration(seconds: float) -> str:
    """``M:SS`` or ``H:MM:SS``; ``?`` for an unknown or infinite duration.

    Examples
    --------
    >>> format_duration(75), format_duration(3725), format_duration(float("inf"))
    ('1:15', '1:02:05', '?')
    """
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _format_bytes(n: float) -> str:
    for prefix in ("", "Ki", "Mi", "Gi", "Ti"):
        if abs(n) < 1024 or prefix == "Ti":
            return f"{n:.0f} {prefix}B" if prefix == "" else f"{n:.1f} {prefix}B"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover - loop always returns


def _format_rate(done: float, elapsed: float, unit: str) -> str:
    if elapsed <= 0 or done <= 0:
        return f"? {unit}/s"
    rate = done / elapsed
    if unit == "B":
        return f"{_format_bytes(rate)}/s"
    if rate >= 1000:  # whole numbers, never 9.48e+03
        return f"{rate:.0f} {unit}/s"
    if rate >= 1:
        return f"{rate:.3g} {unit}/s"
    return f"{1 / rate:.3g} s/{unit}"


def _interval_from_env() -> float:
    raw = os.environ.get(INTERVAL_ENV, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or value < 0:
        # A bad setting must not break a run; fall back and say so on stderr (once per bar).
        sys.stderr.write(f"repalign: ignoring {INTERVAL_ENV}={raw!r} (want seconds >= 0); using {DEFAULT_INTERVAL:g}\n")
        return DEFAULT_INTERVAL
    return value


def _mode(stream: IO[str], enabled: bool | None) -> str:
    forced = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if enabled is False or (enabled is None and _quiet) or forced == "off":
        return "off"
    if forced in ("bar", "plain"):
        return forced if forced == "plain" or _tqdm_class() is not None else "plain"
    isatty = getattr(stream, "isatty", None)
    on_terminal = bool(isatty and isatty())
    return "bar" if on_terminal and _tqdm_class() is not None else "plain"


def display_mode(enabled: bool | None = None, stream: IO[str] | None = None) -> str:
    """What :func:`progress` would show on ``stream`` (default stderr): ``"bar"``, ``"plain"`` or ``"off"``.

    Examples
    --------
    >>> display_mode(enabled=False)
    'off'
    """
    return _mode(stream if stream is not None else sys.stderr, enabled)


def _tqdm_class() -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm missing: plain lines everywhere, still informative
        return None
    return tqdm


class Progress(Generic[T]):
    """A progress display; build it with :func:`progress`.

    Use it as an iterator (each item counts one) or as a context manager calling
    :meth:`update`; :meth:`step` names the current step inside a unit (e.g. ``"extract"``)
    and :meth:`set_description` changes the label. Thread-safe: executors may call
    :meth:`update` from callbacks.
    """

    def __init__(
        self,
        iterable: Iterable[T] | None = None,
        *,
        total: float | None = None,
        desc: str = "",
        unit: str = "it",
        enabled: bool | None = None,
        stream: IO[str] | None = None,
        interval: float | None = None,
        delay: float | None = None,
    ) -> None:
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n: float = 0
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        self.interval = _interval_from_env() if interval is None else float(interval)
        self.delay = min(DEFAULT_DELAY, self.interval) if delay is None else float(delay)
        self.mode = _mode(self.stream, enabled)
        self._step = ""
        self._lock = threading.Lock()
        self._closed = False
        self._start = _monotonic()
        self._last_print = self._start
        self._printed = 0
        self._bar: Any = None
        if self.mode == "bar":
            if unit == "B":
                counts: dict[str, Any] = {"unit_scale": True, "unit_divisor": 1024}
            else:  # whole items done: a head's epochs advance by fractions of a fit
                counts = {"bar_format": _WHOLE_COUNT_FORMAT} if total else {}
            # a pty of size 0x0 (`script`, `docker exec -t`) made tqdm draw nothing at all
            # (tqdm hides a bar whose position is past the rows; 0 rows hid every bar)
            width = {"ncols": 80, "nrows": 24} if _terminal_columns(self.stream) == 0 else {"dynamic_ncols": True}
            self._bar = _whole_count_tqdm()(
                total=total, desc=desc or None, unit=unit, file=self.stream, delay=self.delay,
                leave=None,  # tqdm: a bar nested below another (a unit's extraction) vanishes when done
                **counts, **width,
            )

    # -- counting ---------------------------------------------------------------
    def update(self, n: float = 1) -> None:
        """Count ``n`` more items done."""
        with self._lock:
            if self.total:  # float steps (fractions of a fit) must not add up past the total
                n = max(min(n, self.total - self.n), 0)
            self.n += n
            if self._bar is not None:
                self._bar.update(n)
            elif self.mode == "plain":
                now = _monotonic()
                finished = bool(self.total) and self.n >= self.total  # the final line follows
                if not finished and now - self._last_print >= self.interval and now - self._start >= self.delay:
                    self._emit(now, final=False)

    def step(self, name: str) -> None:
        """Name the step now running inside the current item (shown with the next line)."""
        with self._lock:
            self._step = name
            if self._bar is not None:
                self._bar.set_postfix_str(name, refresh=True)

    def set_description(self, desc: str) -> None:
        """Change the label shown before the counts."""
        with self._lock:
            self.desc = desc
            if self._bar is not None:
                self._bar.set_description(desc, refresh=True)

    def close(self) -> None:
        """End the display: the bar is closed, or the final plain line is printed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._bar is not None:
                self._bar.close()
            elif self.mode == "plain":
                now = _monotonic()
                if self._printed or now - self._start >= self.delay:
                    self._emit(now, final=True)

    # -- plain lines -------------------------------------------------------------
    def line(self, now: float | None = None, *, final: bool = False) -> str:
        """The plain progress line for the current state (what a pipe receives)."""
        now = _monotonic() if now is None else now
        elapsed = max(now - self._start, 0.0)
        label = f"{self.desc}: " if self.desc else ""
        fmt = _format_bytes if self.unit == "B" else _fmt_count  # unit="B": sizes in KiB, MiB, ...
        done = fmt(self.n)
        if self.total:
            # floored like the count ("7/8 (100%)" for 7.97 of 8 would read as finished), with the
            # count's allowance for float steps: 1.9999999 of 2 is 100%
            counts = f"{done}/{fmt(self.total)} ({int(100 * self.n / self.total + 1e-6)}%)"
        else:
            counts = f"{done} {self.unit}"
        rate = _format_rate(self.n, elapsed, self.unit)
        if final:
            text = f"{label}{counts} done in {format_duration(elapsed)}, {rate}"
        else:
            eta = "?"
            if self.total and self.n > 0 and elapsed > 0:
                eta = format_duration((self.total - self.n) * elapsed / self.n)
            text = f"{label}{counts}, {rate}, ETA {eta}" if self.total else f"{label}{counts}, {rate}"
            if self._step:
                text += f" [{self._step}]"
        return text

    def _emit(self, now: float, *, final: bool) -> None:
        try:
            self.stream.write(self.line(now, final=final) + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not end the computation
            pass
        self._printed += 1
        self._last_print = now

    # -- protocols ----------------------------------------------------------------
    def __iter__(self) -> Iterator[T]:
        if self.iterable is None:
            raise TypeError("progress(...) was built without an iterable; use .update() instead")
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> Progress[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fmt_count(x: float) -> str:
    # whole items: 7.81 of 8 fits is 7 fits done (float steps carry a last-digit error: 7.9999999 is 8)
    return str(int(math.floor(float(x) + 1e-6)))


#: tqdm's default layout with the whole items done instead of a float count (``7/8``, not ``7.81/8``).
_WHOLE_COUNT_FORMAT = "{l_bar}{bar}| {n_whole}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]"


@functools.cache  # one subclass per process, not one per bar
def _whole_count_tqdm() -> Any:
    """tqdm with ``{n_whole}`` (the whole items done) for :data:`_WHOLE_COUNT_FORMAT`."""
    base = _tqdm_class()

    class _WholeCount(base):  # type: ignore[misc, valid-type]
        @property
        def format_dict(self) -> dict[str, Any]:
            d = super().format_dict
            d["n_whole"] = _fmt_count(d["n"])
            return d

    return _WholeCount


def _terminal_columns(stream: IO[str]) -> int | None:
    """The terminal's width in columns (0 also when it reports no rows); None when ``stream`` is
    no terminal that can be measured."""
    try:
        size = os.get_terminal_size(stream.fileno())
        return size.columns if size.lines > 0 else 0
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool | None = None,
    stream: IO[str] | None = None,
    interval: float | None = None,
    delay: float | None = None,
) -> Progress[T]:
    """Show the progress of a loop: a bar on a terminal, rate-limited lines on a pipe.

    Parameters
    ----------
    iterable
        Items to iterate over (each counts one); ``None`` to count with ``.update(n)``.
    total
        Number of items expected (taken from ``len(iterable)`` when possible); ``None`` shows
        counts and rate without an ETA.
    desc, unit
        Label before the counts, and the name of one item (``"image"``, ``"fit"``);
        ``unit="B"`` counts bytes and shows KiB, MiB, GiB.
    enabled
        ``False`` silences this call; ``None`` (default) shows it unless :func:`set_quiet`
        silenced everything; ``True`` shows it even then.
    stream
        Where to write (default: ``sys.stderr`` at the time of the call).
    interval
        Seconds between plain lines (default ``$REPALIGN_PROGRESS_INTERVAL`` or 5).
    delay
        Steps shorter than this print nothing (default ``min(1, interval)``).

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> for _ in progress(range(2), desc="images", unit="image", stream=out, interval=0):
    ...     pass
    >>> print(out.getvalue().strip().splitlines()[0].split(",")[0])
    images: 1/2 (50%)
    """
    return Progress(
        iterable, total=total, desc=desc, unit=unit, enabled=enabled, stream=stream, interval=interval, delay=delay
    )
