"""pixfeed's side-by-side benchmark suites (run with ``pixfeed bench`` or ``python -m benchmarks``).

See benchmarks/README.md.
"""
