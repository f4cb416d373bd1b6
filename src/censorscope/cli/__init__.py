"""The ``censorscope`` command line: a thin layer that hands each subcommand to its package."""
