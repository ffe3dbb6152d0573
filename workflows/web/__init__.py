"""The HTTP API (under /api) and the web workspace pages: thin entry points over workflows.services."""
