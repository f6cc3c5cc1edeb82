"""Which top-level standard-library modules differ between Python versions: the one home of these tables.

`sys.stdlib_module_names` describes only the running interpreter; these tables say what earlier or later
versions remove or add. The checker (layout.py) and the template's pre-gen hook (which loads this file by
path) both read them. Stdlib only, no imports from the package, so it can be loaded on its own.
"""

from __future__ import annotations

# Minor version -> top-level names that version removed / added, private ones included: exactly the difference
# of `sys.stdlib_module_names` between 3.<minor-1> and 3.<minor> (3.11-3.13 read from CPython 3.10.13, 3.11.7,
# 3.12.1 and 3.13.0; 3.14 from its "What's New", no 3.14 interpreter here). The template's test
# tests/preflight/test_real_world_kinds.py compares stdlib_names() for every pair of local interpreters with
# the target's own list.
REMOVED: dict[int, frozenset[str]] = {
    11: frozenset({"binhex"}),
    12: frozenset(
        {"distutils", "asynchat", "asyncore", "imp", "smtpd", "_bootsubprocess", "_sha256", "_sha512"}
    ),
    13: frozenset(
        {
            "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis",
            "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
            "lib2to3", "_crypt", "_msi",
        }
    ),
}  # fmt: skip
ADDED: dict[int, frozenset[str]] = {
    11: frozenset({"tomllib", "_tokenize", "_typing"}),
    12: frozenset({"_pydatetime", "_pylong", "_sha2"}),
    13: frozenset(
        {
            "_interpreters", "_interpqueues", "_interpchannels", "_android_support", "_colorize",
            "_ios_support", "_opcode_metadata", "_pyrepl", "_suggestions", "_sysconfig", "_wmi",
        }
    ),
    14: frozenset({"annotationlib", "compression", "_hmac", "_zstd", "_remote_debugging"}),
}  # fmt: skip
# `test` is the stdlib's own test package, which stdlib_module_names leaves out.
ALWAYS = frozenset({"test"})


def differing_names() -> frozenset[str]:
    """Every name that is standard library in some Python version but not in another."""
    return ALWAYS.union(*REMOVED.values(), *ADDED.values())
