"""A minimal test harness for the SDK scripts, so they need nothing but the SDKs themselves.

Each script calls `run(globals())`: every `test_*` function runs in file order; the outcome of each is one line,
`PASS name` or `FAIL name: error`, which run.sh counts. The gateway comes from the environment that run.sh sets:
OM_BASE (http://127.0.0.1:PORT), OM_TOKEN (the gateway's admin token), MOCK_URL (the mock upstream).
"""

import os
import sys
import traceback

BASE = os.environ.get("OM_BASE", "http://127.0.0.1:10000")
TOKEN = os.environ.get("OM_TOKEN", "")
MOCK_URL = os.environ.get("MOCK_URL", "")


def run(namespace):
    tests = [(k, v) for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    failed = 0
    for name, fn in tests:
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - any failure of a test is reported, not raised
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc(file=sys.stderr)
        else:
            print(f"PASS {name}", flush=True)
    return 1 if failed else 0
