from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from propoor.core.money import MoneyField


class Cause(models.TextChoices):
    """The official causes of poverty (建档立卡)."""

    ILLNESS = "illness", _("Illness (因病)")
    DISABILITY = "disability", _("Disability (因残)")
    SCHOOLING = "schooling", _("Schooling costs (因学)")
    DISASTER = "disaster", _("Disaster (因灾)")
    LACK_LAND = "lack_land", _("Lack of land (缺土地)")
    LACK_WATER = "lack_water", _("Lack of water (缺水)")
    LACK_SKILLS = "lack_skills", _("Lack of skills (缺技术)")
    LACK_LABOUR = "lack_labour", _("Lack of labour (缺劳力)")
    LACK_CAPITAL = "lack_capital", _("Lack of capital (缺资金)")
    POOR_TRANSPORT = "poor_transport", _("Poor transport (交通条件落后)")
    LACK_DRIVE = "lack_drive", _("Lack of own drive (自身发展动力不足)")
    OTHER = "other", _("Other (其他)")


class Category(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary poor household")
    DIBAO = "dibao", _("Minimum-living-allowance household")
    TEKUN = "tekun", _("Extreme-poverty support household")


class Status(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    IDENTIFIED = "identified", _("Identified as poor")
    IN_PLAN = "in_plan", _("In a support plan")
    EXITED = "exited", _("Exited poverty")
    MONITORED = "monitored", _("Monitored")
    RETURNED = "returned", _("Returned to poverty")
    NOT_POOR = "not_poor", _("Not poor")


class Household(models.Model):
    number = models.CharField(max_length=20, unique=True)
    village = models.ForeignKey(
        "areas.Division", on_delete=models.PROTECT, related_name="households"
    )
    head_name = models.CharField(max_length=60)
    address = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True)
    category = models.CharField(
        max_length=10, choices=Category.choices, default=Category.ORDINARY
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.REGISTERED
    )
    main_cause = models.CharField(max_length=16, choices=Cause.choices, blank=True)
    second_cause = models.CharField(max_length=16, choices=Cause.choices, blank=True)
    third_cause = models.CharField(max_length=16, choices=Cause.choices, blank=True)
    latitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True
    )
    longitude = models.DecimalField(
        max_digits=8, decimal_places=5, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("number",)
        indexes = (models.Index(fields=["village", "status"]),)

    def __str__(self) -> str:
        return f"{self.number} {self.head_name}"


class StatusChange(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=12, choices=Status.choices)
    new_status = models.CharField(max_length=12, choices=Status.choices)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("at", "id")

    def __str__(self) -> str:
        return f"{self.household_id}: {self.old_status} -> {self.new_status}"


class Relation(models.TextChoices):
    HEAD = "head", _("Head")
    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    GRANDCHILD = "grandchild", _("Grandchild")
    SIBLING = "sibling", _("Sibling")
    OTHER = "other", _("Other")


class Sex(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class Labour(models.TextChoices):
    FULL = "full", _("Full labour")
    PARTIAL = "partial", _("Partial labour")
    NONE = "none", _("No labour capacity")
    STUDENT = "student", _("In school")


class Health(models.TextChoices):
    HEALTHY = "healthy", _("Healthy")
    CHRONIC = "chronic", _("Chronic illness")
    SERIOUS = "serious", _("Serious illness")
    DISABLED = "disabled", _("Disabled")


class Schooling(models.TextChoices):
    NONE = "none", _("No schooling")
    PRIMARY = "primary", _("Primary school")
    JUNIOR = "junior", _("Junior secondary")
    SENIOR = "senior", _("Senior secondary")
    COLLEGE = "college", _("College or above")


class Member(models.Model):
    """A household member. The ID number is never stored in clear."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(max_length=60)
    id_cipher = models.TextField(help_text="Fernet-encrypted resident ID number")
    # Keyed hash (HMAC-SHA256) of the ID number: catches one person registered twice.
    id_hash = models.CharField(max_length=64, unique=True)
    id_masked = models.CharField(max_length=18)
    relation = models.CharField(max_length=10, choices=Relation.choices)
    sex = models.CharField(max_length=6, choices=Sex.choices)
    birth_date = models.DateField()
    labour = models.CharField(max_length=8, choices=Labour.choices)
    health = models.CharField(max_length=8, choices=Health.choices)
    schooling = models.CharField(max_length=8, choices=Schooling.choices)
    in_school = models.BooleanField(default=False)
    skills = models.CharField(max_length=200, blank=True)
    # Members are removed softly: the row (and its ID hash) stays for the history.
    active = models.BooleanField(default=True)
    removed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ("household_id", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.id_masked})"


class HousingStructure(models.TextChoices):
    CONCRETE = "concrete", _("Reinforced concrete / brick-concrete")
    BRICK_WOOD = "brick_wood", _("Brick and wood")
    EARTH_WOOD = "earth_wood", _("Earth and wood")
    OTHER = "other", _("Other (makeshift)")


class HousingGrade(models.TextChoices):
    """Appraisal grade of dangerous-house surveys: C and D are unsafe."""

    A = "A", "A"
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"


class CookingFuel(models.TextChoices):
    ELECTRICITY = "electricity", _("Electricity")
    GAS = "gas", _("Gas (LPG, natural gas, biogas)")
    COAL = "coal", _("Coal")
    WOOD = "wood", _("Wood or straw")
    DUNG = "dung", _("Dung")


class Sanitation(models.TextChoices):
    FLUSH = "flush", _("Flush toilet")
    IMPROVED_PIT = "improved_pit", _("Improved pit latrine")
    UNIMPROVED = "unimproved", _("Unimproved latrine")
    NONE = "none", _("No toilet")


class Internet(models.TextChoices):
    NONE = "none", _("No internet")
    MOBILE = "mobile", _("Mobile data")
    BROADBAND = "broadband", _("Broadband")


class Experience(models.TextChoices):
    NONE = "none", _("Never used e-commerce")
    BOUGHT = "bought", _("Has bought online")
    SOLD = "sold", _("Has sold online")


def _nonneg() -> list[MinValueValidator]:
    return [MinValueValidator(0)]


class Snapshot(models.Model):
    """The yearly survey of one household: every indicator identification needs."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="snapshots"
    )
    year = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(2010), MaxValueValidator(2100)]
    )
    surveyed_on = models.DateField()
    surveyed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    size = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    # Income by source over the year, and production/operating costs.
    income_wages = MoneyField(validators=_nonneg())
    income_business = MoneyField(validators=_nonneg())
    income_property = MoneyField(validators=_nonneg())
    income_transfers = MoneyField(validators=_nonneg())
    income_ecommerce = MoneyField(
        validators=_nonneg(), help_text="Part of business income earned online"
    )
    costs = MoneyField(validators=_nonneg())
    spending_medical = MoneyField(validators=_nonneg())
    spending_disaster = MoneyField(validators=_nonneg())
    # Two no-worries.
    food_secure = models.BooleanField()
    clothing_secure = models.BooleanField()
    # Three guarantees.
    school_age_children = models.PositiveSmallIntegerField(default=0)
    children_out_of_school = models.PositiveSmallIntegerField(default=0)
    medical_insured = models.BooleanField(help_text="Every member has basic insurance")
    medical_care_access = models.BooleanField()
    housing_structure = models.CharField(
        max_length=12, choices=HousingStructure.choices
    )
    housing_grade = models.CharField(max_length=1, choices=HousingGrade.choices)
    safe_water = models.BooleanField()
    water_quality = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    wall_quality = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    electricity = models.BooleanField()
    cooking_fuel = models.CharField(max_length=12, choices=CookingFuel.choices)
    sanitation = models.CharField(max_length=12, choices=Sanitation.choices)
    # Health and education (global MPI).
    undernourished_member = models.BooleanField(default=False)
    child_death_5y = models.BooleanField(default=False)
    max_schooling_years = models.PositiveSmallIntegerField(default=0)
    # Assets.
    has_radio = models.BooleanField(default=False)
    has_tv = models.BooleanField(default=False)
    has_telephone = models.BooleanField(default=False)
    has_computer = models.BooleanField(default=False)
    has_bicycle = models.BooleanField(default=False)
    has_motorbike = models.BooleanField(default=False)
    has_refrigerator = models.BooleanField(default=False)
    has_car = models.BooleanField(default=False)
    # Land, in mu.
    land_cultivated = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    land_forest = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    land_orchard = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    land_pond = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    # Labour and people.
    labourers_full = models.PositiveSmallIntegerField(default=0)
    labourers_partial = models.PositiveSmallIntegerField(default=0)
    members_ill_or_disabled = models.PositiveSmallIntegerField(default=0)
    head_female = models.BooleanField(default=False)
    head_elderly = models.BooleanField(default=False)
    head_child = models.BooleanField(default=False)
    skills = models.JSONField(default=list, blank=True)
    # Ability to sell.
    smartphones = models.PositiveSmallIntegerField(default=0)
    internet = models.CharField(max_length=10, choices=Internet.choices)
    km_to_road = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    km_to_market = models.DecimalField(max_digits=6, decimal_places=1, default=0)
    ecommerce_experience = models.CharField(max_length=8, choices=Experience.choices)
    # What the household wants: intervention codes, and its own words.
    wishes = models.JSONField(default=list, blank=True)
    wishes_note = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("household_id", "-year")
        constraints = (
            models.UniqueConstraint(
                fields=["household", "year"], name="one_snapshot_per_household_year"
            ),
        )

    def __str__(self) -> str:
        return f"{self.household_id} / {self.year}"

    @property
    def net_income(self):  # type: ignore[no-untyped-def]
        return (
            self.income_wages
            + self.income_business
            + self.income_property
            + self.income_transfers
            - self.costs
        )


