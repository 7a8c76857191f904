"""Developer tools for PropDesk (run with `python -m tools.<name>`)."""
