"""The neutral bottom layer every other package may use: the exception hierarchy, progress
reporting, atomic output, id masking and the settings-field mechanism. It imports
nothing else of netpersona."""

from netpersona._core._budget import Budget, BudgetExceededError, check_budget
from netpersona._core._exceptions import (
    ColumnNotFoundError,
    ConfigError,
    InputError,
    ModelFormatError,
    NetpersonaError,
    OutputExistsError,
    ResourceError,
    ResourceLimitError,
    TempSpaceError,
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
from netpersona._core._numba_cache import configure_numba_cache
from netpersona._core._output import (
    atomic_output,
    check_writable,
    sync_folder,
    write_text_atomic,
)
from netpersona._core._progress import Progress, ProgressEvent, ProgressTask, RichProgress
from netpersona._core._resources import (
    ResourceLimits,
    memory_limit_sql,
    parse_size,
    resource_error,
    resource_limits,
    set_resource_limits,
    temp_budget,
)
from netpersona._core._settings import (
    Setting,
    Settings,
    SettingSpec,
    search_space,
    setting,
    setting_specs,
    settings_options,
)
from netpersona._core._table_urls import TABLE_OUTPUTS, is_table_url, mask_url
from netpersona._core._tables import TABLE_FORMATS, table_format, write_table_file
from netpersona._core._toml import load_toml

__all__ = [
    "NAME_PATTERN",
    "TABLE_FORMATS",
    "TABLE_OUTPUTS",
    "Budget",
    "BudgetExceededError",
    "ColumnNotFoundError",
    "ConfigError",
    "InputError",
    "ModelFormatError",
    "NetpersonaError",
    "OutputExistsError",
    "Progress",
    "ProgressEvent",
    "ProgressTask",
    "ResourceError",
    "ResourceLimitError",
    "ResourceLimits",
    "RichProgress",
    "Setting",
    "SettingSpec",
    "Settings",
    "TempSpaceError",
    "TooManyBadRowsError",
    "UsageError",
    "WorkspaceBusyError",
    "WorkspaceError",
    "WorkspaceIncompleteError",
    "atomic_output",
    "check_budget",
    "check_name",
    "check_size",
    "check_writable",
    "configure_numba_cache",
    "is_table_url",
    "literal_path",
    "load_toml",
    "mask_id",
    "mask_url",
    "memory_limit_sql",
    "parse_size",
    "quote_identifier",
    "resource_error",
    "resource_limits",
    "search_space",
    "set_resource_limits",
    "setting",
    "setting_specs",
    "settings_options",
    "sync_folder",
    "table_format",
    "temp_budget",
    "write_table_file",
    "write_text_atomic",
]
