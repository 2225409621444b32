"""E-commerce training: courses, quizzes, enrolments, cohorts, certificates, records.

A course is installed from data (``curriculum/*.toml``); its quiz has a version that
goes up whenever a question changes, and an attempt records the version it answered,
so an offline attempt made against an old quiz is recognised when it syncs.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Bilingual:
    """``obj.t("title")`` picks ``title_zh`` or ``title_en`` for the active language."""

    def t(self, field: str) -> str:
        lang = get_language() or "zh-hans"
        suffix = "en" if lang.startswith("en") else "zh"
        value: str = getattr(self, f"{field}_{suffix}") or getattr(self, f"{field}_zh")
        return value


class CompletionRule(models.TextChoices):
    LESSONS_AND_QUIZ = "lessons_and_quiz", _("Every lesson read and the quiz passed")
    QUIZ = "quiz", _("The quiz passed")
    ATTENDANCE_AND_QUIZ = (
        "attendance_and_quiz",
        _("Sessions attended and the quiz passed"),
    )


class Course(Bilingual, models.Model):
    code = models.SlugField(max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    content_hash = models.CharField(max_length=64)
    core = models.BooleanField(
        default=False,
        help_text="Offered to every household whose plan includes training.",
    )
    interventions = models.JSONField(default=list, blank=True)
    causes = models.JSONField(default=list, blank=True)
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)
    summary_zh = models.TextField(blank=True)
    summary_en = models.TextField(blank=True)
    completion_rule = models.CharField(
        max_length=24,
        choices=CompletionRule.choices,
        default=CompletionRule.LESSONS_AND_QUIZ,
    )
    sessions_required = models.PositiveSmallIntegerField(default=0)
    published = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("order", "code")

    def __str__(self) -> str:
        return self.code


class Module(Bilingual, models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="modules")
    order = models.PositiveSmallIntegerField()
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)

    class Meta:
        ordering = ("course_id", "order")
        constraints = (
            models.UniqueConstraint(
                fields=("course", "order"), name="module_order_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.course_id}/{self.order}"


class Lesson(Bilingual, models.Model):
    module = models.ForeignKey(Module, on_delete=models.CASCADE, related_name="lessons")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    order = models.PositiveSmallIntegerField(help_text="Position in the course.")
    slug = models.SlugField(max_length=80)
    minutes = models.PositiveSmallIntegerField(default=5)
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)
    body_zh = models.TextField()
    body_en = models.TextField()
    video = models.FileField(upload_to="training/videos/", blank=True)

    class Meta:
        ordering = ("course_id", "order")
        constraints = (
            models.UniqueConstraint(
                fields=("course", "slug"), name="lesson_slug_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.course_id}/{self.slug}"


class Quiz(Bilingual, models.Model):
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="quiz")
    version = models.PositiveIntegerField(default=1)
    content_hash = models.CharField(max_length=64)
    title_zh = models.CharField(max_length=120)
    title_en = models.CharField(max_length=120)
    pass_mark = models.PositiveSmallIntegerField(
        help_text="Percent of the points, 1–100."
    )

    def __str__(self) -> str:
        return f"quiz {self.course_id} v{self.version}"


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "truefalse", _("True or false")


class Question(Bilingual, models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    key = models.CharField(
        max_length=8, help_text="Stable within a quiz version: q1, q2…"
    )
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    points = models.PositiveSmallIntegerField(default=1)
    text_zh = models.TextField()
    text_en = models.TextField()
    explanation_zh = models.TextField(blank=True)
    explanation_en = models.TextField(blank=True)

    class Meta:
        ordering = ("quiz_id", "order")
        constraints = (
            models.UniqueConstraint(fields=("quiz", "key"), name="question_key_unique"),
        )

    def __str__(self) -> str:
        return f"{self.quiz_id}/{self.key}"


class Choice(Bilingual, models.Model):
    question = models.ForeignKey(
        Question, on_delete=models.CASCADE, related_name="choices"
    )
    key = models.CharField(max_length=4, help_text="a, b, c… (true/false: t, f)")
    order = models.PositiveSmallIntegerField()
    text_zh = models.CharField(max_length=300)
    text_en = models.CharField(max_length=300)
    correct = models.BooleanField(default=False)

    class Meta:
        ordering = ("question_id", "order")
        constraints = (
            models.UniqueConstraint(
                fields=("question", "key"), name="choice_key_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.question_id}/{self.key}"


class Cohort(models.Model):
    """Learners who meet a trainer in person, at a station or a village hall."""

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="cohorts")
    name = models.CharField(max_length=120)
    area = models.ForeignKey(
        "areas.Division",
        on_delete=models.PROTECT,
        related_name="cohorts",
        help_text="The village or township whose households it serves.",
    )
    venue = models.CharField(max_length=200)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cohorts"
    )
    capacity = models.PositiveSmallIntegerField()
    starts_on = models.DateField()
    ends_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-starts_on", "id")

    def __str__(self) -> str:
        return self.name


class TrainingSession(models.Model):
    cohort = models.ForeignKey(
        Cohort, on_delete=models.CASCADE, related_name="sessions"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    topic = models.CharField(max_length=200, blank=True)
    checkin_token = models.CharField(max_length=32, unique=True)

    class Meta:
        ordering = ("starts_at", "id")

    def __str__(self) -> str:
        return f"{self.cohort_id}@{self.starts_at:%Y-%m-%d %H:%M}"


class EnrolmentSource(models.TextChoices):
    PLAN = "plan", _("Support plan")
    TRAINER = "trainer", _("Trainer")
    SELF = "self", _("Self")


class EnrolmentStatus(models.TextChoices):
    INVITED = "invited", _("Invited")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Course completed")


class Enrolment(models.Model):
    """A household's place in a course (one per household and course)."""

    course = models.ForeignKey(
        Course, on_delete=models.PROTECT, related_name="enrolments"
    )
    household = models.ForeignKey(
        "households.Household", on_delete=models.CASCADE, related_name="enrolments"
    )
    cohort = models.ForeignKey(
        Cohort,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrolments",
    )
    plan_item = models.ForeignKey(
        "households.PlanItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrolments",
    )
    source = models.CharField(max_length=10, choices=EnrolmentSource.choices)
    reason = models.CharField(max_length=300, blank=True)
    reason_en = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=12, choices=EnrolmentStatus.choices, default=EnrolmentStatus.INVITED
    )
    registration = models.UUIDField(default=uuid.uuid4, unique=True)
    invited_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    quiz_passed_at = models.DateTimeField(null=True, blank=True)
    best_percent = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("course__order", "household_id")
        constraints = (
            models.UniqueConstraint(
                fields=("course", "household"),
                name="one_enrolment_per_course_household",
            ),
        )
        indexes = (models.Index(fields=("household", "status")),)

    def __str__(self) -> str:
        return f"{self.course_id}:{self.household_id}"


