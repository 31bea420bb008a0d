"""The one exception type for user mistakes: the CLI shows its message as a single line."""


class OcrkitError(Exception):
    """A problem the user can fix (missing file, bad data, wrong option); the message says how."""
