"""The shipped XLSForms (``household.xlsx``, ``village.xlsx``) and their source.

``build.py`` writes both workbooks from the readable definitions it holds; the .xlsx
files are committed so that a server can install them without building anything.
"""

from __future__ import annotations

from pathlib import Path

FORMS_DIR = Path(__file__).resolve().parent
HOUSEHOLD_XLSX = FORMS_DIR / "household.xlsx"
VILLAGE_XLSX = FORMS_DIR / "village.xlsx"
SHIPPED = (HOUSEHOLD_XLSX, VILLAGE_XLSX)
