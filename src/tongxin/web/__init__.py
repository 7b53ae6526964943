"""Web layer: app factory, dependencies, templates and static files."""
