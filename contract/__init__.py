"""The contract between the mapping compiler and the runtime: one definition, both sides."""
