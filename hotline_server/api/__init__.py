"""HTTP routers of the core server (everything under /api/v1)."""
