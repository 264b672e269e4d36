"""The former home of mcprop's errors, kept so that old imports still work: everything is
in :mod:`mcprop.errors` (``UserError`` is :class:`mcprop.errors.McpropError`)."""

from mcprop.errors import (  # noqa: F401
    API_SPELLING,
    EXIT_USER_ERROR,
    EXTRAS,
    McpropError,
    UserError,
    require_extra,
)
