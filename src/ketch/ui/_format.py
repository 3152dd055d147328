"""Text forms of times, durations and sizes, for the HTML pages (the JSON keeps raw numbers)."""

from __future__ import annotations

import time
from datetime import datetime


def duration_text(seconds: float | None) -> str:
    """``"—"``, ``"0s"``, ``"350ms"``, ``"1.25s"``, ``"12.3s"``, ``"2m 05s"``, ``"1h 02m"``."""
    if seconds is None:
        return "—"
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return _trim(f"{seconds:.2f}") + "s"
    if seconds < 60:
        return _trim(f"{seconds:.1f}") + "s"
    if seconds < 3600:
        minutes, secs = divmod(int(round(seconds)), 60)
        return f"{minutes}m {secs:02d}s"
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours}h {rest // 60:02d}m"


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def time_text(ts: float | None) -> str:
    """Local date and time to the second, or ``"—"``."""
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def ago_text(ts: float | None, now: float | None = None) -> str:
    """``"just now"``, ``"5 min ago"``, ``"3 h ago"``, ``"2 days ago"``."""
    if ts is None:
        return ""
    delta = (time.time() if now is None else now) - ts
    if delta < 45:
        return "just now"
    if delta < 3600:
        return f"{max(1, round(delta / 60))} min ago"
    if delta < 86400:
        return f"{round(delta / 3600)} h ago"
    days = round(delta / 86400)
    return f"{days} day{'s' if days != 1 else ''} ago"


def size_text(size: int) -> str:
    """``"128 B"``, ``"1.6 KB"``, ``"12 MB"`` (powers of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
        value /= 1024
    return f"{value:.0f} TB"  # pragma: no cover
