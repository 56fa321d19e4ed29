"""Is a process still there? (Leftovers of killed writers, runs whose process died.)"""
from __future__ import annotations

import os
import socket
import sys


def host() -> str:
    """This machine's name, recorded beside a pid (a pid means nothing on another host)."""
    try:
        return socket.gethostname()
    except OSError:
        return ""


def pid_alive(pid: int | None) -> bool:
    """True while a process with this id exists (ours always does). Unknown -> True."""
    if not pid or pid < 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)   # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:   # it exists, under another user
        return True
    except OSError:
        return True
    return True


def _pid_alive_windows(pid: int) -> bool:
    # os.kill would terminate the process on Windows; ask the kernel instead
    import ctypes

    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)   # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return kernel32.GetLastError() == 5             # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259                        # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
