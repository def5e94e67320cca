"""`python -m editor`: the language server on stdio, as `siesa map lsp` runs it."""

from editor.server import serve

serve()
