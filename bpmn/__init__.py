"""The process models (.bpmn files), shipped as package data.

This package holds no code: `workflows.engine.library` reads the files through
`importlib.resources.files("bpmn")`, so a wheel install finds them without a checkout.
"""
