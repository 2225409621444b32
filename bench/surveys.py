"""OpenRosa submission throughput: household surveys posted over HTTP, twice each.

    python bench/surveys.py                       # 10,000 submissions, PostgreSQL
    python bench/surveys.py --submissions 2000 --clients 8

Builds a scratch PostgreSQL database ``propoor_bench_surveys`` on 127.0.0.1 (dropped
and re-created; ``BENCH_POSTGRES`` overrides the server), installs the shipped forms,
a county of 4 townships x 5 villages and one village cadre per township (each scoped
to their township), then:

- starts a real multi-threaded WSGI server: ``--workers`` processes of waitress
  (``--threads`` each) sharing one listening socket, as a production deployment
  runs ProPoor behind a load balancer;
- builds ``--submissions`` new-household submissions from the shipped household
  XForm's own instance (2-5 members with valid ID numbers, a GPS point and a JPEG
  photo of the house), laid out as ODK Collect posts them (multipart,
  ``xml_submission_file`` + the photo);
- posts them over HTTP with ``--clients`` concurrent client threads, each logged in
  as a cadre with HTTP Digest (one 401 challenge, then the nonce reused with a
  rising ``nc``, as ODK Collect's HTTP stack does), and times every request;
- posts every one of them a second time (a phone that never saw the first answer);
- counts rows: ``lost`` = acknowledged (201/202) but no Submission row,
  ``duplicated`` = rows beyond one per instanceID;
- reads the CPU time the server workers, their PostgreSQL backends and the clients
  spent per submission: the wall-clock rates move with whatever else the machine
  runs, the CPU time much less (``cpu_bound_submissions_per_s`` is what it alone
  allows on this machine's cores).

Prints JSON and writes ``bench/results/surveys-postgresql.json``. Targets: at least
200 submissions/s on a 2-core machine, ``lost`` = 0, ``duplicated`` = 0.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import os
import platform
import queue
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from _procs import CpuMeter, stop_servers  # bench/

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "propoor_bench_surveys"
YEAR = 2025
SURVEYED_ON = date(2025, 11, 15)
COUNTY = "530102000000"
TOWNSHIPS = 4
VILLAGES_PER_TOWNSHIP = 5
PASSWORD = "bench-cadre-password"  # noqa: S105  (a scratch database)
SUBMISSION_PATH = "/openrosa/submission"


def _environment() -> None:
    os.environ.setdefault("PROPOOR_DEV_SECRETS", "1")
    os.environ.setdefault("PROPOOR_SECURE_COOKIES", "0")
    os.environ["DJANGO_SETTINGS_MODULE"] = "propoor.settings"
    os.environ.setdefault("PROPOOR_LOG", "WARNING")
    sys.path.insert(0, str(ROOT / "src"))


def _configure() -> None:
    import psycopg

    base = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = f"{base}/{DB_NAME}"


# --- the server ---------------------------------------------------------------


def serve(fd: int, threads: int) -> None:
    """A waitress worker on the inherited listening socket ``fd``."""
    _environment()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from waitress import serve as waitress_serve

    application = get_wsgi_application()
    # one connection per worker thread for the whole run (see CpuMeter)
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None
    # the expected 401 challenges are no news
    logging.getLogger("django.request").setLevel(logging.ERROR)

    listener = socket.socket(fileno=fd)
    waitress_serve(
        application,
        sockets=[listener],
        threads=threads,
        connection_limit=1000,
        channel_timeout=120,
        ident="propoor",
        _quiet=True,
    )


def _start_servers(workers: int, threads: int) -> tuple[list[subprocess.Popen], int]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    processes = [
        subprocess.Popen(  # noqa: S603  (this very script, as a worker)
            [
                sys.executable,
                __file__,
                "--serve-fd",
                str(listener.fileno()),
                "--threads",
                str(threads),
            ],
            pass_fds=[listener.fileno()],
            # waitress's notes on its task queue stay quiet
            env={**os.environ, "PROPOOR_LOG": "ERROR"},
        )
        for _ in range(workers)
    ]
    listener.close()
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("HEAD", SUBMISSION_PATH)
            status = conn.getresponse().status
            conn.close()
            if status == 401:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the WSGI server did not come up")
        time.sleep(0.2)
    return processes, port


# --- the data -----------------------------------------------------------------


def _build_area_and_users() -> dict[str, list[str]]:
    """The county, its villages and one cadre per township: {cadre: [villages]}."""
    from propoor.accounts.models import Role
    from propoor.accounts.services import user_create
    from propoor.areas.services import division_create

    province = division_create(code="530000000000", name="云南省", level="province")
    prefecture = division_create(
        code="530100000000", name="昆明市", level="prefecture", parent=province
    )
    county = division_create(
        code=COUNTY, name="示范县", level="county", parent=prefecture
    )
    cadres: dict[str, list[str]] = {}
    for t in range(1, TOWNSHIPS + 1):
        township = division_create(
            code=f"530102{t:03d}000", name=f"乡镇{t}", level="township", parent=county
        )
        villages = [
            division_create(
                code=f"530102{t:03d}{v:03d}",
                name=f"村{t}-{v}",
                level="village",
                parent=township,
            ).code
            for v in range(1, VILLAGES_PER_TOWNSHIP + 1)
        ]
        username = f"cadre{t}"
        user_create(
            username=username,
            password=PASSWORD,
            role=Role.VILLAGE_CADRE,
            scope_codes=[township.code],
        )
        cadres[username] = villages
    return cadres


def _id_number(serial: int, born: date, male: bool) -> str:
    """A valid, unique resident ID number (GB 11643: area, birth, sequence, check)."""
    from propoor.kernel.idcard import check_character

    seq = (serial % 500) * 2 + (1 if male else 0)
    body = f"530102{born:%Y%m%d}{seq:03d}"
    return body + check_character(body)


def _age(born: date) -> int:
    return (
        SURVEYED_ON.year
        - born.year
        - ((SURVEYED_ON.month, SURVEYED_ON.day) < (born.month, born.day))
    )


@dataclass(frozen=True)
class Job:
    username: str
    instance_id: str
    body: bytes
    content_type: str


def _household(index: int, village: str, rng_seed: int) -> tuple[dict, list[dict]]:
    import random

    rng = random.Random(rng_seed * 1_000_003 + index)
    size = rng.randint(2, 5)
    members = []
    for m in range(size):
        # (birth date, sequence) differs for every serial: the ID numbers are unique
        serial = index * 5 + m
        born = date(1945, 1, 1) + timedelta(days=(serial // 500) * 97)
        male = m % 2 == 0
        members.append(
            {
                "name": f"成员{index}-{m}",
                "id_number": _id_number(serial, born, male),
                "age": str(_age(born)),
                "relation": "head" if m == 0 else rng.choice(["spouse", "child"]),
                "labour": rng.choice(["full", "partial", "none"]),
                "health": rng.choice(["healthy", "healthy", "chronic"]),
                "schooling": rng.choice(["primary", "junior", "senior"]),
                "in_school": "no",
                "skills": "",
            }
        )

    def yes(p: float) -> str:
        return "yes" if rng.random() < p else "no"

    values = {
        "start": "2025-11-15T09:00:00.000+08:00",
        "end": "2025-11-15T09:25:00.000+08:00",
        "surveyed_on": SURVEYED_ON.isoformat(),
        "village_code": village,
        "new_household": "yes",
        "head_name": members[0]["name"],
        "address": f"{village} 第{index % 90 + 1}组",
        "phone": f"138{index:08d}",
        "category": rng.choice(["ordinary", "dibao", "tekun"]),
        "main_cause": rng.choice(["illness", "disability", "lack_skills"]),
        "secondary_causes": rng.choice(["lack_capital", "lack_labour", ""]),
        "year": str(YEAR),
        "income_wages": f"{rng.randint(0, 20000)}.00",
        "income_business": f"{rng.randint(0, 9000)}.50",
        "income_ecommerce": "0",
        "income_property": "0",
        "income_transfers": f"{rng.randint(0, 3000)}.00",
        "costs": f"{rng.randint(0, 2000)}.00",
        "spending_medical": f"{rng.randint(0, 3000)}.00",
        "spending_disaster": "0",
        "food_secure": yes(0.95),
        "clothing_secure": yes(0.95),
        "school_age_children": "0",
        "children_out_of_school": "0",
        "medical_insured": yes(0.97),
        "medical_care_access": yes(0.95),
        "housing_structure": rng.choice(["concrete", "brick_wood", "earth_wood"]),
        "housing_grade": rng.choice(["A", "B", "B", "C"]),
        "safe_water": yes(0.9),
        "water_quality": str(rng.randint(2, 5)),
        "wall_quality": str(rng.randint(2, 5)),
        "electricity": "yes",
        "cooking_fuel": rng.choice(["electricity", "gas", "wood"]),
        "sanitation": rng.choice(["flush", "improved_pit", "unimproved"]),
        "undernourished_member": yes(0.05),
        "child_death_5y": "no",
        "max_schooling_years": str(rng.randint(0, 12)),
        "has_radio": yes(0.2),
        "has_tv": yes(0.8),
        "has_telephone": "yes",
        "has_computer": yes(0.1),
        "has_bicycle": yes(0.3),
        "has_motorbike": yes(0.6),
        "has_refrigerator": yes(0.4),
        "has_car": yes(0.05),
        "land_cultivated": f"{rng.randint(0, 80) / 10:.1f}",
        "land_forest": "0",
        "land_orchard": f"{rng.randint(0, 20) / 10:.1f}",
        "land_pond": "0",
        "size": str(size),
        "labourers_full": str(sum(m["labour"] == "full" for m in members)),
        "labourers_partial": str(sum(m["labour"] == "partial" for m in members)),
        "members_ill_or_disabled": str(sum(m["health"] != "healthy" for m in members)),
        "head_female": "no",
        "head_elderly": "no",
        "head_child": "no",
        "skills": "planting",
        "smartphones": str(rng.randint(0, 3)),
        "internet": rng.choice(["none", "mobile", "broadband"]),
        "km_to_road": f"{rng.randint(0, 50) / 10:.1f}",
        "km_to_market": f"{rng.randint(10, 300) / 10:.1f}",
        "ecommerce_experience": rng.choice(["none", "bought", "sold"]),
        "wishes": "training-ecommerce credit-microloan",
        "wishes_note": "想学网上卖核桃",
        "location": f"25.{rng.randint(0, 99999):05d} 102.{rng.randint(0, 99999):05d}"
        " 1890.0 5.0",
        "house_photo": "house.jpg",
    }
    return values, members


def _jobs(n: int, cadres: dict[str, list[str]], xform: str) -> list[Job]:
    from propoor.surveys.tests.factories import fill_instance
    from propoor.surveys.tests.odk import JPEG, multipart

    jobs = []
    usernames = sorted(cadres)
    for i in range(n):
        username = usernames[i % len(usernames)]
        villages = cadres[username]
        village = villages[(i // len(usernames)) % len(villages)]
        values, members = _household(i, village, rng_seed=7)
        instance_id = f"uuid:{uuid.UUID(int=secrets.randbits(128), version=4)}"
        xml = fill_instance(xform, values, members, instance_id=instance_id)
        body, content_type = multipart(
            xml, [("house.jpg", "image/jpeg", JPEG)], boundary=secrets.token_hex(16)
        )
        jobs.append(Job(username, instance_id, body, content_type))
    return jobs


# --- the clients --------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def _challenge(response: http.client.HTTPResponse) -> dict[str, str]:
    import re

    for value in response.headers.get_all("WWW-Authenticate") or []:
        if value.lower().startswith("digest "):
            return {
                k.lower(): (q or b)
                for k, q, b in re.findall(
                    r'([A-Za-z-]+)=(?:"([^"]*)"|([^,\s]*))', value
                )
            }
    raise RuntimeError("no Digest challenge offered")


class DigestConnection:
    """One keep-alive HTTP connection speaking Digest as ODK Collect does."""

    def __init__(self, port: int, username: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.username = username
        self.challenge: dict[str, str] | None = None
        self.ha1 = ""
        self.nc = 0
        self.challenges = 0

    def _authorization(self, method: str, uri: str) -> dict[str, str]:
        if self.challenge is None:
            return {}
        self.nc += 1
        nc = f"{self.nc:08x}"
        cnonce = secrets.token_hex(8)
        nonce = self.challenge["nonce"]
        ha2 = _md5(f"{method}:{uri}")
        response = _md5(f"{self.ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return {
            "Authorization": (
                f'Digest username="{self.username}", realm="{self.challenge["realm"]}",'
                f' nonce="{nonce}", uri="{uri}", algorithm=MD5, qop=auth, nc={nc},'
                f' cnonce="{cnonce}", response="{response}",'
                f' opaque="{self.challenge.get("opaque", "")}"'
            )
        }

    def request(
        self, method: str, uri: str, body: bytes = b"", content_type: str = ""
    ) -> tuple[int, bytes]:
        for _ in range(3):
            headers = {"X-OpenRosa-Version": "1.0", **self._authorization(method, uri)}
            if content_type:
                headers["Content-Type"] = content_type
            self.conn.request(method, uri, body=body or None, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
            if response.status != 401:
                return response.status, data
            self.challenges += 1
            self.challenge = _challenge(response)
            self.ha1 = _md5(f"{self.username}:{self.challenge['realm']}:{PASSWORD}")
            self.nc = 0
        return response.status, data


@dataclass
class PassResult:
    seconds: float
    latencies_ms: list[float]
    statuses: Counter
    acknowledged: set[str]
    challenges: int


def _run_pass(port: int, jobs: list[Job], clients: int) -> PassResult:
    work: queue.Queue[Job | None] = queue.Queue()
    for job in jobs:
        work.put(job)
    for _ in range(clients):
        work.put(None)
    latencies: list[float] = []
    statuses: Counter = Counter()
    acknowledged: set[str] = set()
    lock = threading.Lock()
    challenges = 0
    usernames = sorted({job.username for job in jobs})

    def client(index: int) -> None:
        nonlocal challenges
        # one connection per cadre the client speaks for (a phone per cadre)
        connections = {u: DigestConnection(port, u) for u in usernames}
        mine: list[float] = []
        seen: Counter = Counter()
        acked: list[str] = []
        while True:
            job = work.get()
            if job is None:
                break
            conn = connections[job.username]
            start = time.perf_counter()
            try:
                status, _ = conn.request(
                    "POST", SUBMISSION_PATH, job.body, job.content_type
                )
            except (OSError, http.client.HTTPException):
                status = 0  # no answer: counted, never acknowledged
                conn.conn.close()
            mine.append((time.perf_counter() - start) * 1000)
            seen[status] += 1
            if status in (201, 202):
                acked.append(job.instance_id)
        with lock:
            latencies.extend(mine)
            statuses.update(seen)
            acknowledged.update(acked)
            challenges += sum(c.challenges for c in connections.values())
        for c in connections.values():
            c.conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return PassResult(
        time.perf_counter() - start, latencies, statuses, acknowledged, challenges
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[k]


def _summary(result: PassResult, n: int) -> dict[str, object]:
    return {
        "seconds": round(result.seconds, 2),
        "per_s": round(n / result.seconds, 1),
        "p50_ms": round(_percentile(result.latencies_ms, 50), 1),
        "p90_ms": round(_percentile(result.latencies_ms, 90), 1),
        "p99_ms": round(_percentile(result.latencies_ms, 99), 1),
        "max_ms": round(max(result.latencies_ms, default=0.0), 1),
        "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
        "digest_challenges": result.challenges,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--serve-fd", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fd is not None:
        serve(args.serve_fd, args.threads)
        return 0

    _environment()
    _configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from propoor.surveys.models import Attachment, Submission
    from propoor.surveys.services import forms_install_shipped
    from propoor.surveys.tests.odk import JPEG

    attachment_bytes = len(JPEG)

    versions = forms_install_shipped()
    household = next(v for v in versions if v.form.kind == "household")
    cadres = _build_area_and_users()
    build_start = time.perf_counter()
    jobs = _jobs(args.submissions, cadres, household.xform)
    build_s = time.perf_counter() - build_start
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
    connection.close()

    processes, port = _start_servers(args.workers, args.threads)
    try:
        load_at_start = os.getloadavg()
        meter = CpuMeter([p.pid for p in processes], DB_NAME)
        first = _run_pass(port, jobs, args.clients)
        first_cpu = meter.per_request_ms(args.submissions)
        second = _run_pass(port, jobs, args.clients)
        second_cpu = meter.per_request_ms(args.submissions)
    finally:
        stop_servers(processes)

    sent = {job.instance_id for job in jobs}
    rows = Counter(Submission.objects.values_list("instance_id", flat=True))
    acknowledged = first.acknowledged | second.acknowledged
    lost = len(acknowledged - set(rows))
    duplicated = sum(count - 1 for count in rows.values())
    report = {
        "bench": "surveys",
        "database": "postgresql",
        "postgresql": pg_version,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "parameters": {
            "submissions": args.submissions,
            "clients": args.clients,
            "server": "waitress",
            "server_workers": args.workers,
            "server_threads": args.threads,
            "auth": "digest",
            "attachment_bytes": attachment_bytes,
            "mean_request_bytes": round(sum(len(j.body) for j in jobs) / len(jobs)),
        },
        "build_submissions_s": round(build_s, 2),
        "submissions_per_s": round(args.submissions / first.seconds, 1),
        "p50_ms": round(_percentile(first.latencies_ms, 50), 1),
        "p99_ms": round(_percentile(first.latencies_ms, 99), 1),
        "resubmissions_per_s": round(args.submissions / second.seconds, 1),
        "resubmission_p99_ms": round(_percentile(second.latencies_ms, 99), 1),
        "first_pass": {
            **_summary(first, args.submissions),
            "cpu_ms_per_submission": first_cpu,
        },
        "second_pass": {
            **_summary(second, args.submissions),
            "cpu_ms_per_submission": second_cpu,
        },
        # what the CPU time alone allows on this machine's cores, were nothing
        # else running (the wall-clock figures above move with the machine's load)
        "cpu_bound_submissions_per_s": round(
            (os.cpu_count() or 1) * 1000 / first_cpu["total"], 1
        ),
        "machine_load_average": [round(x, 2) for x in os.getloadavg()],
        "machine_load_average_at_start": [round(x, 2) for x in load_at_start],
        "sent": len(sent),
        "acknowledged": len(acknowledged),
        "rows": sum(rows.values()),
        "attachments": Attachment.objects.count(),
        "lost": lost,
        "duplicated": duplicated,
        "unacknowledged": len(sent - acknowledged),
        "targets": {"submissions_per_s": ">= 200", "lost": "0", "duplicated": "0"},
    }
    out = ROOT / "bench" / "results" / "surveys-postgresql.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
