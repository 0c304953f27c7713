"""agent_tui package."""
