"""Pages: server-rendered templates, HTMX and ECharts, in Chinese and English."""

from __future__ import annotations
