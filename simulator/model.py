"""The PM2.5 value model: what a station reads at a given time.

Every reading is a pure function of ``(seed, station, time)``: all randomness comes
from a counter-based hash of those keys, never from a stateful generator. So the
same seed gives the same data whatever the batching, however a run is split into
backfill and live, and whichever subset of cities is simulated.

A station's level is

    baseline x daily cycle x slow drift x city haze + measurement noise

rounded to a whole ug/m3 and clamped to ``[0, max_value]``. The daily cycle has two
peaks (morning rush, evening heating/cooking) and a mid-afternoon low in the
catalogue's local time. Haze episodes lift every station of a city for hours.
Sensor dropouts silence a station for some minutes (no reading at all).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from catalogue import Station
from simulator.records import Reading

MASK64 = (1 << 64) - 1
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
TWO_32 = float(1 << 32)

# Tags that separate the independent random streams derived from one seed.
_TAG_NOISE = 0x6E6F697365
_TAG_DRIFT = 0x6472696674
_TAG_HAZE = 0x68617A65
_TAG_DROPOUT = 0x64726F70


def _param(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class ModelParams:
    """Knobs of the value model; the defaults look like a normal autumn week in the catalogue's cities."""

    daily_amplitude: float = _param(0.35, "relative swing of the daily cycle (0 = flat)")
    morning_peak_hour: float = _param(8.5, "local hour of the morning peak")
    evening_peak_hour: float = _param(21.0, "local hour of the evening peak")
    afternoon_low_hour: float = _param(15.0, "local hour of the mid-afternoon minimum")
    drift_amplitude: float = _param(0.15, "relative size of each station's slow random drift (0 = none)")
    drift_hours: float = _param(6.0, "time scale of the slow drift, in hours")
    haze_per_day: float = _param(0.1, "chance per city per day that a haze episode starts (0..1)")
    haze_min_hours: float = _param(4.0, "shortest haze episode, hours")
    haze_max_hours: float = _param(14.0, "longest haze episode, hours (at most 24)")
    haze_min_strength: float = _param(0.6, "smallest haze lift at its peak (0.6 = +60%)")
    haze_max_strength: float = _param(1.8, "largest haze lift at its peak")
    noise_absolute: float = _param(2.0, "measurement noise: standard deviation in ug/m3")
    noise_relative: float = _param(0.05, "measurement noise: standard deviation relative to the level")
    dropouts_per_day: float = _param(2.0, "expected sensor dropouts per station per day (0..24)")
    dropout_min_minutes: float = _param(2.0, "shortest dropout, minutes")
    dropout_max_minutes: float = _param(15.0, "longest dropout, minutes (at most 60)")
    max_value: int = _param(999, "largest reading a sensor reports, ug/m3")

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError("; ".join(problems))

    def _problems(self):
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                yield f"{item.name} must be a number, not {value!r}"
            elif value < 0:
                yield f"{item.name} must not be negative (got {value})"
        if self.haze_per_day > 1:
            yield f"haze_per_day is a daily probability and must be at most 1 (got {self.haze_per_day})"
        if not self.haze_min_hours <= self.haze_max_hours <= 24:
            yield "haze_min_hours <= haze_max_hours <= 24 must hold"
        if self.haze_min_strength > self.haze_max_strength:
            yield "haze_min_strength must not exceed haze_max_strength"
        if self.dropouts_per_day > 24:
            yield f"dropouts_per_day must be at most 24 (got {self.dropouts_per_day})"
        if not self.dropout_min_minutes <= self.dropout_max_minutes <= 60:
            yield "dropout_min_minutes <= dropout_max_minutes <= 60 must hold"
        if self.drift_hours <= 0:
            yield "drift_hours must be positive"
        if not isinstance(self.max_value, int) or isinstance(self.max_value, bool) or self.max_value < 1:
            yield "max_value must be a positive whole number"

    @property
    def expected_dropout_fraction(self) -> float:
        """Share of readings a station misses to dropouts (ignoring rare overlaps)."""
        mean_minutes = (self.dropout_min_minutes + self.dropout_max_minutes) / 2
        return self.dropouts_per_day * mean_minutes / (24 * 60)

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str]]:
        """(name, default, help) for every parameter, for ``--help``."""
        return [(item.name, item.default, item.metadata["help"]) for item in fields(cls)]

    @classmethod
    def with_overrides(cls, overrides: dict[str, str]) -> ModelParams:
        """Parameters with ``name -> text`` overrides applied; ValueError names the bad one."""
        kinds = {item.name: type(item.default) for item in fields(cls)}
        values: dict[str, Any] = {}
        for name, text in overrides.items():
            if name not in kinds:
                raise ValueError(f"unknown model parameter {name!r}; known: {', '.join(kinds)}")
            try:
                values[name] = kinds[name](text)
            except ValueError:
                kind = "a whole number" if kinds[name] is int else "a number"
                raise ValueError(f"model parameter {name} must be {kind}, not {text!r}") from None
        return cls(**values)


