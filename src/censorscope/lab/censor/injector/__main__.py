"""Command line of the injector: ``python -m censorscope.lab.censor.injector --config FILE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from censorscope.lab.censor.injector.config import InjectorConfig
from censorscope.lab.censor.injector.daemon import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="censorscope.lab.censor.injector")
    parser.add_argument("--config", required=True, type=Path, help="injector config (JSON)")
    args = parser.parse_args()
    return run(InjectorConfig.read(args.config))


if __name__ == "__main__":
    raise SystemExit(main())
