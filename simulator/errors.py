"""The two ways a run ends badly, each with a message a person can act on."""


class ConfigError(Exception):
    """The configuration cannot work (bad option, unknown city, missing stream...): exit code 2."""


class DeliveryError(Exception):
    """Records could not be delivered even after retrying: exit code 1 (the message says how many)."""