# ----------------------------------------------------------------------------- hashing


def mix64(value: int) -> int:
    """A 64-bit finaliser (splitmix64): a well-spread hash of one integer."""
    value = (value + 0x9E3779B97F4A7C15) & MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & MASK64
    return value ^ (value >> 31)


def text_key(text: str) -> int:
    """A stable 64-bit key for a name (independent of Python's per-process hash salt)."""
    key = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        key = ((key ^ byte) * 0x100000001B3) & MASK64
    return mix64(key)


def hash_keys(*keys: int) -> int:
    value = 0
    for key in keys:
        value = mix64(value ^ (key & MASK64))
    return value


def unit_pair(value: int) -> tuple[float, float]:
    """Two independent uniforms in [0, 1) from one 64-bit hash."""
    return (value >> 32) / TWO_32, (value & 0xFFFFFFFF) / TWO_32


# ----------------------------------------------------------------------------- components


def _smoothstep(x: float) -> float:
    x = min(1.0, max(0.0, x))
    return x * x * (3 - 2 * x)


def _bump(hour: float, centre: float, width: float) -> float:
    """A Gaussian bump on the 24-hour circle."""
    distance = abs(hour - centre) % 24
    distance = min(distance, 24 - distance)
    return math.exp(-0.5 * (distance / width) ** 2)


class DailyCycle:
    """Multiplicative daily factor: mean 1 over a day, 1 + amplitude at the highest peak."""

    def __init__(self, params: ModelParams) -> None:
        self._params = params
        raw = [self._raw(minute / 60) for minute in range(24 * 60)]
        self._mean = sum(raw) / len(raw)
        self._scale = max(abs(value - self._mean) for value in raw) or 1.0

    def _raw(self, hour: float) -> float:
        p = self._params
        return (
            1.0 * _bump(hour, p.morning_peak_hour, 1.3)
            + 0.9 * _bump(hour, p.evening_peak_hour, 1.7)
            - 0.6 * _bump(hour, p.afternoon_low_hour, 2.2)
        )

    def factor(self, local_hour: float) -> float:
        shape = (self._raw(local_hour) - self._mean) / self._scale
        return max(0.0, 1.0 + self._params.daily_amplitude * shape)


@dataclass(frozen=True)
class Episode:
    """A haze episode (city) or a dropout (station): a window with a strength."""

    start_ms: int
    end_ms: int
    strength: float = 0.0


def haze_episode(seed_key: int, city_key: int, day: int, params: ModelParams) -> Episode | None:
    """The haze episode starting on UTC day ``day`` in a city, if any."""
    if params.haze_per_day <= 0:
        return None
    first = hash_keys(seed_key, _TAG_HAZE, city_key, day)
    chance, start = unit_pair(first)
    if chance >= params.haze_per_day:
        return None
    length, strength = unit_pair(mix64(first))
    hours = params.haze_min_hours + length * (params.haze_max_hours - params.haze_min_hours)
    start_ms = day * DAY_MS + int(start * DAY_MS)
    lift = params.haze_min_strength + strength * (params.haze_max_strength - params.haze_min_strength)
    return Episode(start_ms, start_ms + int(hours * HOUR_MS), lift)


