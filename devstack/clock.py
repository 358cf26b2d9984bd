"""The local stack's clock and schedules: run any schedule of app.py now, and move the clock the
schedules see, so escalation, the 80 % warning, callback reminders and the daily digest can be
watched on one machine (their e-mails in the local outbox, their entries on the staff ticket page).

Local only: devstack/ is never packaged for AWS. The app does not know it runs locally: its
scheduled handlers take `now` from the event's `time`, as EventBridge sends it, when it is within
SCHEDULE_CLOCK_SKEW_S of the real time (five minutes on AWS; `make run` sets ten years), and the
local worker sends the moved time (devstack/worker.py). Pages, the API and the consumers keep the real
time: a ticket is created now, its deadline is counted from now, and the moved clock is how far
the schedules have got.

- the page: /dev/lich under the site's base path (http://127.0.0.1:8000/dev/lich), served by the
  local gateway before the app's routes (devstack/gateway.py);
- the command, against a running `make run`:
    python -m devstack.clock                       # the clock and the schedules' last runs
    python -m devstack.clock run deadline_watch    # run one schedule now, at the moved time
    python -m devstack.clock advance 1wd           # 1h, 1wd (a working day), 3d; or reset
    python -m devstack.clock --url http://127.0.0.1:8000/api reset
"""
from __future__ import annotations

import argparse
import html
import json
import sys
import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qs

from chalicelib.domain.working_time import add_working_seconds

PAGE = "/dev/lich"
# The steps the page offers: (label, how far it moves the clock from the moved time)
STEPS: dict[str, str] = {"1h": "+1 giờ", "1wd": "+1 ngày làm việc", "3d": "+3 ngày", "reset": "Về giờ thật"}
DESCRIPTIONS = {
    "deadline_watch": "Theo dõi hạn: cảnh báo cơ quan khi đã dùng 80 % thời gian, quá hạn thì báo lãnh đạo",
    "callback_reminders": "Nhắc tổng đài viên các cuộc gọi lại sắp đến giờ hoặc đã quá giờ (trong giờ trực)",
    "daily_digest": "Thư tổng hợp hằng ngày gửi từng cơ quan (07:00–08:50 giờ Việt Nam)",
    "sweep_unrouted": "Gửi lại phản ánh chưa phân loại và tin nhắn chờ gửi bị kẹt",
    "anonymise_expired": "Ẩn danh dữ liệu cá nhân đã hết thời hạn lưu (02:00–04:50 giờ Việt Nam)",
    "index_search": "Cập nhật chỉ mục tìm kiếm (theo giờ thật)",
    "refresh_zalo_token": "Làm mới token Zalo OA (theo giờ thật của Zalo)",
    "reports": "Xuất danh sách lớn ra tệp; ngày 1 hằng tháng (từ 08:00) gửi báo cáo tháng trước cho lãnh đạo",
    "kb_expiry": "Bài hỏi đáp quá ngày hết hiệu lực: gỡ khỏi tra cứu, báo người viết (06:00 giờ Việt Nam)",
    "retrain_routing": "Huấn luyện lại định tuyến từ chỉnh sửa của tổng đài viên: khi quản trị yêu cầu, và 02:30 giờ Việt Nam",
}


class Clock:
    """The schedules' clock: the real time plus an offset that only moves forward (or back to 0)."""

    def __init__(self, real: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 calendar: Callable[[], Any] | None = None) -> None:
        self._real = real
        self._calendar = calendar or _province_calendar
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return self._real() + self._offset

    def advance(self, step: str) -> None:
        """Moves the clock by one of STEPS: an hour, one working day of the province's calendar (the
        deadlines' unit: Friday 10:00 -> Monday 10:00), three calendar days; `reset` goes back to real time."""
        with self._lock:
            if step == "reset":
                self._offset = timedelta(0)
            elif step == "1h":
                self._offset += timedelta(hours=1)
            elif step == "3d":
                self._offset += timedelta(days=3)
            elif step == "1wd":
                now, calendar = self.now(), self._calendar()
                later = add_working_seconds(calendar, now, calendar.day_seconds) if calendar else now + timedelta(days=1)
                self._offset += later - now
            else:
                raise ValueError(f"unknown step {step!r}: one of {', '.join(STEPS)}")