class IdentificationStandard(models.Model):
    """A versioned identification standard; its definition is data (see kernel).

    Editing a standard makes a new version; runs keep pointing at the version they used.
    """

    name = models.CharField(max_length=60)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    definition = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ("name", "-version")
        constraints = (
            models.UniqueConstraint(
                fields=["name", "version"], name="standard_name_version_unique"
            ),
        )

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class IdentificationRun(models.Model):
    standard = models.ForeignKey(IdentificationStandard, on_delete=models.PROTECT)
    area = models.ForeignKey("areas.Division", on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    only_changed = models.BooleanField(default=False)
    households = models.PositiveIntegerField(default=0)
    computed = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    poor = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    # A later full run over this run's area (or a larger one) replaces all of its
    # results at once; its rows' is_latest flags are then not rewritten one by one.
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ("-started_at", "-id")

    def __str__(self) -> str:
        return f"run {self.pk} {self.standard} {self.area_id} {self.year}"


class ResultQuerySet(models.QuerySet["IdentificationResult"]):
    def current(self, standard_name: str | None = None) -> ResultQuerySet:
        """Each household's latest result per year under one standard.

        The official standard (``settings.PROPOOR_OFFICIAL_STANDARD``) by default. A
        result is current while it is the latest of its household in its run and its
        run has not been superseded by a later full run.
        """
        return self.filter(
            is_latest=True,
            run__superseded_by__isnull=True,
            run__standard__name=standard_name or settings.PROPOOR_OFFICIAL_STANDARD,
        )


class IdentificationResult(models.Model):
    """One household's result in one run, with its explanation."""

    # No single-column indexes: Index(run, poor) and Index(household, is_latest)
    # below serve those lookups, and every bulk insert would pay for two more.
    run = models.ForeignKey(
        IdentificationRun,
        on_delete=models.CASCADE,
        related_name="results",
        db_index=False,
    )
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="results", db_index=False
    )
    year = models.PositiveSmallIntegerField()
    poor = models.BooleanField()
    per_capita_income = MoneyField()
    # None when the standard has no income line (e.g. the global MPI alone).
    income_line = MoneyField(null=True, blank=True, default=None)
    income_poor = models.BooleanField(null=True)
    guarantees_met = models.BooleanField(null=True)
    # Weighted deprivation score as an exact fraction "num/den".
    mpi_score = models.CharField(max_length=32, blank=True)
    mpi_poor = models.BooleanField(null=True)
    pmt_score = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    pmt_eligible = models.BooleanField(null=True)
    exit_ok = models.BooleanField()
    failed_conditions = models.JSONField(default=list)
    explanation = models.JSONField(default=dict)
    input_digest = models.CharField(max_length=64)
    is_latest = models.BooleanField(default=True)
    # Where the row is stored on PostgreSQL, where this table is partitioned by it:
    # 0 for the shared partition, the run's id for a bulk run that wrote its results
    # into a partition of its own (identification_io.results_write). Always 0 on
    # SQLite.
    batch = models.BigIntegerField(default=0, editable=False)

    objects = ResultQuerySet.as_manager()

    class Meta:
        ordering = ("-run_id",)
        indexes = (
            models.Index(fields=["household", "is_latest"]),
            models.Index(fields=["run", "poor"]),
        )

    def __str__(self) -> str:
        return f"{self.household_id} in run {self.run_id}: poor={self.poor}"


