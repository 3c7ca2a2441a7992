"""Load and validate the station catalogue (``stations.yaml``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("stations.yaml")


class CatalogueError(ValueError):
    """The catalogue file is missing or invalid; the message says what to fix."""


@dataclass(frozen=True)
class Station:
    city: str
    name: str
    baseline: int

    @property
    def alias(self) -> str:
        """A SQL-safe, lower-case column alias for this station (``no 15 factory`` -> ``no_15_factory``)."""
        return sql_alias(self.name)


@dataclass(frozen=True)
class City:
    name: str
    stations: tuple[Station, ...]

    @property
    def alias(self) -> str:
        return sql_alias(self.name)

    def station(self, name: str) -> Station:
        for station in self.stations:
            if station.name == name:
                return station
        raise CatalogueError(f"{self.name} has no station named {name!r}")


@dataclass(frozen=True)
class Catalogue:
    cities: tuple[City, ...]
    timezone: str

    @property
    def stations(self) -> tuple[Station, ...]:
        return tuple(station for city in self.cities for station in city.stations)

    @property
    def city_names(self) -> tuple[str, ...]:
        return tuple(city.name for city in self.cities)

    def city(self, name: str) -> City:
        for city in self.cities:
            if city.name == name:
                return city
        known = ", ".join(self.city_names)
        raise CatalogueError(f"unknown city {name!r}; the catalogue has: {known}")

    def station(self, name: str) -> Station:
        for station in self.stations:
            if station.name == name:
                return station
        raise CatalogueError(f"no station named {name!r} in the catalogue")

    def subset(self, city_names: list[str] | tuple[str, ...]) -> Catalogue:
        """The catalogue restricted to the named cities (each must exist)."""
        return Catalogue(cities=tuple(self.city(name) for name in city_names), timezone=self.timezone)


def sql_alias(name: str) -> str:
    alias = re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")
    return alias if alias and not alias[0].isdigit() else f"s_{alias}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a mapping with the same key twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise CatalogueError(f"duplicate entry {key!r} at line {line}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: the project's ``stations.yaml``)."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read the station catalogue {path}: {exc.strerror}") from None
    try:
        document = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path} is not valid YAML: {exc}") from None
    try:
        return parse_catalogue(document)
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc}") from None


def parse_catalogue(document: Any) -> Catalogue:
    """Validate an already-parsed catalogue document."""
    if not isinstance(document, dict) or not isinstance(document.get("cities"), dict):
        raise CatalogueError("expected a mapping with a 'cities' mapping of city -> {station: baseline}")
    timezone = document.get("timezone", "UTC")
    if not isinstance(timezone, str) or not timezone:
        raise CatalogueError("'timezone' must be a time zone name such as Asia/Shanghai")
    if not document["cities"]:
        raise CatalogueError("the catalogue lists no cities")
    cities: list[City] = []
    owner: dict[str, str] = {}
    for city_name, stations in document["cities"].items():
        if not isinstance(city_name, str) or not city_name.strip():
            raise CatalogueError(f"city name {city_name!r} must be a non-empty string")
        if not isinstance(stations, dict) or not stations:
            raise CatalogueError(f"city {city_name!r} has no stations")
        parsed: list[Station] = []
        for station_name, baseline in stations.items():
            if not isinstance(station_name, str) or not station_name.strip():
                raise CatalogueError(
                    f"city {city_name!r}: station name {station_name!r} must be a non-empty string"
                )
            if station_name in owner:
                raise CatalogueError(
                    f"station {station_name!r} appears in both {owner[station_name]} and {city_name}; "
                    "station names must be unique"
                )
            if isinstance(baseline, bool) or not isinstance(baseline, int) or baseline <= 0:
                raise CatalogueError(
                    f"station {station_name!r} in {city_name}: baseline must be a positive whole number "
                    f"of ug/m3, not {baseline!r}"
                )
            owner[station_name] = city_name
            parsed.append(Station(city=city_name, name=station_name, baseline=baseline))
        cities.append(City(name=city_name, stations=tuple(parsed)))
    return Catalogue(cities=tuple(cities), timezone=timezone)
