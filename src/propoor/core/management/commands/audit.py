from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from propoor.core.audit import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. `propoor audit verify` checks the hash chain."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["verify"])

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        report = audit_verify()
        if report.ok:
            self.stdout.write(f"audit log intact: {report.entries} entries")
            return
        for problem in report.problems:
            self.stderr.write(f"entry {problem.seq}: {problem.problem}")
        raise CommandError(
            f"audit log tampered with: {len(report.problems)} problem(s) "
            f"in {report.entries} entries",
            returncode=2,
        )
