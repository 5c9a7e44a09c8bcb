"""The neutral bottom layer every other package may use: the exception hierarchy, progress
reporting, atomic output, id masking and the settings-field mechanism. It imports
nothing else of netpersona."""

from netpersona._core._exceptions import (
    ColumnNotFoundError,
    ConfigError,
    InputError,
    ModelFormatError,
    NetpersonaError,
    OutputExistsError,
    TooManyBadRowsError,
    WorkspaceBusyError,
    WorkspaceError,
    WorkspaceIncompleteError,
)
from netpersona._core._masking import mask_id
from netpersona._core._numba_cache import configure_numba_cache
from netpersona._core._output import atomic_output, check_writable, write_text_atomic
from netpersona._core._progress import Progress, RichProgress
from netpersona._core._settings import (
    Setting,
    Settings,
    SettingSpec,
    search_space,
    setting,
    setting_specs,
    settings_options,
)

__all__ = [
    "ColumnNotFoundError",
    "ConfigError",
    "InputError",
    "ModelFormatError",
    "NetpersonaError",
    "OutputExistsError",
    "Progress",
    "RichProgress",
    "Setting",
    "SettingSpec",
    "Settings",
    "TooManyBadRowsError",
    "WorkspaceBusyError",
    "WorkspaceError",
    "WorkspaceIncompleteError",
    "atomic_output",
    "check_writable",
    "configure_numba_cache",
    "mask_id",
    "search_space",
    "setting",
    "setting_specs",
    "settings_options",
    "write_text_atomic",
]
