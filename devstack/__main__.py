"""`make run`: the whole system on this machine, no AWS account.

moto on 127.0.0.1 -> the infra/resources.json stack -> demo data -> the Chalice app on
http://127.0.0.1:8000 (chalice local's server, in-process, behind API Gateway's routing:
devstack/gateway.py) -> SQS consumers and schedules driven in-process. Ctrl-C stops everything.
`--base-path /api` (or BASE_PATH=/api) serves the site under /api/, as execute-api does.
"""
from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _log_paths_only() -> None:
    """The local server's access log would print query strings, and eSMS puts the citizen's phone
    and text there: log method, path and status only (API Gateway on AWS logs no query strings)."""
    from chalice.local import ChaliceRequestHandler

    def log_request(self: ChaliceRequestHandler, code: object = "-", size: object = "-") -> None:
        sys.stderr.write(f"{self.command} {self.path.split('?', 1)[0]} {code}\n")

    ChaliceRequestHandler.log_request = log_request  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--emulator-port", type=int, default=int(os.environ.get("EMULATOR_PORT", "0")),
                        help="moto server port (0: any free port)")
    parser.add_argument("--providers-port", type=int, default=int(os.environ.get("PROVIDERS_PORT", "0")),
                        help="fake Zalo/SMS provider APIs and the outbox (0: any free port)")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--base-path", default=os.environ.get("BASE_PATH", ""),
                        help="serve the site under this prefix, as API Gateway's stage URL does (e.g. /api)")
    parser.add_argument("--no-demo", action="store_true", help="reference data only, no demo tickets")
    args = parser.parse_args(argv)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    sys.path.insert(0, str(ROOT))
    from devstack.emulator import bring_up
    from devstack.gateway import StageRequestHandler, normalise_base_path
    from devstack.seed import seed
    from devstack.worker import Worker

    origin, base_path = f"http://{args.host}:{args.port}", normalise_base_path(args.base_path)
    stack = bring_up(args.emulator_port, public_origin=origin)
    # As infra/api.json sets it on AWS: links in messages are the origin plus the base path.
    os.environ["PUBLIC_BASE_URL"] = origin + base_path
    from devstack.emulator import stage_environment
    from devstack.fakes import seed_provider_secrets, start_fakes

    fakes = start_fakes(args.providers_port)
    from devstack.emulator import emulator_outbox

    fakes.state.extra_outbox = emulator_outbox
    fakes.state.messenger_webhook = origin + base_path + "/webhooks/facebook"  # Meta's delivery receipts come back
    os.environ.update(fakes.environment())
    stage_environment(args.stage)
    os.environ["SMS_DEFAULT_PROVIDER"] = "android_gateway"  # local SMS via the gateway fake, shown in the outbox
    from devstack.stringee import EVENT, start_fake_stringee

    # the fake Stringee: callouts land there, and its calls' events come back to the app's event_url
    stringee = start_fake_stringee(event_url=origin + base_path + EVENT)
    os.environ.update(stringee.environment())
    # The schedules page moves the schedules' clock by days (devstack/clock.py): accept event times up to
    # ten years from the real time (AWS keeps the default, five minutes)
    os.environ.setdefault("SCHEDULE_CLOCK_SKEW_S", str(10 * 366 * 24 * 3600))
    seed_provider_secrets(fakes, os.environ["SSM_PREFIX"], token_expires_at=time.time() + 25 * 3600)
    from chalice.cli import factory as chalice_factory
    from chalice.local import create_local_server

    config = chalice_factory.CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=args.stage)
    app_obj = config.chalice_app
    import app as app_module  # the module Lambda imports; CLIFactory already loaded it with the stage env

    from chalicelib.observability import logger

    level = logger().log_level
    logger().setLevel("WARNING")  # keep set-up output short; request logs follow at the stage's level
    codes = seed(demo_tickets=not args.no_demo)
    from devstack.seed import DEMO_PASSWORD, seed_staff

    staff = seed_staff()
    logger().setLevel(level)
    from devstack.clock import Clock, DevPages
    from devstack.stringee import CallPage

    clock = Clock()
    worker = Worker(app_module, stack.resources, clock=clock.now)
    worker.start()
    _log_paths_only()
    server = create_local_server(app_obj, config, args.host, args.port)
    server.server.RequestHandlerClass = functools.partial(  # type: ignore[assignment]
        StageRequestHandler, app_object=app_obj, config=config, base_path=base_path,
        dev=[DevPages(worker, clock, outbox=f"{fakes.base}/outbox"), CallPage(stringee, origin + base_path)])
    serving = threading.Thread(target=server.server.serve_forever, daemon=True)
    serving.start()

    url = origin + base_path
    print(f"hotline1022 is running (stage {args.stage}).")
    print(f"  citizen form   {url}/")
    print(f"  status lookup  {url}/tra-cuu   (demo: {codes[0]} with last 4 digits 5678)" if codes else
          f"  status lookup  {url}/tra-cuu")
    print(f"  JSON API       {url}/api/v1/reports")
    print(f"  staff console  {url}/staff/  — demo accounts (password {DEMO_PASSWORD}):")
    for person in staff:
        print(f"      {person['email']:<26} {person['role']}{' · ' + person['agency'] if person.get('agency') else ''}")
    print(f"  webhooks       {url}/webhooks/zalo, /webhooks/facebook, /webhooks/sms/{{android-gateway,smssync,esms}}"
          "  (signed samples: python -m devstack.sign)")
    print(f"  outbox         {fakes.base}/outbox  (every SMS, Zalo reply and staff email sent locally)")
    print(f"  schedules      {url}/dev/lich  (run any schedule now, move their clock: python -m devstack.clock)")
    print(f"  demo calls     {url}/dev/goi-thu  (a fake Stringee calls the hotline: python -m devstack.call answered)")
    print(f"  AWS emulator   {stack.endpoint}  (moto dashboard: {stack.endpoint}/moto-api/)")
    print("Ctrl-C stops everything.", flush=True)

    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    print("stopping…", flush=True)
    server.shutdown()
    worker.stop()
    fakes.stop()
    stringee.stop()
    stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
