"""pixfeed's side-by-side benchmark suites: ``python -m benchmarks`` from the checkout's root.

See benchmarks/README.md.
"""
