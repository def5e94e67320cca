"""Product adapters: one module per product, registered by product type."""
