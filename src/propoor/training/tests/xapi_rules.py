"""The required-field rules of xAPI 1.0.3 (Part Two, §2.4), as a checker for tests.

Only what the specification makes a MUST for a statement an LRS accepts; each violation
is returned as a string naming the field, so a failing test says what is wrong.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
ISO8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
TOP = {
    "id",
    "actor",
    "verb",
    "object",
    "result",
    "context",
    "timestamp",
    "stored",
    "authority",
    "version",
    "attachments",
}


def _iri(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parsed = urlparse(value)
    return bool(parsed.scheme) and bool(parsed.netloc or parsed.path)


def _language_map(value: object, where: str, errors: list[str]) -> None:
    if not isinstance(value, dict) or not value:
        errors.append(f"{where} must be a non-empty language map")
        return
    for tag, text in value.items():
        if not LANGUAGE_TAG.match(tag) or not isinstance(text, str):
            errors.append(f"{where}[{tag!r}] is not a language tag → string")


def _agent(agent: object, where: str, errors: list[str]) -> None:
    if not isinstance(agent, dict):
        errors.append(f"{where} must be an object")
        return
    if agent.get("objectType", "Agent") != "Agent":
        errors.append(f"{where}.objectType must be Agent")
    ifis = [k for k in IFIS if k in agent]
    if len(ifis) != 1:
        errors.append(f"{where} must have exactly one inverse functional identifier")
    account = agent.get("account")
    if account is not None:
        if not isinstance(account, dict) or set(account) != {"homePage", "name"}:
            errors.append(f"{where}.account must have exactly homePage and name")
        else:
            if not _iri(account["homePage"]) or not account["homePage"].startswith(
                "http"
            ):
                errors.append(f"{where}.account.homePage must be an IRL")
            if not isinstance(account["name"], str) or not account["name"]:
                errors.append(f"{where}.account.name must be a non-empty string")


def _activity(obj: dict[str, Any], where: str, errors: list[str]) -> None:
    if not _iri(obj.get("id")):
        errors.append(f"{where}.id must be an IRI")
    definition = obj.get("definition")
    if definition is not None:
        if "name" in definition:
            _language_map(definition["name"], f"{where}.definition.name", errors)
        if "type" in definition and not _iri(definition["type"]):
            errors.append(f"{where}.definition.type must be an IRI")


def check(statement: dict[str, Any], *, stored: bool = True) -> list[str]:
    errors: list[str] = []
    unknown = set(statement) - TOP
    if unknown:
        errors.append(f"unknown top-level properties {sorted(unknown)}")
    for field in ("actor", "verb", "object"):
        if field not in statement:
            errors.append(f"{field} is required")
    try:
        if uuid.UUID(statement.get("id", "")).version != 4:
            errors.append("id should be a UUID v4")
    except (ValueError, TypeError, AttributeError):
        errors.append("id must be a UUID")
    _agent(statement.get("actor"), "actor", errors)
    verb = statement.get("verb") or {}
    if not _iri(verb.get("id")):
        errors.append("verb.id must be an IRI")
    if "display" in verb:
        _language_map(verb["display"], "verb.display", errors)
    obj = statement.get("object") or {}
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        _activity(obj, "object", errors)
    elif kind == "StatementRef":
        try:
            uuid.UUID(obj.get("id", ""))
        except (ValueError, TypeError, AttributeError):
            errors.append("object.id of a StatementRef must be a UUID")
        if set(obj) != {"objectType", "id"}:
            errors.append("a StatementRef has exactly objectType and id")
    else:
        errors.append(f"object.objectType {kind!r} not used by ProPoor")
    if (
        verb.get("id") == "http://adlnet.gov/expapi/verbs/voided"
        and kind != "StatementRef"
    ):
        errors.append("a voiding statement's object must be a StatementRef")
    result = statement.get("result")
    if result is not None:
        score = result.get("score")
        if score is not None:
            scaled = score.get("scaled")
            if scaled is not None and not -1 <= scaled <= 1:
                errors.append("result.score.scaled must be within [-1, 1]")
            low, high, raw = score.get("min"), score.get("max"), score.get("raw")
            if low is not None and high is not None and low > high:
                errors.append("result.score.min must not exceed max")
            if raw is not None and (
                (low is not None and raw < low) or (high is not None and raw > high)
            ):
                errors.append("result.score.raw must be within [min, max]")
        for flag in ("success", "completion"):
            if flag in result and not isinstance(result[flag], bool):
                errors.append(f"result.{flag} must be a boolean")
    context = statement.get("context")
    if context is not None:
        if "registration" in context:
            try:
                uuid.UUID(context["registration"])
            except (ValueError, TypeError):
                errors.append("context.registration must be a UUID")
        if "instructor" in context:
            _agent(context["instructor"], "context.instructor", errors)
        for key, activities in (context.get("contextActivities") or {}).items():
            if key not in ("parent", "grouping", "category", "other"):
                errors.append(f"context.contextActivities.{key} is not allowed")
            for i, act in enumerate(
                activities if isinstance(activities, list) else [activities]
            ):
                _activity(act, f"context.contextActivities.{key}[{i}]", errors)
        if "language" in context and not LANGUAGE_TAG.match(context["language"]):
            errors.append("context.language must be a language tag")
        if kind == "StatementRef" and ("revision" in context or "platform" in context):
            errors.append("revision/platform only with an Activity object")
    for field in ("timestamp", "stored") if stored else ("timestamp",):
        value = statement.get(field)
        if value is None:
            if field == "stored":
                errors.append(
                    "stored is set by the LRS and must be present in an export"
                )
            continue
        if not isinstance(value, str) or not ISO8601.match(value):
            errors.append(f"{field} must be an ISO 8601 time with a zone")
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    if statement.get("version", "1.0.3").split(".")[:2] != ["1", "0"]:
        errors.append("version must be 1.0.x")
    return errors
