"""offline_cache package."""
