"""Back office for the division tree, scoped to the staff member's area."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from propoor.accounts.scope import scope_of
from propoor.areas.models import Division, VillageProfile


@admin.register(Division)
class DivisionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "level", "parent", "western")
    list_filter = ("level", "western")
    search_fields = ("code", "name", "name_en")
    raw_id_fields = ("parent",)
    readonly_fields = ("prefix",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Division]:
        scope = scope_of(request.user)  # type: ignore[arg-type]
        return super().get_queryset(request).filter(scope.q("code"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        # New divisions go through areas.services.division_create (checked codes).
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Division | None = None
    ) -> bool:
        return False

    def get_readonly_fields(
        self, request: HttpRequest, obj: Division | None = None
    ) -> tuple[str, ...]:
        return ("code", "level", "parent", "prefix")


@admin.register(VillageProfile)
class VillageProfileAdmin(admin.ModelAdmin):
    list_display = (
        "village",
        "terrain",
        "broadband",
        "mobile_4g",
        "has_service_station",
        "has_logistics_point",
        "population",
    )
    list_filter = ("terrain", "broadband", "mobile_4g", "has_service_station")
    search_fields = ("village__code", "village__name")
    raw_id_fields = ("village",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[VillageProfile]:
        scope = scope_of(request.user)  # type: ignore[arg-type]
        return (
            super()
            .get_queryset(request)
            .select_related("village")
            .filter(scope.q("village__code"))
        )
