"""Command-line tools that need no database (``propoor mpi``)."""

from __future__ import annotations
