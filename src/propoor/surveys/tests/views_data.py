"""Survey data for the page and browser tests, built through the services.

The web tests' county (``web.tests.data.build_county``) with the shipped forms
installed, household locations in village A1, and submissions made the way ODK
Collect makes them (``surveys.tests.factories``):

- a new household in A1 (王五, three members, a photo of the house): pending;
- a new survey of 张三 (A1) with other wages: pending;
- a new household in B1, sent by the county administrator: pending;
- a survey with an impossible age: refused, kept as invalid.
"""

from __future__ import annotations

import contextlib
import struct
import zlib
from dataclasses import dataclass
from decimal import Decimal

from propoor.areas.tests.factories import VILLAGE_B1
from propoor.core.errors import ApplicationError
from propoor.households.models import Household
from propoor.households.services import household_update
from propoor.surveys.models import ChangeRequest, Submission
from propoor.surveys.services import IncomingAttachment, submission_receive
from propoor.surveys.tests.factories import (
    household_submission,
    shipped_versions,
    three_members,
)
from propoor.web.tests.data import County, build_county

# Where village A1's houses stand (a hillside west of Kunming), 1e-5 degrees apart.
A1_ORIGIN = (Decimal("25.04000"), Decimal("102.71000"))
# The new household's GPS (HOUSEHOLD_ANSWERS["location"]), inside that spread.
GPS = (Decimal("25.041234"), Decimal("102.712346"))


def house_png(width: int = 240, height: int = 180) -> bytes:
    """A PNG of a house under a blue sky on green ground (a stand-in photo)."""

    def pixel(x: int, y: int) -> bytes:
        ground = height * 2 // 3
        left, right = width // 3, width * 2 // 3
        wall_top, roof_top = height * 2 // 5, height // 5
        if left <= x < right and wall_top <= y < ground:
            door = abs(x - width // 2) < width // 20 and y > ground - height // 6
            return b"\x6b\x4a\x2f" if door else b"\xd9\xc6\xa5"
        half = (right - left) // 2 + width // 20
        rise = (y - roof_top) * half // max(wall_top - roof_top, 1)
        if roof_top <= y < wall_top and abs(x - width // 2) <= rise:
            return b"\xa6\x1e\x22"
        if y >= ground:
            return b"\x5d\x9b\x4f"
        return b"\x9c\xc9\xea"

    rows = b"".join(
        b"\x00" + b"".join(pixel(x, y) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@dataclass
class SurveyCounty:
    county: County
    new_household: ChangeRequest  # 王五, new in A1, with a photo
    update: ChangeRequest  # 张三's survey of 2024, A1
    elsewhere: ChangeRequest  # a new household in B1
    invalid: Submission  # refused: a member aged 200


def place_households(county: County) -> None:
    """Give A1's households a location, spread over about 600 m x 400 m."""
    households = Household.objects.filter(village_id="530102001001").order_by("pk")
    for n, household in enumerate(households):
        household_update(
            actor=county.admin,
            household=household,
            latitude=A1_ORIGIN[0] + Decimal(n % 5 * 90 + n % 3 * 17) / 100_000,
            longitude=A1_ORIGIN[1] + Decimal(n // 5 * 130 + n % 4 * 23) / 100_000,
        )


def update_of(cadre, household: Household, **answers: str) -> ChangeRequest:  # type: ignore[no-untyped-def]
    """A 2024 survey of a registered household (its members unchanged)."""
    xml = household_submission(
        members=[],
        new_household="no",
        household_number=household.number,
        size=str(household.members.filter(active=True).count()),
        school_age_children="0",
        members_ill_or_disabled="0",
        **answers,
    )
    return submission_receive(user=cadre, xml=xml).submission.change


def build_survey_county(*, extra: int = 0) -> SurveyCounty:
    county = build_county(extra=extra)
    shipped_versions()
    place_households(county)
    cadre = county.cadre_a1
    new = submission_receive(
        user=cadre,
        xml=household_submission(house_photo="house.png"),
        attachments=[IncomingAttachment("house.png", "image/png", house_png())],
    ).submission.change
    update = update_of(cadre, county.poor, income_wages="5200", has_tv="no")
    elsewhere = submission_receive(
        user=county.admin,
        xml=household_submission(village_code=VILLAGE_B1, head_name="郑十"),
    ).submission.change
    members = three_members()
    members[2] = {**members[2], "age": "200"}
    with contextlib.suppress(ApplicationError):  # refused, and kept as invalid
        submission_receive(user=cadre, xml=household_submission(members=members))
    invalid = Submission.objects.get(status="invalid")
    return SurveyCounty(
        county=county,
        new_household=new,
        update=update,
        elsewhere=elsewhere,
        invalid=invalid,
    )
