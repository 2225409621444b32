"""The synthetic demo county: a seeded generator and the ``seed`` and ``demo`` commands.

``generator`` builds a plausible county of the mountainous south-west in memory
(pure numpy: ``geography``, ``people``, ``economy``, ``names``); ``services`` writes
it in bulk; ``demo`` adds the demo logins. ``README.md`` documents every distribution
and its source, and which numbers are assumptions.
"""

from __future__ import annotations
