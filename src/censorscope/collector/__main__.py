"""``python -m censorscope.collector`` = ``censorscope collector``."""

from censorscope.collector.cli import collector

if __name__ == "__main__":
    collector()
