"""The station catalogue: the reference deployment's stations, and clear refusals of bad files."""

from __future__ import annotations

import pytest

from catalogue import CatalogueError, load_catalogue

# Counts per city and a sample of baselines, as the reference deployment's generator lists them.
EXPECTED_COUNTS = {
    "Beijing": 20, "Shanghai": 16, "Guangzhou": 15, "Shenzhen": 12, "Chengdu": 8, "Hangzhou": 10,
    "Nanjing": 8, "Tianjin": 8, "Chongqing": 8, "Lasa": 2, "Sanya": 3, "Shenyang": 5,
}  # fmt: skip
SAMPLE_BASELINES = {
    ("Beijing", "fengtai_xiaotun"): 170,
    ("Beijing", "mengtougou"): 63,
    ("Shanghai", "no 15 factory"): 63,
    ("Guangzhou", "No 5 middle school"): 68,
    ("Shenzhen", "huaqiao city"): 114,
    ("Chengdu", "Jinbo RD"): 69,
    ("Hangzhou", "yunxi"): 15,
    ("Nanjing", "gaochun"): 188,
    ("Tianjin", "diwei RD"): 171,
    ("Chongqing", "baiyi"): 121,
    ("Lasa", "Lasa train station"): 10,
    ("Sanya", "Hyatt station"): 33,
    ("Shenyang", "Hunan"): 301,
}


def test_catalogue_has_the_reference_cities_and_stations():
    catalogue = load_catalogue()
    assert {city.name: len(city.stations) for city in catalogue.cities} == EXPECTED_COUNTS
    assert len(catalogue.stations) == 115
    for (city, station), baseline in SAMPLE_BASELINES.items():
        assert catalogue.city(city).station(station).baseline == baseline


def test_station_aliases_are_unique_sql_identifiers():
    stations = load_catalogue().stations
    aliases = [station.alias for station in stations]
    assert len(set(aliases)) == len(aliases)
    assert all(alias.isidentifier() and alias == alias.lower() for alias in aliases)
    assert load_catalogue().station("no 15 factory").alias == "no_15_factory"


def test_unknown_city_names_the_known_ones():
    with pytest.raises(CatalogueError, match=r"unknown city 'Paris'; the catalogue has: Beijing, Shanghai"):
        load_catalogue().city("Paris")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cities:\n  A:\n    s1: 10\n  B:\n    s1: 20\n", r"station 's1' appears in both A and B"),
        ("cities:\n  A:\n    s1: 10\n    s1: 11\n", r"duplicate entry 's1' at line 4"),
        ("cities:\n  A: {}\n", r"city 'A' has no stations"),
        ("cities:\n  A:\n", r"city 'A' has no stations"),
        ("cities:\n  A:\n    s1: 0\n", r"baseline must be a positive whole number of ug/m3, not 0"),
        ("cities:\n  A:\n    s1: -5\n", r"not -5"),
        ("cities:\n  A:\n    s1: 12.5\n", r"not 12.5"),
        ("cities:\n  A:\n    s1: true\n", r"not True"),
        ("cities: {}\n", r"lists no cities"),
        ("stations: []\n", r"expected a mapping with a 'cities' mapping"),
        ("cities: [\n", r"is not valid YAML"),
    ],
)
def test_bad_catalogue_is_refused_with_a_clear_message(tmp_path, text, message):
    path = tmp_path / "stations.yaml"
    path.write_text(text)
    with pytest.raises(CatalogueError, match=message) as caught:
        load_catalogue(path)
    assert str(path) in str(caught.value)


def test_missing_catalogue_file(tmp_path):
    with pytest.raises(CatalogueError, match=r"cannot read the station catalogue .*nope.yaml"):
        load_catalogue(tmp_path / "nope.yaml")
