"""`siesa map lsp`: the language server of `.map` files, for editors (editor/server.py).

Registered on `siesa map` by cli/mapping.py; the server (and pygls) is
imported only when the command runs, so the rest of the CLI starts as fast.
"""

from __future__ import annotations


def lsp_command() -> None:
    """Serve the language server protocol on stdin/stdout for an editor (VS Code: editors/vscode).

    Diagnostics as you type (as `siesa map check`), hover, completion, go to
    definition and formatting (as `siesa map fmt`). Runs until the editor
    closes it; nothing but protocol messages is written to stdout.
    """
    from editor.server import serve

    serve()
