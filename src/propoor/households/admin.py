"""Back office for the registry: scoped, read-only, ID numbers masked.

Registry changes go through the services (validated, audited), so the admin only
shows households and what hangs off them. An ID number's cipher and hash are never
displayed, only its mask. The intervention catalogue is the one editable model.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from propoor.accounts.models import REGISTRY_READERS
from propoor.accounts.scope import scope_of
from propoor.households.models import (
    Household,
    IdentificationResult,
    IdentificationRun,
    IdentificationStandard,
    Intervention,
    Member,
    PlanItem,
    Snapshot,
    StatusChange,
    SupportPlan,
)


class ReadOnlyScopedAdmin(admin.ModelAdmin):
    """View-only, filtered to the staff member's area by ``scope_field``."""

    scope_field = "household__village__code"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Model]:
        scope = scope_of(request.user)  # type: ignore[arg-type]
        return super().get_queryset(request).filter(scope.q(self.scope_field))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _reads_registry(request)

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return _reads_registry(request)

    def has_add_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False


def _reads_registry(request: HttpRequest) -> bool:
    """Staff of the registry-reading roles see their scope; the role decides."""
    user = request.user
    if not user.is_active or not user.is_staff:
        return False
    return user.is_superuser or getattr(user, "role", None) in REGISTRY_READERS


MEMBER_FIELDS = (
    "name",
    "id_masked",
    "relation",
    "sex",
    "birth_date",
    "labour",
    "health",
    "schooling",
    "in_school",
    "skills",
    "active",
    "removed_reason",
)


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows rows and never adds, changes or deletes them."""

    extra = 0
    can_delete = False

    def has_add_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False


class MemberInline(ReadOnlyInline):
    model = Member
    fields = MEMBER_FIELDS
    readonly_fields = MEMBER_FIELDS


class StatusChangeInline(ReadOnlyInline):
    model = StatusChange
    fields = ("at", "old_status", "new_status", "by", "reason")
    readonly_fields = fields


@admin.register(Household)
class HouseholdAdmin(ReadOnlyScopedAdmin):
    scope_field = "village__code"
    list_display = ("number", "head_name", "village", "category", "status")
    list_filter = ("status", "category", "main_cause")
    search_fields = ("number", "head_name")
    list_select_related = ("village",)
    inlines = (MemberInline, StatusChangeInline)


@admin.register(Member)
class MemberAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "id_masked", "household", "relation", "sex", "active")
    list_filter = ("relation", "sex", "labour", "health", "active")
    search_fields = ("name", "household__number")
    list_select_related = ("household",)
    fields = ("household", *MEMBER_FIELDS)
    readonly_fields = fields


@admin.register(Snapshot)
class SnapshotAdmin(ReadOnlyScopedAdmin):
    list_display = ("household", "year", "size", "surveyed_on", "surveyed_by")
    list_filter = ("year",)
    search_fields = ("household__number",)
    list_select_related = ("household", "surveyed_by")


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyScopedAdmin):
    list_display = ("household", "old_status", "new_status", "at", "by")
    list_filter = ("new_status",)
    search_fields = ("household__number",)


@admin.register(IdentificationStandard)
class IdentificationStandardAdmin(ReadOnlyScopedAdmin):
    list_display = ("name", "version", "title", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Model]:
        return admin.ModelAdmin.get_queryset(self, request)


@admin.register(IdentificationRun)
class IdentificationRunAdmin(ReadOnlyScopedAdmin):
    scope_field = "area__code"
    list_display = (
        "pk",
        "standard",
        "area",
        "year",
        "started_at",
        "households",
        "poor",
    )
    list_filter = ("year",)


@admin.register(IdentificationResult)
class IdentificationResultAdmin(ReadOnlyScopedAdmin):
    list_display = ("household", "run", "year", "poor", "exit_ok", "is_latest")
    list_filter = ("year", "poor", "is_latest")
    search_fields = ("household__number",)


@admin.register(SupportPlan)
class SupportPlanAdmin(ReadOnlyScopedAdmin):
    list_display = ("household", "year", "status", "approved_by", "approved_at")
    list_filter = ("year", "status")
    search_fields = ("household__number",)


@admin.register(PlanItem)
class PlanItemAdmin(ReadOnlyScopedAdmin):
    scope_field = "plan__household__village__code"
    list_display = ("plan", "rank", "intervention", "status", "deadline", "budget")
    list_filter = ("status",)


@admin.register(Intervention)
class InterventionAdmin(admin.ModelAdmin):
    list_display = ("code", "kind", "name", "typical_cost", "duration_months", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name", "name_en")
