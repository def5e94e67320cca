"""Which version of the language a file is written in, and what needs version 2.

Version 2 is a superset of version 1: every version 1 file means the same
under version 2. A file that uses a version 2 construct must say `version 2`,
so that a reader (and an older compiler) knows which language it is reading;
`siesa map fmt --upgrade` rewrites the version line of files that need it.
"""

from __future__ import annotations

from compiler.problems import Problems
from dsl import ast
from dsl.formatter import LATEST_VERSION

SUPPORTED_VERSIONS = (1, LATEST_VERSION)


def file_version(statements: tuple[ast.Statement, ...]) -> int:
    """The version a file declares; 1 when it declares none (or none this compiler reads)."""
    for statement in statements:
        if isinstance(statement, ast.VersionStmt):
            value = statement.version.value
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and value in SUPPORTED_VERSIONS
            ):
                return value
            return 1
    return 1


def require_version_2(
    feature: str, version: int, path: str, span: ast.Span, problems: Problems
) -> bool:
    """Report `feature` at `span` when the file is version 1; True when it may be used."""
    if version >= 2:
        return True
    problems.error(
        path,
        span,
        f"{feature} needs version 2 of the mapping language; this file says version 1",
        "write `version 2` as the first line, or run `siesa map fmt --upgrade FILE`",
    )
    return False
