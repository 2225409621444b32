"""Back office for training: the curriculum is data (``propoor training install``), so
courses and lessons are read-only here, except a lesson's video, which a county
administrator uploads (MP4 or WebM, at most 50 MB; phones stream it from the lesson)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext as _

from propoor.accounts.models import Role
from propoor.training.models import Course, Lesson

VIDEO_TYPES = {".mp4": b"ftyp", ".webm": b"\x1aE\xdf\xa3"}
VIDEO_MAX = 50 * 1024 * 1024


def _county_admin(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active
        and (user.is_superuser or getattr(user, "role", "") == Role.COUNTY_ADMIN)
    )


class LessonVideoForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Lesson
        fields = ("video",)

    def clean_video(self):  # type: ignore[no-untyped-def]
        video = self.cleaned_data.get("video")
        if not video or not hasattr(video, "read"):
            return video
        name = video.name.lower()
        suffix = next((s for s in VIDEO_TYPES if name.endswith(s)), None)
        if suffix is None:
            raise forms.ValidationError(_("Upload an MP4 or WebM video."))
        if video.size > VIDEO_MAX:
            raise forms.ValidationError(_("A lesson video may be at most 50 MB."))
        head = video.read(16)
        video.seek(0)
        if VIDEO_TYPES[suffix] not in head:
            raise forms.ValidationError(_("The file is not a real MP4 or WebM video."))
        return video


class CurriculumAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_module_permission(self, request: HttpRequest) -> bool:
        return _county_admin(request)

    def has_view_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return _county_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return False


@admin.register(Course)
class CourseAdmin(CurriculumAdmin):
    list_display = ("code", "title_zh", "title_en", "version", "core", "published")


@admin.register(Lesson)
class LessonAdmin(CurriculumAdmin):
    form = LessonVideoForm
    list_display = ("course", "order", "slug", "title_zh", "minutes", "video")
    list_filter = ("course",)
    readonly_fields = ("course", "slug", "title_zh", "title_en", "minutes")
    fields = ("course", "slug", "title_zh", "title_en", "minutes", "video")

    def has_change_permission(
        self, request: HttpRequest, obj: Model | None = None
    ) -> bool:
        return _county_admin(request)
