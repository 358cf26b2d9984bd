"""hotline1022 bench: `python -m bench` measures the figures below into bench/results.json.

- cold start: `import app` in a fresh interpreter against a bare Chalice app with boto3 clients;
- AWS calls per submission, DynamoDB Scans, intake latency and the emulator-only floor
  (on the local stack, in-process);
- the size of the deployment zip built by infra/package.py.

It prints figures; it asserts nothing.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repo root: the app, infra/ and .chalice/ live here
