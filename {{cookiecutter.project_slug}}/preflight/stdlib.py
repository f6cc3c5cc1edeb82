"""Which top-level standard-library modules differ between Python versions: the one home of these tables.

`sys.stdlib_module_names` describes only the running interpreter; these tables say what earlier or later
versions remove or add. The checker (layout.py) and the template's pre-gen hook (which loads this file by
path) both read them. Stdlib only, no imports from the package, so it can be loaded on its own.
"""

from __future__ import annotations

# Minor version -> names that version removed / added.
REMOVED: dict[int, frozenset[str]] = {
    12: frozenset({"distutils", "asynchat", "asyncore", "imp", "smtpd"}),
    13: frozenset(
        {
            "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "mailcap", "msilib", "nis",
            "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau", "telnetlib", "uu", "xdrlib",
            "lib2to3",
        }
    ),
}  # fmt: skip
ADDED: dict[int, frozenset[str]] = {
    11: frozenset({"tomllib"}),
    13: frozenset({"_interpreters", "_interpqueues", "_interpchannels"}),
    14: frozenset({"annotationlib", "compression"}),
}
# `test` is the stdlib's own test package, which stdlib_module_names leaves out.
ALWAYS = frozenset({"test"})


def differing_names() -> frozenset[str]:
    """Every name that is standard library in some Python version but not in another."""
    return ALWAYS.union(*REMOVED.values(), *ADDED.values())