def haze_envelope(episode: Episode, time_ms: int) -> float:
    """0..1 shape of an episode: builds up slowly, holds, clears quickly (a cold front)."""
    if not episode.start_ms <= time_ms < episode.end_ms:
        return 0.0
    x = (time_ms - episode.start_ms) / (episode.end_ms - episode.start_ms)
    if x < 0.4:
        return _smoothstep(x / 0.4)
    if x < 0.8:
        return 1.0
    return 1.0 - _smoothstep((x - 0.8) / 0.2)


def dropout_window(seed_key: int, station_key: int, hour: int, params: ModelParams) -> Episode | None:
    """The dropout starting in UTC hour ``hour`` at a station, if any."""
    if params.dropouts_per_day <= 0:
        return None
    first = hash_keys(seed_key, _TAG_DROPOUT, station_key, hour)
    chance, start = unit_pair(first)
    if chance >= params.dropouts_per_day / 24:
        return None
    length, _ = unit_pair(mix64(first))
    minutes = params.dropout_min_minutes + length * (params.dropout_max_minutes - params.dropout_min_minutes)
    start_ms = hour * HOUR_MS + int(start * HOUR_MS)
    return Episode(start_ms, start_ms + int(minutes * MINUTE_MS))


def drift_factor(drift_prefixes: tuple[int, int], time_ms: int, params: ModelParams) -> float:
    """Slow random wander around 1: two octaves of smoothly interpolated value noise.

    ``drift_prefixes`` are ``StationKeys.drift`` (the station's two octave streams).
    """
    if params.drift_amplitude <= 0:
        return 1.0
    total = 0.0
    for prefix, scale, weight in ((drift_prefixes[0], 1.0, 0.7), (drift_prefixes[1], 0.25, 0.3)):
        position = time_ms / (params.drift_hours * scale * HOUR_MS)
        knot = math.floor(position)
        left = (mix64(prefix ^ (knot & MASK64)) >> 32) / TWO_32 * 2 - 1
        right = (mix64(prefix ^ ((knot + 1) & MASK64)) >> 32) / TWO_32 * 2 - 1
        total += weight * (left + (right - left) * _smoothstep(position - knot))
    return max(0.0, 1.0 + params.drift_amplitude * total)


def noise(noise_prefix: int, time_ms: int) -> float:
    """A standard normal draw for one reading (Box-Muller on two hashed uniforms)."""
    u1, u2 = unit_pair(mix64(noise_prefix ^ time_ms))
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2 * math.pi * u2)


# ----------------------------------------------------------------------------- the fleet


@dataclass(frozen=True)
class StationKeys:
    """A station's random streams, derived from (seed, city, station name) only."""

    station: int
    noise: int
    drift: tuple[int, int]

    @classmethod
    def derive(cls, seed_key: int, station: Station) -> StationKeys:
        key = text_key(f"station\0{station.city}\0{station.name}")
        return cls(
            station=key,
            noise=hash_keys(seed_key, _TAG_NOISE, key),
            drift=(hash_keys(seed_key, _TAG_DRIFT, key, 0), hash_keys(seed_key, _TAG_DRIFT, key, 1)),
        )


