"""The fuzzers run against the local stack exactly as the end-to-end tests start it (at / and under
/api/), but their own instance: fuzzing files hundreds of reports, burns the per-IP quotas and fills
the quarantine, none of which the end-to-end tests should meet."""
from tests.e2e.conftest import local_stack  # noqa: F401  (the same fixture, its own instance here)
