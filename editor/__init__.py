"""Editor support for `.map` files: the language server (`siesa map lsp`) and what it shares.

Tooling, never shipped to the Lambda: it may import the compiler, the DSL and
the runtime's list of product types; `runtime/` and `contract/` never import it.
"""