class FleetModel:
    """Readings of a set of stations; ``value`` is pure, the memo tables only save recomputation."""

    def __init__(
        self,
        stations: tuple[Station, ...] | list[Station],
        seed: int = 0,
        params: ModelParams | None = None,
        timezone: str = "UTC",
    ) -> None:
        self.stations = tuple(stations)
        self.params = params or ModelParams()
        self.seed = seed
        self.timezone = ZoneInfo(timezone)
        self._seed_key = mix64(seed & MASK64)
        self._daily = DailyCycle(self.params)
        self._keys: dict[Station, StationKeys] = {}
        self._haze_memo: dict[tuple[str, int], Episode | None] = {}
        self._dropout_memo: dict[tuple[Station, int], Episode | None] = {}
        self._offset_memo: dict[int, int] = {}
        for station in self.stations:
            self.keys(station)

    def keys(self, station: Station) -> StationKeys:
        keys = self._keys.get(station)
        if keys is None:
            keys = self._keys[station] = StationKeys.derive(self._seed_key, station)
        return keys

    # -- parts shared by all stations (or a city) at one time

    def local_hour(self, time_ms: int) -> float:
        """Hour of day (0..24) in the model's time zone."""
        hour_slot = time_ms // HOUR_MS
        offset = self._offset_memo.get(hour_slot)
        if offset is None:
            if len(self._offset_memo) > 4096:
                self._offset_memo.clear()
            moment = datetime.fromtimestamp(hour_slot * HOUR_MS / 1000, tz=UTC).astimezone(self.timezone)
            offset = int((moment.utcoffset() or timedelta()).total_seconds() * 1000)
            self._offset_memo[hour_slot] = offset
        return ((time_ms + offset) % DAY_MS) / HOUR_MS

    def daily_factor(self, time_ms: int) -> float:
        return self._daily.factor(self.local_hour(time_ms))

    def haze_factor(self, city: str, time_ms: int) -> float:
        """1 + the lift of any haze episode over ``city`` at ``time_ms``."""
        day = time_ms // DAY_MS
        lift = 0.0
        for start_day in (day - 1, day):
            episode = self._haze(city, start_day)
            if episode is not None:
                lift = max(lift, episode.strength * haze_envelope(episode, time_ms))
        return 1.0 + lift

    def _haze(self, city: str, day: int) -> Episode | None:
        key = (city, day)
        if key not in self._haze_memo:
            if len(self._haze_memo) > 4096:
                self._haze_memo.clear()
            city_key = text_key(f"city\0{city}")
            self._haze_memo[key] = haze_episode(self._seed_key, city_key, day, self.params)
        return self._haze_memo[key]

    # -- per-station parts

    def silent(self, station: Station, time_ms: int) -> bool:
        """True while the station is in a dropout (it sends nothing)."""
        hour = time_ms // HOUR_MS
        for start_hour in (hour - 1, hour):
            key = (station, start_hour)
            window = self._dropout_memo.get(key, False)
            if window is False:
                if len(self._dropout_memo) > 65536:
                    self._dropout_memo.clear()
                window = dropout_window(self._seed_key, self.keys(station).station, start_hour, self.params)
                self._dropout_memo[key] = window
            if window is not None and window.start_ms <= time_ms < window.end_ms:
                return True
        return False

    def level(
        self, station: Station, time_ms: int, daily: float | None = None, haze: float | None = None
    ) -> float:
        """The noiseless level: baseline x daily x drift x haze (shared factors may be passed in)."""
        if daily is None:
            daily = self.daily_factor(time_ms)
        if haze is None:
            haze = self.haze_factor(station.city, time_ms)
        return station.baseline * daily * haze * drift_factor(self.keys(station).drift, time_ms, self.params)

    def _measure(self, station: Station, time_ms: int, level: float) -> int:
        sigma = math.hypot(self.params.noise_absolute, self.params.noise_relative * level)
        raw = level + sigma * noise(self.keys(station).noise, time_ms)
        return min(self.params.max_value, max(0, round(raw)))

    def measure(self, station: Station, time_ms: int) -> int:
        """The reported value (level plus noise, whole ug/m3, within bounds), dropouts ignored."""
        return self._measure(station, time_ms, self.level(station, time_ms))

    def value(self, station: Station, time_ms: int) -> int | None:
        """What ``station`` reports at ``time_ms``: a whole number, or None during a dropout."""
        if self.silent(station, time_ms):
            return None
        return self.measure(station, time_ms)

    def readings_at(self, time_ms: int) -> list[Reading]:
        """Every non-silent station's reading at one tick, in catalogue order (same values as ``value``)."""
        daily = self.daily_factor(time_ms)
        haze: dict[str, float] = {}
        readings = []
        for station in self.stations:
            if self.silent(station, time_ms):
                continue
            city_haze = haze.get(station.city)
            if city_haze is None:
                city_haze = haze[station.city] = self.haze_factor(station.city, time_ms)
            level = self.level(station, time_ms, daily, city_haze)
            readings.append(Reading(station, time_ms, self._measure(station, time_ms, level)))
        return readings
