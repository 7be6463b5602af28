"""Every Azure service module of this package, imported so that its resource types register: a new
service is one new module here, nothing else to edit."""

import importlib
import pkgutil

from shared.inventory.collectors import azure

ENGINE_MODULES = frozenset({"declare", "engine", "services"})

for _module in pkgutil.iter_modules(azure.__path__):
    if _module.name not in ENGINE_MODULES:
        importlib.import_module(f"{azure.__name__}.{_module.name}")
