"""Email templates: <name>.subject.j2, <name>.txt.j2 and <name>.html.j2 per notification."""
