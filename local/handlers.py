"""Load the deployable handlers (functions/<name>/app.py) in-process, the same code that ships.

Every function's module is called `app`, so each is loaded under its own name.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
LAYER_DIR = Path(__file__).resolve().parent.parent / "layers" / "courier"

Handler = Callable[[dict[str, Any], Any], Any]


def function_names() -> list[str]:
    return sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/app.py"))


def load_handler(name: str) -> Handler:
    """The `handler` of functions/<name>/app.py, importing the module once per process."""
    module_name = f"courier_function_{name}"
    module = sys.modules.get(module_name)
    if module is None:
        path = FUNCTIONS_DIR / name / "app.py"
        if not path.is_file():
            raise LookupError(f"no function {name!r}; choose one of {', '.join(function_names())}")
        if str(LAYER_DIR) not in sys.path:
            sys.path.insert(0, str(LAYER_DIR))
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        # Registered only once loaded: another thread (the local stack invokes concurrently)
        # must never find a half-executed module without its `handler`. Two threads may both
        # load it the first time; the modules are alike and the last one stays.
        sys.modules[module_name] = module
    handler: Handler = module.handler
    return handler
