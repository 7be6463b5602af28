"""Every GCP service module of this package, imported so that its resource types register: a new
service is one new module here, nothing else to edit."""

import importlib
import pkgutil

from shared.inventory.collectors import gcp

ENGINE_MODULES = frozenset({"declare", "engine", "services", "shaping"})

for _module in pkgutil.iter_modules(gcp.__path__):
    if _module.name not in ENGINE_MODULES:
        importlib.import_module(f"{gcp.__name__}.{_module.name}")
