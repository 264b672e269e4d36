"""The error users see: one line naming what is wrong and where, exit code 2."""


class UserError(Exception):
    """Bad input from the user (config, files, arguments); reported in one line."""

EXIT_USER_ERROR = 2
