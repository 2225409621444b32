"""Back office for users and tokens, scoped: a non-superuser sees the users whose
scope lies inside their own; token digests are never shown."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

from propoor.accounts.models import ApiToken, User
from propoor.accounts.scope import scope_of


def _users_in_scope(request: HttpRequest, users: QuerySet[User]) -> QuerySet[User]:
    user = request.user
    if user.is_superuser:
        return users
    scope = scope_of(user)  # type: ignore[arg-type]
    return users.filter(scope.q("scopes__code")).distinct()


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "role", "is_active", "is_staff", "household")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")
    filter_horizontal = ("scopes", "groups", "user_permissions")
    raw_id_fields = ("household",)
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("ProPoor", {"fields": ("role", "scopes", "household")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return _users_in_scope(request, super().get_queryset(request))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "created", "last_used")
    search_fields = ("name", "user__username")
    fields = ("user", "name", "created", "last_used")
    readonly_fields = ("user", "name", "created", "last_used")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # tokens are issued through the API client or the CLI

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        tokens = super().get_queryset(request).select_related("user")
        if request.user.is_superuser:
            return tokens
        return tokens.filter(user__in=_users_in_scope(request, User.objects.all()))
