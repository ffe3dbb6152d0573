"""Programme rules: pure functions over versioned rule-set data (SPEC §3).

No database, no network, no clock of their own: dates come in as arguments. Every decision returns
its result and its explanation (reason codes, inputs, counted and excluded dates).

Modules: `errors` (RuleInputError), `explain` (Reason, Decision), `ruleset` (versioned RuleSet),
`eligibility` (R-ELIG), `working_days` (R-DAYS), `duration` (R-DUR), `grant` (R-GRANT), `budget`
(R-BUDGET), `matching` (R-MATCH), `four_eyes` (R-4EYES). Import them directly; this package imports
nothing so that the command line stays fast.
"""
