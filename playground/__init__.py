"""The mapping playground: `siesa map serve`, a local page that maps records as a `.map` file is typed.

Tooling for the engineer's own machine, beside the compiler: never in the
Lambda zip, and neither `runtime` nor `contract` imports it.
"""
