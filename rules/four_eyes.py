"""R-4EYES: segregation of duties, the one policy consulted before every completion, approval,
override and payment release.

- nobody acts on a file of an organisation they declared a conflict of interest with
  [``CONFLICT_OF_INTEREST``];
- whoever validated the evidence cannot approve the payment [``VALIDATOR_CANNOT_APPROVE``];
- whoever approved a payment cannot release the bank batch [``APPROVER_CANNOT_RELEASE``];
- an override is approved by a second person, not by whoever proposed it
  [``OVERRIDE_NEEDS_SECOND_PERSON``].

The caller records the refusal in the audit trail; the messages are sentences for the person refused.
"""
from __future__ import annotations

from dataclasses import dataclass

from rules.errors import RuleInputError
from rules.explain import Decision, Reason

ACTIONS = frozenset({"complete_task", "validate_evidence", "approve_payment", "approve_override",
                     "release_batch", "verify_bank_details", "cancel_exchange", "sign_commitment_partnership"})


@dataclass(frozen=True)
class ActionContext:
    """Who wants to do what, on which file, and who did the earlier steps."""

    action: str
    actor_id: int
    file_org_ids: frozenset[int] = frozenset()
    actor_conflicts: frozenset[int] = frozenset()
    evidence_validators: frozenset[int] = frozenset()
    payment_approvers: frozenset[int] = frozenset()
    override_proposers: frozenset[int] = frozenset()
    org_names: tuple[tuple[int, str], ...] = ()  # (id, name) of the file's organisations, for the reasons
    partnership_signers: frozenset[int] = frozenset()  # who signed the Commitment for a partnership already


def check_action(ctx: ActionContext) -> Decision:
    """Whether the actor may do the action; every rule the action would break is listed."""
    if ctx.action not in ACTIONS:
        raise RuleInputError("action", f"{ctx.action!r} is not an action (actions: {', '.join(sorted(ACTIONS))})")
    actor = ctx.actor_id
    inputs = {"action": ctx.action, "actor_id": actor, "file_org_ids": frozenset(ctx.file_org_ids),
              "actor_conflicts": frozenset(ctx.actor_conflicts),
              "evidence_validators": frozenset(ctx.evidence_validators),
              "payment_approvers": frozenset(ctx.payment_approvers),
              "override_proposers": frozenset(ctx.override_proposers),
              "partnership_signers": frozenset(ctx.partnership_signers)}
    reasons: list[Reason] = []
    conflicts = sorted(frozenset(ctx.actor_conflicts) & frozenset(ctx.file_org_ids))
    if conflicts:
        names = dict(ctx.org_names)
        listed = ", ".join(f"{names[org]} (organisation {org})" if org in names else f"organisation {org}"
                           for org in conflicts)
        reasons.append(Reason("CONFLICT_OF_INTEREST",
                              f"You declared a conflict of interest with {listed}, which is "
                              "part of this file; another officer must act on it.",
                              {"organisations": conflicts}))
    if ctx.action == "approve_payment" and actor in ctx.evidence_validators:
        reasons.append(Reason("VALIDATOR_CANNOT_APPROVE",
                              "You validated the evidence of this claim, so you cannot also approve its "
                              "payment; a second officer must approve it.", {"actor_id": actor}))
    if ctx.action == "release_batch" and actor in ctx.payment_approvers:
        reasons.append(Reason("APPROVER_CANNOT_RELEASE",
                              "You approved a payment in this batch, so you cannot release the batch to "
                              "the bank; another finance user must release it.", {"actor_id": actor}))
    if ctx.action == "approve_override" and actor in ctx.override_proposers:
        reasons.append(Reason("OVERRIDE_NEEDS_SECOND_PERSON",
                              "You proposed this override, so you cannot approve it; a second person "
                              "must approve it.", {"actor_id": actor}))
    if ctx.action == "sign_commitment_partnership" and actor in ctx.partnership_signers:
        reasons.append(Reason("SAME_OFFICER_SIGNS_TWICE",
                              "You already signed this Commitment to Quality for the other partnership; the "
                              "two partnership signatures must come from two different officers.",
                              {"actor_id": actor}))
    return Decision.of(reasons, inputs)
