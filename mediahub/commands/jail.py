"""Runs one command inside the sandbox: ``python -I -S jail.py [options] -- ffmpeg ...``.

Standard library only (it runs with ``-I -S``, before anything else is imported), then it replaces
itself with the command:

1. rlimits: CPU seconds, file size, address space, open files (``--cpu --fsize --as --nofile``);
2. no network: a new, empty network namespace, as ``unshare -n`` makes (``unshare -rn`` when not
   root); only loopback-less isolation, so nothing local or remote is reachable;
3. Landlock (Linux ≥ 5.13): the filesystem shrinks to read-only system folders (``--ro``) and the
   work folder (``--rw``); TCP bind/connect and abstract unix sockets are denied where the kernel's
   Landlock version covers them;
4. ``execv`` of the command, in the work folder.

A step the kernel refuses is skipped and reported by ``--probe`` (``{"network": ..., "landlock": N}``),
which the runner calls once, so the README and each task result can say which fences held.
"""

import ctypes
import ctypes.util
import json
import os
import resource
import sys

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
PR_SET_NO_NEW_PRIVS = 38
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
O_PATH = 0o10000000
O_CLOEXEC = 0o2000000

# Filesystem access rights by the Landlock ABI that introduced them.
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_ABI1_ALL = (1 << 13) - 1  # execute … make_sym
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


class RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    abi = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), LANDLOCK_CREATE_RULESET_VERSION)
    return max(abi, 0)


def fs_rights(abi: int) -> int:
    rights = FS_ABI1_ALL
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def apply_landlock(read_only: list, read_write: list) -> int:
    """Restrict this process (and what it execs) to the given folders; returns the ABI used or 0."""
    abi = landlock_abi()
    if abi < 1:
        return 0
    handled = fs_rights(abi)
    attr = RulesetAttr(handled, (NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    # Older kernels take only the fields they know: pass the size of those.
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return 0
    read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
    for paths, rights in ((read_only, read), (read_write, handled)):
        for path in paths:
            try:
                fd = os.open(path, O_PATH | O_CLOEXEC)
            except OSError:
                continue  # absent on this system
            # Rights that make no sense on a file (reading a directory…) are refused by the kernel.
            if not os.path.isdir(path):
                rights &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE
            rule = PathBeneathAttr(rights & handled, fd)
            libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
            os.close(fd)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return 0
    if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0:
        return 0
    os.close(ruleset)
    return abi


def isolate_network() -> str:
    """A new network namespace with no interface up: ``unshare -n`` (or ``-rn`` when not root)."""
    if libc.unshare(CLONE_NEWNET) == 0:
        return "namespace"
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        # Keep our own uid and gid inside the new user namespace, so the work folder stays ours.
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            try:
                with open(f"/proc/self/{name}", "w") as handle:
                    handle.write(text)
            except OSError:
                pass
        return "user+network namespace"
    return "none"


def set_limits(cpu: int, fsize: int, address_space: int, nofile: int) -> None:
    for limit, value in (
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_AS, address_space),
        (resource.RLIMIT_NOFILE, nofile),
        (resource.RLIMIT_CORE, 0),
    ):
        if value >= 0:
            resource.setrlimit(limit, (value, value))


def main(args: list) -> None:
    options = {"--cpu": -1, "--fsize": -1, "--as": -1, "--nofile": -1}
    read_only, read_write, probe = [], [], False
    while args and args[0] != "--":
        flag = args.pop(0)
        if flag in options:
            options[flag] = int(args.pop(0))
        elif flag == "--ro":
            read_only.append(args.pop(0))
        elif flag == "--rw":
            read_write.append(args.pop(0))
        elif flag == "--probe":
            probe = True
        else:
            sys.exit(f"jail: unknown option {flag}")
    command = args[1:]
    set_limits(options["--cpu"], options["--fsize"], options["--as"], options["--nofile"])
    isolation = isolate_network()
    landlock = apply_landlock(read_only, read_write)
    if probe:
        print(json.dumps({"network": isolation, "landlock": landlock}))
        return
    if read_write:
        os.chdir(read_write[0])
    try:
        os.execv(command[0], command)
    except OSError as exc:
        sys.exit(f"jail: cannot run {command[0]}: {exc}")


if __name__ == "__main__":
    main(sys.argv[1:])
