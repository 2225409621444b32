from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "propoor.training"
    label = "training"
    verbose_name = "Training"

    def ready(self) -> None:
        from propoor.households.signals import plan_approved

        plan_approved.connect(
            _invite_from_plan, dispatch_uid="training.invite_from_plan"
        )


def _invite_from_plan(
    sender: object, plan: Any, actor: object = None, **kwargs: object
) -> None:
    """An approved plan with a training item invites the household to its courses."""
    from propoor.training.services import enrol_from_plan

    enrol_from_plan(plan, actor=actor)
