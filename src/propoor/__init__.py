"""ProPoor: precision poverty alleviation through rural e-commerce."""

from __future__ import annotations

__version__ = "0.1.0"
