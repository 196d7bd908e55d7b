"""Late penalties: nbgrader's LateSubmissionPlugin as a percentage per day late, and times.

The rule of PercentPerDayLate (set in a course's nbgrader_config.py as
`c.AssignLatePenalties.plugin_class`):
- lateness is measured from the student's due date (nbgrader adds any extension); a
  submission at most `grace_minutes` late is on time;
- past the grace period every started day counts as a whole day, counted from the due date:
  1 minute past the grace period is 1 day, 1.5 days are 2;
- the penalty is `percent_per_day` per day, at most `max_percent`, of the notebook's score,
  in points (rounded to 6 decimals); nbgrader keeps it between 0 and that score.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float, TraitError, validate

SECONDS_PER_DAY = 86400
OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$")
FORMAT_HINT = ("write it as YYYY-MM-DD HH:MM followed by a time zone, e.g. 2026-12-07 23:59 "
               "Europe/Berlin")


class TimeFormatError(ValueError):
    """A due date or submission time that cannot be read; the message says what to write."""


def _zone(token: str) -> dt.tzinfo | None:
    """The time zone a trailing token names (an IANA name, UTC, Z or an offset), else None."""
    if token.upper() in ("UTC", "Z", "GMT"):
        return dt.timezone.utc
    offset = OFFSET.match(token)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        return dt.timezone(sign * dt.timedelta(hours=int(offset.group(2)),
                                               minutes=int(offset.group(3))))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", token):
        return None
    try:
        return zoneinfo.ZoneInfo(token)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise TimeFormatError(f"unknown time zone {token!r}; use an IANA name such as "
                              "Europe/Berlin or America/New_York, UTC, or an offset such as "
                              "+01:00") from None


def _is_moment(text: str) -> bool:
    """Whether `text` is an ISO 8601 date and time (Python's reading of it)."""
    try:
        dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def parse_time(text: str, *, naive_is_utc: bool) -> dt.datetime:
    """A time `YYYY-MM-DD HH:MM[:SS[.ffffff]] [ZONE]` (or ISO 8601 with an offset) as a naive
    UTC datetime, the form nbgrader's gradebook keeps. Without a zone it is UTC when
    `naive_is_utc` (nbgrader's timestamp.txt), else an error (a due date must say its zone).
    """
    text = str(text).strip()
    if not text:
        raise TimeFormatError(f"no time given; {FORMAT_HINT}")
    moment_text, _, last = text.rpartition(" ")
    try:
        zone = _zone(last) if moment_text else None
    except TimeFormatError as err:
        if _is_moment(moment_text):  # a date, then a zone nobody knows
            raise TimeFormatError(f"{text!r}: {err}") from None
        zone = None
    if zone is None:
        moment_text = text
    if not _is_moment(moment_text):
        raise TimeFormatError(f"{text!r} is not a date and time; {FORMAT_HINT}")
    moment = dt.datetime.fromisoformat(moment_text.strip())
    if zone is not None:
        if moment.tzinfo is not None:
            raise TimeFormatError(f"{text!r} gives two time zones; keep one")
        moment = moment.replace(tzinfo=zone)
    elif moment.tzinfo is None:
        if not naive_is_utc:
            raise TimeFormatError(f"{text!r} has no time zone; {FORMAT_HINT}")
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def format_utc(moment: dt.datetime | None) -> str:
    """A naive UTC datetime from the gradebook as `YYYY-MM-DD HH:MM UTC` ('' for None)."""
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def describe_delay(seconds: float) -> str:
    """A delay for people: `1 d 12 h 5 min`, `40 min`, `under a minute`."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "",
             f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p)


class PercentPerDayLate(LateSubmissionPlugin):
    """A share of the score per started day late, capped, after a grace period."""

    percent_per_day = Float(
        10.0, help="Percent of the notebook's score taken off per day late (a started day "
        "counts as a whole day)."
    ).tag(config=True)
    max_percent = Float(
        100.0, help="The most a late submission loses, in percent of its score (100: it can "
        "drop to zero)."
    ).tag(config=True)
    grace_minutes = Float(
        0.0, help="Minutes after the due date that still count as on time."
    ).tag(config=True)

    @validate("percent_per_day", "grace_minutes")
    def _not_negative(self, proposal):
        value = proposal["value"]
        if not value >= 0 or math.isinf(value):
            raise TraitError(f"{self.__class__.__name__}.{proposal['trait'].name} = {value!r}: "
                             "must be a number >= 0")
        return value

    @validate("max_percent")
    def _a_percentage(self, proposal):
        value = proposal["value"]
        if not 0 <= value <= 100:
            raise TraitError(f"{self.__class__.__name__}.max_percent = {value!r}: must be "
                             "between 0 and 100")
        return value

    def days_late(self, seconds_late: float) -> int:
        """Whole days charged for `seconds_late` (0 inside the grace period)."""
        if seconds_late <= 0 or seconds_late <= self.grace_minutes * 60:
            return 0
        return math.ceil(seconds_late / SECONDS_PER_DAY)

    def percent(self, seconds_late: float) -> float:
        """Percent of the score taken off for `seconds_late`."""
        return min(self.max_percent, self.days_late(seconds_late) * self.percent_per_day)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float | None:
        """Points taken off a notebook that scored `score`, or None when nothing is."""
        percent = self.percent(total_seconds_late)
        if percent <= 0:
            return None
        return round(max(0.0, float(score)) * percent / 100.0, 6)

    def describe(self) -> str:
        """The policy in one sentence."""
        grace = f", after {self.grace_minutes:g} minutes' grace" if self.grace_minutes else ""
        return (f"{self.percent_per_day:g}% of the score per day late or part of a day, at most "
                f"{self.max_percent:g}%{grace}")