class Mode(models.TextChoices):
    ONLINE = "online", _("Online")
    OFFLINE = "offline", _("Offline, synced later")


class LessonProgress(models.Model):
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="progress"
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="+")
    completed_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.ONLINE)

    class Meta:
        ordering = ("enrolment_id", "lesson__order")
        constraints = (
            models.UniqueConstraint(
                fields=("enrolment", "lesson"), name="lesson_done_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.enrolment_id}/{self.lesson_id}"


class AttemptStatus(models.TextChoices):
    GRADED = "graded", _("Graded")
    STALE = "stale", _("Answered an older version of the quiz; not counted")


class QuizAttempt(models.Model):
    """One submitted attempt. ``attempt_id`` is made by the client, so a resend is a no-
    op.
    """

    attempt_id = models.UUIDField(unique=True)
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="attempts"
    )
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    quiz_version = models.PositiveIntegerField()
    answers = models.JSONField()
    answers_digest = models.CharField(max_length=64)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(
        help_text="When the learner finished (client clock, bounded)."
    )
    received_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=8, choices=AttemptStatus.choices)
    score = models.PositiveIntegerField(default=0)
    max_score = models.PositiveIntegerField(default=0)
    percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    passed = models.BooleanField(default=False)
    per_question = models.JSONField(default=dict, help_text="key → points earned")

    class Meta:
        ordering = ("-finished_at", "-id")
        indexes = (models.Index(fields=("enrolment", "status")),)

    def __str__(self) -> str:
        return str(self.attempt_id)


class AttendanceMethod(models.TextChoices):
    QR = "qr", _("QR check-in")
    ROLL_CALL = "roll_call", _("Trainer's roll call")


class Attendance(models.Model):
    session = models.ForeignKey(
        TrainingSession, on_delete=models.CASCADE, related_name="attendance"
    )
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.CASCADE, related_name="attendance"
    )
    method = models.CharField(max_length=10, choices=AttendanceMethod.choices)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("session_id", "enrolment_id")
        constraints = (
            models.UniqueConstraint(
                fields=("session", "enrolment"), name="attend_once"
            ),
        )

    def __str__(self) -> str:
        return f"{self.session_id}/{self.enrolment_id}"


class Certificate(models.Model):
    enrolment = models.OneToOneField(
        Enrolment, on_delete=models.PROTECT, related_name="certificate"
    )
    code = models.CharField(max_length=24, unique=True)
    issued_on = models.DateField(help_text="The day the completion rule was met.")
    issued_at = models.DateTimeField(auto_now_add=True)
    issuer = models.CharField(max_length=200)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ("-issued_on", "code")

    def __str__(self) -> str:
        return self.code


class Statement(models.Model):
    """An xAPI 1.0.3 statement, kept as sent; corrections void earlier ones."""

    id = models.UUIDField(primary_key=True)
    enrolment = models.ForeignKey(
        Enrolment,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="statements",
    )
    verb = models.CharField(max_length=200)
    object_id = models.CharField(max_length=300)
    timestamp = models.DateTimeField()
    stored = models.DateTimeField(auto_now_add=True)
    voided = models.BooleanField(default=False)
    body = models.JSONField()

    class Meta:
        ordering = ("stored", "id")

    def __str__(self) -> str:
        return f"{self.verb} {self.object_id}"
