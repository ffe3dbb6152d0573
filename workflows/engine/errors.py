"""Engine errors, importable without SpiffWorkflow (the CLI catches them on every command)."""


class DefinitionError(ValueError):
    """A BPMN file that cannot be deployed: malformed, or naming unbound services or forms."""
