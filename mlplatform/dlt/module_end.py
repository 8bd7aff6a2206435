"""Call a function once, when the module being executed finishes loading.

A DLT file declares its datasets one decorator at a time; its pipeline's Definitions are built
once, after the last declaration: when the module's code returns (``dagster -f``, an import or
``runpy``), a profile hook watching that frame builds them into the module's globals.
"""

from __future__ import annotations

import dis
import inspect
import sys
import threading
from collections.abc import Callable

_RETURNS = {code for name, code in dis.opmap.items() if name.startswith("RETURN_")}
_STATE = threading.local()  # this thread's loading modules: frame -> callback


def module_frame(module_globals: dict):
    """The running frame of the module whose globals are ``module_globals`` (None when that
    module is not executing its body now: a declaration from a function called later)."""
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_globals is module_globals and frame.f_code.co_name == "<module>":
            return frame
        frame = frame.f_back
    return None


def _profile(frame, event, _arg) -> None:
    if event != "return":
        return
    waiting = _STATE.waiting
    callback = waiting.pop(frame, None)
    if callback is None:
        return
    if not waiting:
        sys.setprofile(None)
    if frame.f_code.co_code[frame.f_lasti] in _RETURNS:  # the body ran to its end
        callback()


def call_when_loaded(module_globals: dict, callback: Callable[[], None]) -> bool:
    """Call ``callback`` when the body of the module owning ``module_globals`` returns normally
    (not when it raises: its own error stays the one reported). An error of ``callback`` is
    raised where the module was loaded. False, and nothing scheduled, when that module is not
    loading or another profiler is running (the caller then builds at once)."""
    frame = module_frame(module_globals)
    if frame is None or sys.getprofile() not in (None, _profile):
        return False
    if not hasattr(_STATE, "waiting"):
        _STATE.waiting = {}
    _STATE.waiting[frame] = callback
    sys.setprofile(_profile)
    return True
