"""Insights: dashboards and reports read from the registry's identification results."""

from __future__ import annotations
