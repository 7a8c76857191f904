"""The office's clock: naive local times in Asia/Shanghai, whatever the server's timezone."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

OFFICE_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(OFFICE_TZ).replace(tzinfo=None, microsecond=0)


def today() -> date:
    return now().date()
