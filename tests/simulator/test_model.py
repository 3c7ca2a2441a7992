"""Value model: daily shape, bounds, determinism, drift, haze and dropouts.

Expected figures are computed here from the parameters (and local time from zoneinfo),
not taken from the model's own helpers.
"""

from __future__ import annotations

import itertools
import statistics
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from catalogue import Station, load_catalogue
from simulator.model import FleetModel, ModelParams

CATALOGUE = load_catalogue()
T0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday, 08:00 in Shanghai
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000
QUIET = {"drift_amplitude": 0.0, "haze_per_day": 0.0, "dropouts_per_day": 0.0}


def model(seed: int = 1, stations=None, timezone: str | None = None, **params) -> FleetModel:
    return FleetModel(
        stations if stations is not None else CATALOGUE.stations,
        seed=seed,
        params=ModelParams(**params),
        timezone=timezone or CATALOGUE.timezone,
    )


def local_hour(time_ms: int, timezone: str = "Asia/Shanghai") -> int:
    return datetime.fromtimestamp(time_ms / 1000, ZoneInfo(timezone)).hour


def hourly_means(fleet: FleetModel, days: int, step_ms: int, timezone: str) -> dict[int, float]:
    """Mean of value / baseline by local hour of day, over many days."""
    sums: dict[int, list[float]] = {hour: [] for hour in range(24)}
    for time_ms in range(T0, T0 + days * DAY, step_ms):
        hour = local_hour(time_ms, timezone)
        for station in fleet.stations:
            value = fleet.value(station, time_ms)
            if value is not None:
                sums[hour].append(value / station.baseline)
    return {hour: statistics.fmean(values) for hour, values in sums.items()}


def test_daily_cycle_has_morning_and_evening_peaks_and_an_afternoon_low():
    fleet = model(stations=CATALOGUE.city("Chengdu").stations)
    means = hourly_means(fleet, days=40, step_ms=10 * MINUTE, timezone="Asia/Shanghai")
    morning = statistics.fmean(means[h] for h in (7, 8, 9))
    evening = statistics.fmean(means[h] for h in (19, 20, 21, 22))
    afternoon = statistics.fmean(means[h] for h in (13, 14, 15, 16))
    assert morning > 1.25 * afternoon
    assert evening > 1.25 * afternoon
    assert min(means, key=means.get) in (13, 14, 15, 16, 17)
    assert max(means, key=means.get) in (7, 8, 9, 10, 19, 20, 21, 22, 23)


def test_daily_cycle_follows_the_catalogue_time_zone():
    utc_fleet = model(stations=CATALOGUE.city("Sanya").stations, timezone="UTC", **QUIET)
    means = hourly_means(utc_fleet, days=3, step_ms=5 * MINUTE, timezone="UTC")
    assert statistics.fmean(means[h] for h in (7, 8, 9)) > 1.25 * statistics.fmean(
        means[h] for h in (13, 14, 15)
    )
    # Same instants, Shanghai clock: 08:00 UTC is 16:00 there, near the low.
    shanghai = model(stations=CATALOGUE.city("Sanya").stations, **QUIET)
    station = shanghai.stations[0]
    at_8_utc = [T0 + day * DAY + 8 * HOUR for day in range(5)]
    assert statistics.fmean(utc_fleet.value(station, t) for t in at_8_utc) > 1.3 * statistics.fmean(
        shanghai.value(station, t) for t in at_8_utc
    )


def test_values_are_whole_non_negative_and_near_the_baseline_on_average():
    fleet = model(seed=3)
    ratios = []
    for time_ms in range(T0, T0 + 40 * DAY, 3 * HOUR + 7 * MINUTE):
        for reading in fleet.readings_at(time_ms):
            assert isinstance(reading.value, int)
            assert 0 <= reading.value <= 999
            ratios.append(reading.value / reading.station.baseline)
    assert 0.9 < statistics.fmean(ratios) < 1.35  # haze episodes lift the long-run mean a little


