"""
Sizes and durations as short text (no Django needed, so create.py can use it).
"""


def format_size(size):
    """Bytes as '512 B', '4.0 KiB', '12.3 MiB', '1.2 GiB', '3.0 TiB'."""
    size = float(size or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def format_seconds(seconds):
    """A duration: '0.4 s', '12.0 s', '3m 05s'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
