"""Jinja2 templates (a package only so that installs ship the *.j2 files)."""
