"""Settlement's tasks."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from core.tasks import tenant_task
from settlement.closing import CLOSE_TASK, period_close_run


# Sent by settlement.closing.period_close_start once the period is claimed (closing); safe to run again.
@tenant_task(name=CLOSE_TASK, queue="long")
def close_period(period_id: int, actor_id: int | None = None) -> dict:
    actor = None if actor_id is None else get_user_model().objects.filter(pk=actor_id).first()
    return period_close_run(period_id=period_id, actor=actor)
