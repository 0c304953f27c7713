"""``python -m hotline_server`` is the ``hotline-server`` command."""

from hotline_server.cli import main

if __name__ == "__main__":
    main()