class Intervention(models.Model):
    """An entry of the catalogue of support measures."""

    class Kind(models.TextChoices):
        ECOMMERCE = "ecommerce", _("E-commerce onboarding")
        TRAINING = "training", _("E-commerce training")
        PRODUCTION = "production", _("Production project")
        TOURISM = "tourism", _("Rural tourism")
        CREDIT = "credit", _("Micro-credit")
        INSURANCE = "insurance", _("Insurance")
        EMPLOYMENT = "employment", _("Employment")
        EDUCATION = "education", _("Education support")
        RELOCATION = "relocation", _("Relocation")
        ECOLOGICAL = "ecological", _("Ecological jobs")
        SAFETY_NET = "safety_net", _("Social-security safety net")

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # How an e-commerce onboarding sells: own shop, cooperative or service station.
    channel = models.CharField(
        max_length=12,
        blank=True,
        choices=[
            ("own_shop", _("Own shop")),
            ("cooperative", _("Through a cooperative")),
            ("station", _("Through a service station")),
        ],
    )
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    description = models.CharField(max_length=400, blank=True)
    typical_cost = MoneyField()
    yearly_income_gain = MoneyField()
    responsible_office = models.CharField(max_length=100)
    duration_months = models.PositiveSmallIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ("kind", "code")

    def __str__(self) -> str:
        return self.code


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    CLOSED = "closed", _("Closed")


class SupportPlan(models.Model):
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="plans"
    )
    year = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-year", "-id")
        constraints = (
            models.UniqueConstraint(
                fields=["household", "year"], name="one_plan_per_household_year"
            ),
        )

    def __str__(self) -> str:
        return f"plan {self.household_id}/{self.year}"


class ItemStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    DROPPED = "dropped", _("Dropped")


class PlanItem(models.Model):
    plan = models.ForeignKey(
        SupportPlan, on_delete=models.CASCADE, related_name="items"
    )
    intervention = models.ForeignKey(Intervention, on_delete=models.PROTECT)
    rank = models.PositiveSmallIntegerField()
    score = models.DecimalField(max_digits=6, decimal_places=2)
    reason = models.CharField(max_length=400)
    reason_en = models.CharField(max_length=400, blank=True)
    status = models.CharField(
        max_length=12, choices=ItemStatus.choices, default=ItemStatus.PLANNED
    )
    deadline = models.DateField(null=True, blank=True)
    budget = MoneyField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("plan_id", "rank")

    def __str__(self) -> str:
        return f"{self.plan_id}#{self.rank} {self.intervention_id}"
