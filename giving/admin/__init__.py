"""Admin pages: the campaign review queue, freezing, and roles."""
