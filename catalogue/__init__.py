"""The station catalogue: the single source of cities, stations and baselines.

>>> catalogue = load_catalogue()
>>> catalogue.city("Shenzhen").station("huaqiao city").baseline
114
"""

from catalogue.model import Catalogue, CatalogueError, City, Station, load_catalogue

__all__ = ["Catalogue", "CatalogueError", "City", "Station", "load_catalogue"]
