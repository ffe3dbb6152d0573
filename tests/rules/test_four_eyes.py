"""R-4EYES: one policy for segregation of duties."""
from __future__ import annotations

import pytest

from rules.errors import RuleInputError
from rules.four_eyes import ActionContext, check_action


def test_an_officer_without_conflicts_may_complete_a_task():
    decision = check_action(ActionContext("complete_task", actor_id=1, file_org_ids=frozenset({10, 20})))
    assert decision.ok and decision.codes == []


def test_nobody_acts_on_a_file_of_an_organisation_they_declared_a_conflict_with():
    ctx = ActionContext("validate_evidence", actor_id=1, file_org_ids=frozenset({10, 20}),
                        actor_conflicts=frozenset({20, 99}))
    decision = check_action(ctx)
    assert decision.codes == ["CONFLICT_OF_INTEREST"]
    assert decision.reasons[0].details["organisations"] == [20]
    assert "conflict of interest with organisation 20" in decision.reasons[0].message


def test_a_conflict_with_an_organisation_outside_the_file_does_not_matter():
    ctx = ActionContext("approve_payment", actor_id=1, file_org_ids=frozenset({10}),
                        actor_conflicts=frozenset({99}))
    assert check_action(ctx).ok


def test_the_evidence_validator_cannot_approve_the_payment():
    ctx = ActionContext("approve_payment", actor_id=5, evidence_validators=frozenset({5}))
    decision = check_action(ctx)
    assert decision.codes == ["VALIDATOR_CANNOT_APPROVE"]
    assert decision.reasons[0].message.startswith("You validated the evidence")
    assert check_action(ActionContext("approve_payment", actor_id=6, evidence_validators=frozenset({5}))).ok


def test_the_payment_approver_cannot_release_the_bank_batch():
    decision = check_action(ActionContext("release_batch", actor_id=5, payment_approvers=frozenset({5, 7})))
    assert decision.codes == ["APPROVER_CANNOT_RELEASE"]
    assert check_action(ActionContext("release_batch", actor_id=6, payment_approvers=frozenset({5, 7}))).ok


def test_an_override_needs_a_second_person():
    decision = check_action(ActionContext("approve_override", actor_id=3, override_proposers=frozenset({3})))
    assert decision.codes == ["OVERRIDE_NEEDS_SECOND_PERSON"]
    assert check_action(ActionContext("approve_override", actor_id=4, override_proposers=frozenset({3}))).ok


def test_roles_only_conflict_for_the_action_they_concern():
    # Having validated evidence does not stop someone from releasing a batch (other rules do).
    ctx = ActionContext("release_batch", actor_id=5, evidence_validators=frozenset({5}))
    assert check_action(ctx).ok


def test_every_broken_rule_is_listed():
    ctx = ActionContext("approve_payment", actor_id=5, file_org_ids=frozenset({1}),
                        actor_conflicts=frozenset({1}), evidence_validators=frozenset({5}))
    assert check_action(ctx).codes == ["CONFLICT_OF_INTEREST", "VALIDATOR_CANNOT_APPROVE"]


def test_the_decision_serialises_for_the_audit_trail():
    document = check_action(ActionContext("release_batch", actor_id=5, payment_approvers=frozenset({5}))).to_dict()
    assert document["ok"] is False
    assert document["inputs"]["payment_approvers"] == [5]
    assert document["reasons"][0]["code"] == "APPROVER_CANNOT_RELEASE"


def test_an_unknown_action_is_refused():
    with pytest.raises(RuleInputError, match="action"):
        check_action(ActionContext("delete_everything", actor_id=1))
