"""What the server benchmarks share: stopping the server processes and measuring the
CPU time spent by them, their PostgreSQL backends and the client.

The machine may be shared: wall-clock rates move with its load, CPU time per request
much less. (Server workers keep their database connections for the whole run, so their
backends live from the first request to the end.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def stop_servers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_backends(db_name: str) -> list[int]:
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (db_name,),
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU time of the server workers, their PostgreSQL backends and the client."""

    def __init__(self, servers: list[int], db_name: str) -> None:
        self.servers = servers
        self.db_name = db_name
        self.start = self._read()

    def _read(self) -> dict[str, float]:
        return {
            "server": sum(cpu_s(pid) for pid in self.servers),
            "postgres": sum(cpu_s(pid) for pid in postgres_backends(self.db_name)),
            "client": time.process_time(),
        }

    def per_request_ms(self, n: int) -> dict[str, float]:
        """Milliseconds of CPU per request since the last reading, by party."""
        end = self._read()
        spent = {k: (end[k] - self.start[k]) * 1000 / max(n, 1) for k in end}
        spent["total"] = sum(spent.values())
        self.start = end
        return {k: round(v, 2) for k, v in spent.items()}
