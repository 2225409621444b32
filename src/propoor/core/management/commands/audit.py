from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from propoor.core.audit import audit_seal, audit_verify


class Command(BaseCommand):
    help = (
        "Audit log tools. `propoor audit verify` checks the hash chain; "
        "`propoor audit seal` chains the entries still pending."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("action", choices=["verify", "seal"])

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        if options["action"] == "seal":
            sealed = audit_seal(wait=True)
            self.stdout.write(
                f"chained {sealed} pending entr{'y' if sealed == 1 else 'ies'}"
            )
            return
        report = audit_verify()
        waiting = (
            f"; {report.pending} pending (run `propoor audit seal`)"
            if report.pending
            else ""
        )
        if report.ok:
            self.stdout.write(f"audit log intact: {report.entries} entries{waiting}")
            return
        for problem in report.problems:
            self.stderr.write(f"entry {problem.seq}: {problem.problem}")
        if report.pending:
            message = _(
                "audit log tampered with: %(problems)s problem(s) in %(entries)s "
                "entries; %(pending)s pending (run `propoor audit seal`)"
            )
        else:
            message = _(
                "audit log tampered with: %(problems)s problem(s) in %(entries)s "
                "entries"
            )
        raise CommandError(
            message
            % {
                "problems": len(report.problems),
                "entries": report.entries,
                "pending": report.pending,
            },
            returncode=2,
        )