def test_never_negative_even_with_huge_noise_and_capped_at_max_value():
    lasa = CATALOGUE.city("Lasa").stations  # baselines 20 and 10
    noisy = model(stations=lasa, noise_absolute=40.0)
    values = [noisy.measure(station, T0 + k * 1000) for k in range(5000) for station in lasa]
    assert min(values) == 0  # the clamp is exercised...
    assert all(value >= 0 for value in values)  # ...and holds
    shenyang = CATALOGUE.city("Shenyang").stations  # baselines ~300
    capped = model(stations=shenyang, max_value=250)
    assert max(capped.measure(station, T0 + k * 60_000) for k in range(2000) for station in shenyang) == 250


def test_noise_has_the_configured_spread_around_the_level():
    station = Station("Testville", "centre", 100)
    fleet = model(stations=[station], daily_amplitude=0.0, noise_absolute=3.0, noise_relative=0.04, **QUIET)
    values = [fleet.value(station, T0 + k * 1000) for k in range(20000)]
    assert statistics.fmean(values) == pytest.approx(100, abs=0.3)
    assert statistics.stdev(values) == pytest.approx((3.0**2 + 4.0**2) ** 0.5, rel=0.05)


def test_drift_is_slow_but_wanders():
    station = Station("Testville", "centre", 100)
    fleet = model(
        stations=[station],
        daily_amplitude=0.0,
        noise_absolute=0.0,
        noise_relative=0.0,
        haze_per_day=0.0,
        dropouts_per_day=0.0,
        drift_amplitude=0.2,
    )
    per_second = [fleet.value(station, T0 + k * 1000) for k in range(3600)]
    assert max(abs(a - b) for a, b in itertools.pairwise(per_second)) <= 1
    hourly = [fleet.value(station, T0 + k * HOUR) for k in range(24 * 20)]
    assert max(hourly) - min(hourly) >= 15
    assert min(hourly) >= 80 and max(hourly) <= 120


def test_same_seed_same_data_other_seed_other_data():
    times = [T0 + k * 997 for k in range(150)]
    first_model, again_model, other_model = model(seed=42), model(seed=42), model(seed=43)
    first = [first_model.readings_at(t) for t in times]
    again = [again_model.readings_at(t) for t in reversed(times)][::-1]
    other = [other_model.readings_at(t) for t in times]
    assert first == again
    flat_first = {(r.station, r.time_ms): r.value for tick in first for r in tick}
    flat_other = {(r.station, r.time_ms): r.value for tick in other for r in tick}
    common = flat_first.keys() & flat_other.keys()
    assert sum(flat_first[key] != flat_other[key] for key in common) > 0.7 * len(common)


def test_a_station_reads_the_same_whatever_else_is_simulated_and_in_any_order():
    everything = model(seed=9)
    beijing_only = model(seed=9, stations=CATALOGUE.city("Beijing").stations)
    times = [T0 + k * 60_000 for k in range(0, 3000, 7)]
    forward = {(r.station, r.time_ms): r.value for t in times for r in beijing_only.readings_at(t)}
    backward = {
        (s, t): everything.value(s, t) for t in reversed(times) for s in CATALOGUE.city("Beijing").stations
    }
    assert forward == {key: value for key, value in backward.items() if value is not None}


def _silent_runs(fleet: FleetModel, station: Station, days: int) -> list[int]:
    """Lengths (minutes) of the runs of silent minutes, sampled once a minute; runs cut by the
    window's edges are left out."""
    runs, current = [], 0
    for minute in range(days * 24 * 60):
        if fleet.silent(station, T0 + minute * MINUTE):
            current += 1
        elif current:
            if current != minute:  # did not start at the window's first minute
                runs.append(current)
            current = 0
    return runs


