"""The one exception type the command line turns into a one-line message and a non-zero exit."""


class GanFactoryError(Exception):
    """A problem the user can fix: the message names what is wrong and how to fix it, in one sentence."""

    exit_code = 2


class InputError(GanFactoryError):
    """Bad input data: missing, unreadable, too few images, wrong layout."""


class ConfigError(GanFactoryError):
    """An invalid parameter value or an unknown key."""


class CheckpointError(GanFactoryError):
    """A checkpoint that is missing, corrupt or does not fit the model."""
