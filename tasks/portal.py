"""Where an email's link takes the person who acts (SPEC §9, §13): a path on the workspace that the
outbox makes absolute (`portal_path` in an email's context → `portal_url`, workflows/services/outbox_delivery).

A process queues its email before the task it announces exists (or while it is being created), so the
link names what to open — the subject and the task — rather than a task id: `/my/act` opens that task
when it waits for the signed-in person, else the subject's own page (`workflows/services/my_pages.where_to_act`)."""
from __future__ import annotations

from urllib.parse import urlencode


def act_path(subject: str, task: str | None = None) -> str:
    """The link for `subject` (an exchange's reference EX-…, or "application:12"), opening the task with
    the BPMN id `task` when one is given and waiting."""
    query = {"subject": subject} | ({"task": task} if task else {})
    return "/my/act?" + urlencode(query)
