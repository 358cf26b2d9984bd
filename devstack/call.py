"""`python -m devstack.call <script> [--caller 0909982888]`: places one scripted call (answered,
missed_busy, after_hours_voicemail, abandoned, out_of_order, forged) into the running local stack
through its fake Stringee (devstack/stringee.py), and prints what happened."""
from __future__ import annotations

from devstack.stringee import main

if __name__ == "__main__":
    raise SystemExit(main())