def _province_calendar() -> Any:
    from chalicelib.store.reference import load_reference

    return load_reference().calendar


def _offset_text(offset: timedelta) -> str:
    if not offset:
        return "đúng giờ thật"
    days, seconds = offset.days, offset.seconds
    parts = ([f"{days} ngày"] if days else []) + ([f"{seconds // 3600} giờ"] if seconds // 3600 else []) + (
        [f"{seconds % 3600 // 60} phút"] if seconds % 3600 // 60 else [])
    return "nhanh hơn giờ thật " + " ".join(parts)


class DevPages:
    """The /dev/lich page and its form posts; `worker` runs the schedules (devstack.worker.Worker)."""

    def __init__(self, worker: Any, clock: Clock, outbox: str = "") -> None:
        self.worker = worker
        self.clock = clock
        self.outbox = outbox
        self.last_message = ""

    def handles(self, route_path: str) -> bool:
        return route_path.split("?", 1)[0] == PAGE

    def handle(self, method: str, route_path: str, headers: Any, body: bytes | None, base_path: str) -> dict[str, Any]:
        """A proxy response (as API Gateway's) for the page or its form post."""
        wants_json = "json" in (headers.get("Accept") or "")
        if method == "GET":
            if wants_json:
                return _response(200, json.dumps(self.state(), ensure_ascii=False), "application/json; charset=utf-8")
            return _response(200, self.page(base_path), "text/html; charset=utf-8")
        if method != "POST":
            return _response(405, "chỉ GET và POST", "text/plain; charset=utf-8")
        origin, host = headers.get("Origin"), headers.get("Host")
        if origin and origin.split("://", 1)[-1] != host:  # another site's page may not drive the local stack
            return _response(403, "khác nguồn", "text/plain; charset=utf-8")
        form = {k: v[-1] for k, v in parse_qs((body or b"").decode("utf-8"), keep_blank_values=True).items()}
        try:
            result = self.act(form)
        except (KeyError, ValueError) as exc:
            return _response(400, f"không thực hiện được: {exc}", "text/plain; charset=utf-8")
        if wants_json:
            return _response(200, json.dumps(result, ensure_ascii=False), "application/json; charset=utf-8")
        return {"statusCode": 303, "headers": {"Location": base_path + PAGE}, "multiValueHeaders": {}, "body": ""}

    def act(self, form: dict[str, str]) -> dict[str, Any]:
        """Runs a schedule (`schedule`) or moves the clock (`step`); returns what happened."""
        if form.get("schedule"):
            name = form["schedule"]
            outcome = self.worker.run_now(name)
            self.last_message = f"Đã chạy {name} lúc {_local(self.clock.now())}: {outcome}"
            return {"schedule": name, "result": outcome, **self.state()}
        step = form.get("step", "")
        self.clock.advance(step)
        self.last_message = f"{STEPS.get(step, step)}: giờ của các lịch chạy là {_local(self.clock.now())}"
        return {"step": step, **self.state()}

    def state(self) -> dict[str, Any]:
        return {"now": self.clock.now().isoformat(), "offset_seconds": int(self.clock.offset.total_seconds()),
                "runs": {name: {"at": at.isoformat(), "result": outcome} for name, (at, outcome) in
                         self.worker.runs.items()}}

    def page(self, base_path: str) -> str:
        rows = []
        for name, expression in self.worker.schedules():
            run = self.worker.runs.get(name)
            last = f"{_local(run[0])} – {html.escape(str(run[1]))}" if run else "chưa chạy"
            rows.append(
                f'<li class="card" id="schedule-{name}"><h3><code>{name}</code></h3>'
                f"<p>{html.escape(DESCRIPTIONS.get(name, ''))}</p>"
                f'<p class="hint">Lịch trên AWS: <code>{html.escape(expression)}</code> (UTC) · '
                f'Lần chạy gần nhất: <span class="last-run">{last}</span></p>'
                f'<form method="post" action="{base_path}{PAGE}"><input type="hidden" name="schedule" value="{name}">'
                f'<button type="submit" aria-label="Chạy ngay {name}">Chạy ngay</button></form></li>')
        steps = "".join(f'<button type="submit" name="step" value="{key}">{label}</button>'
                        for key, label in STEPS.items())
        message = f'<p role="status" id="dev-result" class="card">{html.escape(self.last_message)}</p>' \
            if self.last_message else ""
        outbox = f'<a href="{html.escape(self.outbox)}">Hộp thư gửi đi (giả lập)</a> · ' if self.outbox else ""
        return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lịch chạy và đồng hồ – máy phát triển</title>
<style>
 body {{ margin:0; font:16px/1.5 system-ui, sans-serif; color:#1b1b1b; background:#fafafa; }}
 header {{ background:#37474f; color:#fff; padding:.75rem 1rem; }} header a {{ color:#fff; }}
 main {{ max-width:60rem; margin:0 auto; padding:1rem; }}
 .card {{ background:#fff; border:1px solid #c9c9c9; border-radius:.4rem; padding:.75rem 1rem; margin:.75rem 0; }}
 ul {{ list-style:none; padding:0; display:grid; grid-template-columns:repeat(auto-fill, minmax(17rem, 1fr)); gap:.75rem; }}
 ul .card {{ margin:0; }} h3 {{ margin:.2rem 0; font-size:1rem; overflow-wrap:anywhere; }}
 code {{ overflow-wrap:anywhere; }} .hint {{ color:#555; font-size:.9rem; }}
 button {{ margin:.25rem .25rem .25rem 0; padding:.6rem 1rem; font:inherit; font-weight:700; color:#fff;
          background:#a4161a; border:0; border-radius:.3rem; }}
 #clock {{ font-size:1.4rem; font-weight:800; }}
</style></head>
<body><header><strong>Đường dây nóng 1022 – máy phát triển</strong>
<p>{outbox}<a href="{base_path}/staff/inbox">Bảng điều khiển nhân viên</a></p></header>
<main><h1>Lịch chạy và đồng hồ</h1>
<p>Chỉ có trên máy phát triển (<code>make run</code>), không bao giờ có trên AWS. Các lịch chạy nhận giờ dưới đây;
trang web, API và xử lý tin nhắn vẫn theo giờ thật.</p>
{message}
<section class="card" aria-labelledby="clock-title"><h2 id="clock-title">Đồng hồ của các lịch chạy</h2>
<p id="clock">{_local(self.clock.now())}</p><p id="offset">{_offset_text(self.clock.offset)} (giờ Việt Nam)</p>
<form method="post" action="{base_path}{PAGE}">{steps}</form></section>
<h2>Lịch chạy của ứng dụng</h2><ul>{''.join(rows)}</ul></main></body></html>"""


def _local(moment: datetime) -> str:
    from chalicelib.domain.clock import local_text

    return local_text(moment)


def _response(status: int, body: str, content_type: str) -> dict[str, Any]:
    return {"statusCode": status, "multiValueHeaders": {}, "body": body,
            "headers": {"Content-Type": content_type, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                        "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
                                                   "form-action 'self'; frame-ancestors 'none'"}}


def main(argv: list[str] | None = None) -> int:
    """The command: shows the clock, runs a schedule or moves the clock of a running local stack."""
    import urllib.request
    from urllib.parse import urlencode

    parser = argparse.ArgumentParser(prog="python -m devstack.clock", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running stack's site (with /api if so)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("show", help="the clock and the schedules' last runs")
    run = sub.add_parser("run", help="run one schedule now, at the moved time")
    run.add_argument("schedule")
    move = sub.add_parser("advance", help="move the clock: 1h, 1wd (one working day), 3d")
    move.add_argument("step", choices=[s for s in STEPS if s != "reset"])
    sub.add_parser("reset", help="back to the real time")
    args = parser.parse_args(argv)
    form = ({"schedule": args.schedule} if args.command == "run" else {"step": args.step} if args.command == "advance"
            else {"step": "reset"} if args.command == "reset" else None)
    address = args.url.rstrip("/") + PAGE
    request = urllib.request.Request(address, data=urlencode(form).encode() if form else None,
                                     headers={"Accept": "application/json"}, method="POST" if form else "GET")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 (a local URL the user gives)
            text = answer.read().decode()
    except OSError as exc:
        print(f"no local stack at {address}: {exc} (start it with `make run`)", file=sys.stderr)
        return 1
    print(json.dumps(json.loads(text), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
