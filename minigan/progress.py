"""A small progress bar: rate, ETA and the latest losses, on one line.

    bar = Progress(total=3000, desc="train")
    for step in range(3000):
        ...
        bar.update(loss_d=0.69, loss_g=0.71)
    bar.close()

On a terminal the line is redrawn in place a few times a second; in a log (CI,
a file) it prints a new line every tenth of the way, so logs stay short.
"""
import sys
import time


def _clock(seconds):
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Show how far a loop is, how fast it goes, when it will end, and its latest numbers."""

    def __init__(self, total, desc="", stream=None, width=24, refresh_seconds=0.2):
        self.total, self.desc, self.width = int(total), desc, width
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.refresh_seconds = refresh_seconds
        self.count, self.values = 0, {}
        self.start = self.last_draw = time.perf_counter()
        self.next_log_fraction = 0.1
        self.drawn_count = None

    def update(self, n=1, **values):
        """Advance by ``n`` steps and remember the latest ``values`` (losses, metrics)."""
        self.count += n
        self.values.update(values)
        now = time.perf_counter()
        if self.interactive:
            if now - self.last_draw >= self.refresh_seconds or self.count >= self.total:
                self._draw(now, end="\r")
        elif self.total and self.count / self.total >= self.next_log_fraction:
            self._draw(now, end="\n")
            while self.next_log_fraction <= self.count / self.total:
                self.next_log_fraction += 0.1

    def line(self, now=None):
        """The text of the bar: desc, bar, count, rate, elapsed<remaining, values."""
        now = time.perf_counter() if now is None else now
        elapsed = now - self.start
        rate = self.count / elapsed if elapsed > 0 else 0.0
        remaining = (self.total - self.count) / rate if rate > 0 else 0.0
        filled = int(self.width * self.count / self.total) if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        shown = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in self.values.items())
        return (f"{self.desc} [{bar}] {self.count}/{self.total} {rate:.1f} it/s "
                f"{_clock(elapsed)}<{_clock(remaining)} {shown}").strip()

    def _draw(self, now, end):
        self.last_draw, self.drawn_count = now, self.count
        self.stream.write(self.line(now) + end)
        self.stream.flush()

    def close(self):
        """Draw the final state and end the line."""
        if self.interactive:
            self._draw(time.perf_counter(), end="\n")
        elif self.count and self.drawn_count != self.count:
            self._draw(time.perf_counter(), end="\n")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
