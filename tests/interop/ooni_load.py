"""Load OONI measurements with OONI's own Python models (oonidata), one JSON object per stdin line.

Run by the interop tests with the interpreter of ``.venv-oonidata`` (oonidata pins old
dependencies, so it lives apart from censorscope's own virtualenv). Prints one JSON line:
``{"loaded": N, "errors": [{"line": i, "error": "..."}]}``.
"""

import json
import sys

from oonidata.dataclient import load_measurement


def main() -> None:
    loaded = 0
    errors = []
    for i, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line:
            continue
        try:
            msmt = json.loads(line)
            model = load_measurement(msmt=msmt)
            if type(model).__name__ == "BaseMeasurement" and msmt.get("test_name") in {
                "web_connectivity", "telegram", "whatsapp", "signal", "facebook_messenger"
            }:
                raise TypeError("loaded as BaseMeasurement, not as its nettest model")
            # Touch the typed test keys so lazy parsing problems surface here.
            tk = getattr(model, "test_keys", None)
            if tk is None:
                raise TypeError("no test_keys after loading")
            loaded += 1
        except Exception as exc:
            errors.append({"line": i, "error": f"{type(exc).__name__}: {exc}"[:500]})
    print(json.dumps({"loaded": loaded, "errors": errors}))


if __name__ == "__main__":
    main()
