"""The `.map` mapping language: grammar, parser, typed AST and diagnostics."""
