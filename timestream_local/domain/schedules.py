"""Schedule expressions of scheduled queries, as Amazon EventBridge defines them, in UTC.

``rate(N minute|minutes|hour|hours|day|days)``: every N units from an anchor (the scheduled query's
creation time, on the minute); the unit is singular exactly when N is 1.

``cron(minutes hours day-of-month month day-of-week year)``: six fields; ``, - * /`` everywhere,
``?`` in one of day-of-month and day-of-week (exactly one of them must be ``?``), month names
JAN-DEC, day names SUN-SAT (1 is Sunday), ``L`` (last day of the month; ``nL``: the last weekday n
of the month), ``W`` (``nW``: the weekday nearest day n, within the month; ``LW``: the last weekday),
``n#k`` (the k-th weekday n of the month); years 1970-2199.

``parse_schedule`` raises ValidationException naming ScheduleExpression; ``Schedule.next_after(t)``
is the first invocation time strictly after ``t`` (seconds since the epoch), or None when there is
none (a cron whose years are over).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from timestream_local.exceptions import ValidationException

_RATE = re.compile(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", re.IGNORECASE)
_CRON = re.compile(r"cron\((.*)\)", re.IGNORECASE | re.DOTALL)
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}
_DAYS = {
    name.upper(): number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
_FIRST_YEAR, _LAST_YEAR = 1970, 2199


def _invalid(expression: str, why: str) -> ValidationException:
    return ValidationException(
        f"ScheduleConfiguration.ScheduleExpression '{expression}' is not valid: {why}."
    )


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, t: float, anchor: float) -> float:
        base = anchor - anchor % 60
        if t < base:
            return base
        return base + ((t - base) // self.seconds + 1) * self.seconds


@dataclass
class Cron:
    minutes: set[int]
    hours: set[int]
    months: set[int]
    years: set[int]
    days: list[str] | None = None  # day-of-month items ('?' gives None)
    weekdays: list[str] | None = None  # day-of-week items
    _dom: set[int] = field(default_factory=set)
    _dow: set[int] = field(default_factory=set)

    def next_after(self, t: float, anchor: float = 0.0) -> float | None:
        start = dt.datetime.fromtimestamp(t - t % 60 + 60, dt.UTC)
        day = start.date()
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                day = dt.date(day.year + 1, 1, 1)
                continue
            if day.month not in self.months:
                day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
                continue
            if self._day_matches(day):
                found = self._first_time(day, start)
                if found is not None:
                    return found.timestamp()
            day += dt.timedelta(days=1)
        return None

    def _first_time(self, day: dt.date, start: dt.datetime) -> dt.datetime | None:
        for hour in sorted(self.hours):
            for minute in sorted(self.minutes):
                moment = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)
                if moment >= start:
                    return moment
        return None

    def _day_matches(self, day: dt.date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        if self.days is not None:
            return any(_dom_item(item, day, last, self._dom) for item in self.days)
        weekday = (day.weekday() + 1) % 7 + 1  # 1 = Sunday ... 7 = Saturday
        assert self.weekdays is not None
        return any(_dow_item(item, day, weekday, last, self._dow) for item in self.weekdays)


def _dom_item(item: str, day: dt.date, last: int, plain: set[int]) -> bool:
    if item == "L":
        return day.day == last
    if item.endswith("W"):
        target = last if item == "LW" else min(int(item[:-1]), last)
        return day.day == _nearest_weekday(day.year, day.month, target, last)
    return day.day in plain


def _nearest_weekday(year: int, month: int, target: int, last: int) -> int:
    weekday = dt.date(year, month, target).weekday()  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: the Friday before, or the Monday after when the 1st is a Saturday
        return target - 1 if target > 1 else target + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before at the month's end
        return target + 1 if target < last else target - 2
    return target


def _dow_item(item: str, day: dt.date, weekday: int, last: int, plain: set[int]) -> bool:
    if item.endswith("L") and item != "L":
        return weekday == _day_number(item[:-1]) and day.day + 7 > last
    if item == "L":
        return weekday == 7
    if "#" in item:
        name, nth = item.split("#")
        return weekday == _day_number(name) and (day.day - 1) // 7 + 1 == int(nth)
    return weekday in plain


def _day_number(text: str) -> int:
    return _DAYS[text.upper()] if text.upper() in _DAYS else int(text)


def _values(text: str, low: int, high: int, names: dict[str, int], expression: str, what: str) -> set[int]:
    """A field of lists, ranges, steps and names as the set of its values."""
    found: set[int] = set()

    def number(part: str) -> int:
        value = names.get(part.upper()) if names else None
        if value is None:
            if not part.isdigit():
                raise _invalid(expression, f"'{part}' is not a valid {what}")
            value = int(part)
        if not low <= value <= high:
            raise _invalid(expression, f"{what} {value} is outside {low}-{high}")
        return value

    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise _invalid(expression, f"'{item}' has no valid step in the {what} field")
            step = int(step_text)
        if span == "*":
            first, last = low, high
        elif "-" in span:
            first_text, _, last_text = span.partition("-")
            first, last = number(first_text), number(last_text)
            if last < first:
                raise _invalid(expression, f"the range '{span}' in the {what} field ends before it starts")
        else:
            first = number(span)
            last = high if step_text else first
        found.update(range(first, last + 1, step))
    return found


_DOM_SPECIAL = re.compile(r"L|LW|\d{1,2}W")
_DOW_SPECIAL = re.compile(r"L|[1-7A-Za-z]{1,3}L|[1-7A-Za-z]{1,3}#[1-5]")


def _special_items(text: str, pattern: re.Pattern[str], low: int, high: int, names: dict[str, int],
                   expression: str, what: str) -> tuple[list[str], set[int]]:  # fmt: skip
    """The items of a day field, and the plain values of those that are not L / W / # items."""
    items = text.split(",")
    plain: set[int] = set()
    for item in items:
        if pattern.fullmatch(item):
            if item[:-1].isdigit() and item.endswith("W") and not 1 <= int(item[:-1]) <= 31:
                raise _invalid(expression, f"'{item}' names no day of the month")
            head = re.split("[L#]", item)[0]
            if (
                head
                and not item.endswith("W")
                and head.upper() not in _DAYS
                and not (head.isdigit() and 1 <= int(head) <= 7)
            ):
                raise _invalid(expression, f"'{item}' names no day of the week")
            continue
        plain |= _values(item, low, high, names, expression, what)
    return [i if _DOM_SPECIAL.fullmatch(i) or _DOW_SPECIAL.fullmatch(i) else "" for i in items], plain


