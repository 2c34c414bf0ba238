"""Stand-in ``__main__`` for spawned workers (see :func:`auditor.startup.light_main`): imports nothing."""
