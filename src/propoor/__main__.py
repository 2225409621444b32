"""The ``propoor`` command: Django's management commands under one name.

``propoor mpi`` needs no database and runs without Django; every other sub-command
(``seed``, ``identify``, ``demo``, ``audit``, ``migrate`` …) is a management command.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "mpi":
        from propoor.cli.mpi import main as mpi_main

        raise SystemExit(mpi_main(args[1:]))
    if args and args[0] == "demo":
        os.environ.setdefault("PROPOOR_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "propoor.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["propoor", *args])


if __name__ == "__main__":
    main()
