"""A national monitoring network grown from the blog's catalogue.

Scale xk keeps the catalogue's 12 cities and 115 stations and adds k-1 blocks of 12 synthetic
cities, each block with the catalogue's station counts (20, 16, 15, 12, 8, 10, 8, 8, 8, 2, 3, 5) and
baselines, so x10 is 120 cities and 1,150 stations and x100 1,200 cities and 11,500 stations, with
the same distribution of station counts per city. Synthetic names are made of syllables and share
nothing with their city's name (as "huaqiao city" shares nothing with "Shenzhen"): a layout that
prunes by name prefix would look better here than it is.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from catalogue import Catalogue, City, Station, load_catalogue

SEED = 18
_ONSETS = [
    "b",
    "ch",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "m",
    "n",
    "p",
    "q",
    "r",
    "s",
    "sh",
    "t",
    "w",
    "x",
    "y",
    "z",
    "zh",
]
_VOWELS = [
    "a",
    "ai",
    "an",
    "ang",
    "ao",
    "e",
    "ei",
    "en",
    "eng",
    "i",
    "ian",
    "in",
    "ing",
    "o",
    "ong",
    "ou",
    "u",
    "un",
]
_PLACES = [
    "",
    " park",
    " road",
    " town",
    " street",
    " school",
    " station",
    " lake",
    " hill",
    " bridge",
    " port",
    " west",
]


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))


def grow(scale: int, base: Catalogue | None = None) -> Catalogue:
    """The catalogue grown x``scale`` (1 = the catalogue itself); the same scale gives the same names."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    base = base or load_catalogue()
    rng = random.Random(SEED)
    taken = {c.name.lower() for c in base.cities} | {s.name.lower() for s in base.stations}

    def unique(make) -> str:
        while True:
            name = make()
            if name.lower() not in taken:
                taken.add(name.lower())
                return name

    cities = list(base.cities)
    for _block in range(1, scale):
        for template in base.cities:
            name = unique(lambda: _word(rng, rng.choice((2, 2, 3))).capitalize())
            stations = tuple(
                Station(
                    city=name,
                    name=unique(lambda: _word(rng, rng.choice((1, 2, 2, 3))) + rng.choice(_PLACES)),
                    baseline=station.baseline,
                )
                for station in template.stations
            )
            cities.append(City(name=name, stations=stations))
    return Catalogue(cities=tuple(cities), timezone=base.timezone)


def write_yaml(catalogue: Catalogue, path: Path) -> Path:
    """The catalogue as a stations.yaml the simulator reads (``--catalogue``)."""
    document = {
        "timezone": catalogue.timezone,
        "cities": {city.name: {s.name: s.baseline for s in city.stations} for city in catalogue.cities},
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
