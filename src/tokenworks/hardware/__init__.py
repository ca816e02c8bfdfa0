"""Hardware layer: accelerators and systems from the sourced catalogs."""

from tokenworks.hardware.accelerator import (
    PRECISIONS,
    Accelerator,
    accelerator_entries,
    get_accelerator,
    list_accelerators,
)
from tokenworks.hardware.system import (
    System,
    default_system_for,
    get_system,
    list_systems,
    system_entries,
)

__all__ = [
    "PRECISIONS",
    "Accelerator",
    "System",
    "accelerator_entries",
    "default_system_for",
    "get_accelerator",
    "get_system",
    "list_accelerators",
    "list_systems",
    "system_entries",
]
