"""Demo 教职工与教育管理干部: generated for every school (and bureau) by ``generate_demo``.

Placeholder until the generator is written: it creates nothing and says so.
"""

from __future__ import annotations

from collections.abc import Callable


def generate(*, seed: int, progress: Callable[[str], None] | None = None) -> str:
    """Create the demo records (skipping if they exist); returns one line for the command's output."""
    return ""