@pytest.mark.parametrize(
    ("per_day", "shortest", "longest"),
    [(2.0, 2.0, 15.0), (12.0, 10.0, 20.0)],
)
def test_dropout_rate_and_length_match_the_configuration(per_day, shortest, longest):
    stations = CATALOGUE.stations[::3]  # 39 stations
    days = 5
    fleet = model(
        seed=5,
        stations=stations,
        dropouts_per_day=per_day,
        dropout_min_minutes=shortest,
        dropout_max_minutes=longest,
    )
    runs = [run for station in stations for run in _silent_runs(fleet, station, days)]
    expected_events = per_day * days * len(stations)
    expected_fraction = per_day * (shortest + longest) / 2 / (24 * 60)
    assert len(runs) == pytest.approx(expected_events, rel=0.12)
    assert sum(runs) / (days * 24 * 60 * len(stations)) == pytest.approx(expected_fraction, rel=0.12)
    assert min(runs) >= shortest - 1
    assert max(runs) <= 2 * longest + 1  # two back-to-back dropouts can merge


def test_no_dropouts_when_disabled():
    fleet = model(stations=CATALOGUE.stations[:10], dropouts_per_day=0.0)
    assert all(
        fleet.value(s, T0 + k * MINUTE) is not None for k in range(0, 3 * 24 * 60, 3) for s in fleet.stations
    )


def test_haze_lifts_every_station_of_a_city_for_hours():
    cities = [CATALOGUE.city("Chengdu"), CATALOGUE.city("Hangzhou")]
    stations = [s for city in cities for s in city.stations]
    hazy = model(seed=11, stations=stations, haze_per_day=1.0, haze_min_hours=6.0, haze_max_hours=10.0)
    clear = model(seed=11, stations=stations, haze_per_day=0.0)
    days = 6
    for city in cities:
        lifted_hours = []
        for hour in range(days * 24):
            times = [T0 + hour * HOUR + k * 5 * MINUTE for k in range(12)]
            ratios = [
                statistics.fmean(hazy.measure(s, t) for t in times)
                / statistics.fmean(clear.measure(s, t) for t in times)
                for s in city.stations
            ]
            if statistics.fmean(ratios) > 1.3:
                lifted_hours.append(hour)
                assert min(ratios) > 1.15, f"{city.name} hour {hour}: not every station is lifted: {ratios}"
            else:
                assert statistics.fmean(ratios) > 0.97  # haze never lowers readings
        # One episode a day of 6-10 h: hours of lift come in multi-hour runs.
        assert len(lifted_hours) >= days * 3
        runs, start = [], lifted_hours[0]
        for previous, current in zip(lifted_hours, [*lifted_hours[1:], None], strict=False):
            if current != previous + 1:
                runs.append(previous - start + 1)
                start = current
        assert statistics.fmean(runs) >= 3


def test_haze_episodes_are_as_frequent_as_configured():
    fleet = model(seed=2, haze_per_day=0.1)
    days = 400
    episodes = 0
    for city in CATALOGUE.cities:
        hazy_before = False
        for hour in range(days * 24):
            hazy = fleet.haze_factor(city.name, T0 + hour * HOUR) > 1.02
            episodes += hazy and not hazy_before
            hazy_before = hazy
    expected = 0.1 * days * len(CATALOGUE.cities)
    assert episodes == pytest.approx(expected, rel=0.2)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dropouts_per_day": "-1"}, "dropouts_per_day must not be negative"),
        ({"haze_per_day": "2"}, "haze_per_day is a daily probability"),
        ({"max_value": "1.5"}, "max_value must be a whole number"),
        ({"colour": "red"}, "unknown model parameter 'colour'"),
        (
            {"dropout_min_minutes": "30", "dropout_max_minutes": "20"},
            "dropout_min_minutes <= dropout_max_minutes",
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(overrides, message):
    with pytest.raises(ValueError, match=message):
        ModelParams.with_overrides(overrides)


def test_parameter_overrides_apply():
    params = ModelParams.with_overrides({"haze_per_day": "0.5", "max_value": "500"})
    assert params.haze_per_day == 0.5
    assert params.max_value == 500
    assert params.noise_absolute == ModelParams().noise_absolute
