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
    ResourceError,
    TooManyBadRowsError,
    UsageError,
    WorkspaceBusyError,
    WorkspaceError,
    WorkspaceIncompleteError,
)
from netpersona._core._masking import mask_id
from netpersona._core._names import (
    NAME_PATTERN,
    check_name,
    check_size,
    literal_path,
    quote_identifier,
)
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
from netpersona._core._tables import TABLE_FORMATS, table_format, write_table_file
from netpersona._core._toml import load_toml

__all__ = [
    "NAME_PATTERN",
    "TABLE_FORMATS",
    "ColumnNotFoundError",
    "ConfigError",
    "InputError",
    "ModelFormatError",
    "NetpersonaError",
    "OutputExistsError",
    "Progress",
    "ResourceError",
    "RichProgress",
    "Setting",
    "SettingSpec",
    "Settings",
    "TooManyBadRowsError",
    "UsageError",
    "WorkspaceBusyError",
    "WorkspaceError",
    "WorkspaceIncompleteError",
    "atomic_output",
    "check_name",
    "check_size",
    "check_writable",
    "literal_path",
    "load_toml",
    "mask_id",
    "quote_identifier",
    "search_space",
    "setting",
    "setting_specs",
    "settings_options",
    "table_format",
    "write_table_file",
    "write_text_atomic",
]
