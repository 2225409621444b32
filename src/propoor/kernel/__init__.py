"""The pure computations every domain calls: plain Python, polars and numpy.

Nothing here imports Django or a domain package (an import-linter contract enforces
it). Services load data, call the kernel and persist what it returns.
"""

from __future__ import annotations
