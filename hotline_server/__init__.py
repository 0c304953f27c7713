"""hotline_server package."""