def _parse_cron(body: str, expression: str) -> Cron:
    fields = body.split()
    if len(fields) != 6:
        raise _invalid(
            expression,
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not {len(fields)}",
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise _invalid(expression, "exactly one of day-of-month and day-of-week must be '?'")
    cron = Cron(
        minutes=_values(minutes, 0, 59, {}, expression, "minute"),
        hours=_values(hours, 0, 23, {}, expression, "hour"),
        months=_values(month, 1, 12, _MONTHS, expression, "month"),
        years=_values(year, _FIRST_YEAR, _LAST_YEAR, {}, expression, "year"),
    )
    if dom != "?":
        cron.days, cron._dom = _special_items(dom, _DOM_SPECIAL, 1, 31, {}, expression, "day of the month")
    else:
        cron.weekdays, cron._dow = _special_items(
            dow, _DOW_SPECIAL, 1, 7, _DAYS, expression, "day of the week"
        )
    return cron


def parse_schedule(expression: str) -> Rate | Cron:
    """A schedule expression's schedule; ValidationException naming the field and the fault."""
    rate = _RATE.fullmatch(expression.strip())
    if rate:
        count, unit = int(rate.group(1)), rate.group(2).lower()
        singular = unit.rstrip("s") if unit.endswith("s") else unit
        if singular not in _UNITS:
            raise _invalid(expression, f"'{unit}' is not a unit (use minute(s), hour(s) or day(s))")
        if count < 1:
            raise _invalid(expression, "the rate must be a positive whole number")
        if (count == 1) != (unit == singular):
            raise _invalid(expression, "the unit is singular for a rate of 1 and plural otherwise")
        return Rate(count * _UNITS[singular])
    cron = _CRON.fullmatch(expression.strip())
    if cron:
        return _parse_cron(cron.group(1), expression)
    raise _invalid(expression, "use rate(N minute|minutes|hour|hours|day|days) or cron(minutes hours "
                   "day-of-month month day-of-week year)")  # fmt: skip
